/**
 * The profile schema at one key: whether an imported value would validate there, and the order
 * of the keys a mapping takes (the profile is written in the schema's order).
 */
import * as v from 'valibot';
import { profileSchema } from '../profile/schema.js';
import { unwrapSchema } from '../profile/schema-walk.js';

type Segment = string | number;

function schemaAt(path: readonly Segment[]): unknown {
  let schema: unknown = profileSchema;
  for (const segment of path) {
    const inside = unwrapSchema(schema)
      .map((s) => s as { entries?: Record<string, unknown>; item?: unknown; value?: unknown; type?: string })
      .map((s) => (typeof segment === 'number' ? s.item : (s.entries?.[segment] ?? (s.type === 'record' ? s.value : undefined))))
      .find((found) => found !== undefined);
    if (inside === undefined) return undefined;
    schema = inside;
  }
  return schema;
}

/** Why `value` would not validate at `path` (the schema's own message), or undefined when it would. */
export function invalidAt(path: readonly Segment[], value: unknown): string | undefined {
  const schema = schemaAt(path);
  if (schema === undefined) return 'no such key';
  const result = v.safeParse(schema as v.GenericSchema, value);
  return result.success ? undefined : result.issues[0]!.message;
}

/** The keys of the mapping at `path`, in the schema's order ([] when it is no mapping). */
export function keyOrder(path: readonly Segment[]): string[] {
  const schema = schemaAt(path);
  return schema === undefined ? [] : [...new Set(unwrapSchema(schema).flatMap((s) => Object.keys((s as { entries?: object }).entries ?? {})))];
}
