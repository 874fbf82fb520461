#!/usr/bin/env node
// Writes profile.schema.json (for editors: `# yaml-language-server: $schema=…`) from the one
// profile schema in lib/profile/schema.ts. Runs at build time, after tsc.
import { writeFileSync } from 'node:fs';
import { toJsonSchema } from '@valibot/to-json-schema';
import { profileSchema } from '../dist/profile/schema.js';

// Transforms and custom checks (size parsing, control characters) have no JSON Schema form;
// the runtime validation still applies them.
const schema = toJsonSchema(profileSchema, { errorMode: 'ignore' });
// A profile that extends another may leave required keys of its mappings to its base; list
// items are never merged, so they keep theirs.
function dropMappingRequired(node) {
  delete node.required;
  for (const child of Object.values(node.properties ?? {})) dropMappingRequired(child);
}
dropMappingRequired(schema);
// `pinning: auto` is accepted before the mapping is validated (a custom check JSON Schema cannot express).
schema.properties.pinning = { anyOf: [{ const: 'auto' }, schema.properties.pinning] };
const document = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://boot-vm.invalid/profile.schema.json',
  title: 'boot-vm profile',
  description: 'One VM: how boot-vm builds its QEMU command line and prepares the host. See profiles/README.md.',
  ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema')),
};
writeFileSync(new URL('../profile.schema.json', import.meta.url), JSON.stringify(document, null, 2) + '\n');
