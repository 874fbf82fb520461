/** Walking valibot schemas by hand: the "did you mean" hints and the import's key checks both look inside the profile schema. */

/** Looks through optional, union and pipe wrappers to the object and array schemas inside. */
export function unwrapSchema(schema: unknown): unknown[] {
  const s = schema as { wrapped?: unknown; options?: unknown[]; pipe?: { kind: string }[] };
  if (s.wrapped) return unwrapSchema(s.wrapped);
  if (Array.isArray(s.options)) return s.options.flatMap(unwrapSchema);
  if (Array.isArray(s.pipe)) return s.pipe.slice(1).filter((item) => item.kind === 'schema').flatMap(unwrapSchema);
  return [schema];
}
