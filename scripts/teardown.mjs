#!/usr/bin/env node
// teardown <profile>: puts the host back from a leftover journal; see --help.
import { loadLib } from './load-lib.mjs';

const { minimist, runCli, unknownOption, teardownCli, TEARDOWN_USAGE, UsageError } = await loadLib('cli/teardown.bundle.js');

const OPTIONS = { boolean: ['stop', 'quiet', 'json', 'help'], string: ['sysroot'], alias: { q: 'quiet', h: 'help' } };

await runCli('teardown', async () => {
  const args = minimist(process.argv.slice(2), { ...OPTIONS, unknown: (arg) => unknownOption(arg, OPTIONS) });
  if (args.help) return TEARDOWN_USAGE;
  if (args._.length !== 1) throw new UsageError(args._.length === 0 ? 'which profile? (see --help)' : `one profile at a time, got ${args._.join(', ')}`);
  if (args.sysroot === '' || Array.isArray(args.sysroot)) throw new UsageError('--sysroot takes one value');
  if (args.quiet && args.json) throw new UsageError('--quiet and --json are two log formats; choose one');
  return teardownCli({ profile: String(args._[0]), sysroot: args.sysroot, stop: args.stop, quiet: args.quiet, json: args.json }, process.env);
});
