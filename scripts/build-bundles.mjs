#!/usr/bin/env node
// Links each CLI's compiled modules (dist/cli/<name>.js and everything it imports, valibot
// included) into one file, dist/cli/<name>.bundle.js, which the scripts load. Node 20's ESM
// loader spends about a millisecond per module resolving and linking, which was most of a
// dry-run's time; one file removes that. `yaml`, `execa` and `zx` stay outside: they are loaded
// lazily, yaml when a profile file is not in the parse cache, execa and zx only when something
// runs on the host. Runs at build time, after tsc.
import { build } from 'esbuild';

/** One per script in scripts/: the lib/cli/ module it loads. */
const ENTRIES = ['boot-vm', 'prepare-host', 'teardown', 'check-iommu', 'cpu-topology', 'doctor', 'vm', 'list-input', 'vfio-rom', 'capture-host', 'export', 'import-qemu'];

const dist = new URL('../dist/cli/', import.meta.url).pathname;

await Promise.all(
  ENTRIES.map((name) =>
    build({
      entryPoints: [`${dist}${name}.js`],
      outfile: `${dist}${name}.bundle.js`,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: true,
      external: ['yaml', 'execa', 'zx'],
      logLevel: 'warning',
    }),
  ),
);
