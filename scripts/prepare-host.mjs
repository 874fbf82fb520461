#!/usr/bin/env node
// prepare-host <profile>: applies only the prepare steps (for @reboot or systemd); see --help.
import { loadLib } from './load-lib.mjs';

const { minimist, runCli, unknownOption, prepareHostCli, PREPARE_HOST_USAGE, UsageError } = await loadLib('cli/prepare-host.bundle.js');

const OPTIONS = { boolean: ['quiet', 'json', 'help'], string: ['sysroot', 'qemu-version'], alias: { q: 'quiet', h: 'help' } };

await runCli('prepare-host', async () => {
  const args = minimist(process.argv.slice(2), { ...OPTIONS, unknown: (arg) => unknownOption(arg, OPTIONS) });
  if (args.help) return PREPARE_HOST_USAGE;
  if (args._.length !== 1) throw new UsageError(args._.length === 0 ? 'which profile? (see --help)' : `one profile at a time, got ${args._.join(', ')}`);
  for (const name of OPTIONS.string) {
    if (args[name] === '' || Array.isArray(args[name])) throw new UsageError(`--${name} takes one value`);
  }
  if (args.quiet && args.json) throw new UsageError('--quiet and --json are two log formats; choose one');
  const options = { profile: String(args._[0]), sysroot: args.sysroot, qemuVersion: args['qemu-version'], quiet: args.quiet, json: args.json };
  return prepareHostCli(options, process.cwd(), process.env, (line) => process.stderr.write(`${line}\n`));
});
