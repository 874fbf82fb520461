#!/usr/bin/env node
// boot-vm <profile> [--dry-run]: plans a VM from its profile and prints or runs the plan; see --help.
import { loadLib } from './load-lib.mjs';

const { minimist, runCli, unknownOption, bootVm, BOOT_VM_USAGE, UsageError } = await loadLib('cli/boot-vm.bundle.js');

const OPTIONS = { boolean: ['dry-run', 'json', 'explain', 'quiet', 'reset-nvram', 'help'], string: ['sysroot', 'qemu-version', 'qemu-binary', 'stop-timeout'], alias: { n: 'dry-run', q: 'quiet', h: 'help' } };

await runCli('boot-vm', async () => {
  const args = minimist(process.argv.slice(2), { ...OPTIONS, unknown: (arg) => unknownOption(arg, OPTIONS) });
  if (args.help) return BOOT_VM_USAGE;
  if (args._.length !== 1) throw new UsageError(args._.length === 0 ? 'which profile? (see --help)' : `one profile at a time, got ${args._.join(', ')}`);
  for (const name of ['sysroot', 'qemu-version', 'qemu-binary', 'stop-timeout']) {
    if (args[name] === '' || Array.isArray(args[name])) throw new UsageError(`--${name} takes one value`);
  }
  const { stdout, warnings, status } = await bootVm(
    {
      profile: String(args._[0]),
      dryRun: args['dry-run'],
      json: args.json,
      explain: args.explain,
      quiet: args.quiet,
      sysroot: args.sysroot,
      qemuVersion: args['qemu-version'],
      qemuBinary: args['qemu-binary'],
      stopTimeout: args['stop-timeout'],
      resetNvram: args['reset-nvram'],
    },
    process.cwd(),
    process.env,
  );
  for (const warning of warnings) process.stderr.write(`${warning}\n`);
  if (status !== undefined) process.exitCode = status;
  return stdout;
});
