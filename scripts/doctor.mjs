#!/usr/bin/env node
// doctor <profile>: checks what a profile's passthrough needs from this host; see --help.
import { loadLib } from './load-lib.mjs';

const { minimist, runCli, unknownOption, doctor, DOCTOR_USAGE, UsageError } = await loadLib('cli/doctor.bundle.js');

const OPTIONS = { boolean: ['json', 'boot-config', 'help'], string: ['sysroot', 'qemu-version'], alias: { h: 'help' } };

await runCli('doctor', () => {
  const args = minimist(process.argv.slice(2), { ...OPTIONS, unknown: (arg) => unknownOption(arg, OPTIONS) });
  if (args.help) return DOCTOR_USAGE;
  if (args._.length !== 1) throw new UsageError(args._.length === 0 ? 'which profile? (see --help)' : `one profile at a time, got ${args._.join(', ')}`);
  for (const name of OPTIONS.string) {
    if (args[name] === '' || Array.isArray(args[name])) throw new UsageError(`--${name} takes one value`);
  }
  const { stdout, exitCode } = doctor(
    { profile: String(args._[0]), bootConfig: args['boot-config'], json: args.json, sysroot: args.sysroot, qemuVersion: args['qemu-version'] },
    process.cwd(),
    process.env,
  );
  process.exitCode = exitCode;
  return stdout;
});
