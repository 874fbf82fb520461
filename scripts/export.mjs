#!/usr/bin/env node
// export <vm> --format F [--out FILE]: the profile's plan as a systemd unit or a shell script; see --help.
import { fileURLToPath } from 'node:url';
import { loadLib } from './load-lib.mjs';

const { minimist, runCli, unknownOption, exportPlan, EXPORT_USAGE, UsageError } = await loadLib('cli/export.bundle.js');

const OPTIONS = { boolean: ['help'], string: ['format', 'out', 'sysroot', 'qemu-version', 'qemu-binary'], alias: { h: 'help' } };

await runCli('export', () => {
  const args = minimist(process.argv.slice(2), { ...OPTIONS, unknown: (arg) => unknownOption(arg, OPTIONS) });
  if (args.help) return EXPORT_USAGE;
  if (args._.length !== 1) throw new UsageError(args._.length === 0 ? 'which profile? (see --help)' : `one profile at a time, got ${args._.join(', ')}`);
  for (const name of OPTIONS.string) {
    if (args[name] === '' || Array.isArray(args[name])) throw new UsageError(`--${name} takes one value`);
  }
  const bootVm = fileURLToPath(new URL('../boot-vm.mjs', import.meta.url));
  const { stdout, stderr } = exportPlan(
    { profile: String(args._[0]), format: args.format, out: args.out, sysroot: args.sysroot, qemuVersion: args['qemu-version'], qemuBinary: args['qemu-binary'] },
    process.cwd(),
    process.env,
    bootVm,
  );
  for (const line of stderr) process.stderr.write(`${line}\n`);
  return stdout;
});
