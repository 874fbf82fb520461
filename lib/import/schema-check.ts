/**
 * The profile schema at one key: whether an imported value would validate there, and the order
 * of the keys a mapping takes (the profile is written in the schema's order).
 */
import * as v from 'valibot';
import { profileSchema } from '../profile/schema.js';

type Segment = string | number;

/** Looks through optional, union and pipe wrappers to the object and array schemas inside. */
function unwrap(schema: unknown): unknown[] {
  const s = schema as { wrapped?: unknown; options?: unknown[]; pipe?: { kind: string }[] };
  if (s.wrapped) return unwrap(s.wrapped);
  if (Array.isArray(s.options)) return s.options.flatMap(unwrap);
  if (Array.isArray(s.pipe)) return s.pipe.slice(1).filter((item) => item.kind === 'schema').flatMap(unwrap);
  return [schema];
}

function schemaAt(path: readonly Segment[]): unknown {
  let schema: unknown = profileSchema;
  for (const segment of path) {
    const inside = unwrap(schema)
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
  return schema === undefined ? [] : [...new Set(unwrap(schema).flatMap((s) => Object.keys((s as { entries?: object }).entries ?? {})))];
}
