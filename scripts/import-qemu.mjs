#!/usr/bin/env node
// import-qemu <script | ->: an existing QEMU script or pasted command line → a commented profile; see --help.
import { readFileSync } from 'node:fs';
import { loadLib } from './load-lib.mjs';

const { minimist, runCli, unknownOption, importQemu, IMPORT_QEMU_USAGE, UsageError } = await loadLib('cli/import-qemu.bundle.js');

const OPTIONS = { boolean: ['force', 'help'], string: ['name', 'out'], alias: { h: 'help' } };

await runCli('import-qemu', () => {
  const args = minimist(process.argv.slice(2), { ...OPTIONS, unknown: (arg) => arg === '-' || unknownOption(arg, OPTIONS) });
  if (args.help) return IMPORT_QEMU_USAGE;
  if (args._.length !== 1) throw new UsageError(`import-qemu takes one script (or - for standard input), got ${args._.length === 0 ? 'none' : args._.join(', ')}`);
  for (const name of OPTIONS.string) {
    if (args[name] === '' || Array.isArray(args[name])) throw new UsageError(`--${name} takes one value`);
  }
  const { stdout, stderr } = importQemu({ script: String(args._[0]), name: args.name, out: args.out, force: args.force }, process.cwd(), () => readFileSync(0, 'utf8'));
  for (const line of stderr) process.stderr.write(`${line}\n`);
  return stdout;
});
