#!/usr/bin/env node
// capture-host [--sysroot DIR] [--out DIR | --out FILE.tar.gz]: what boot-vm reads of this host, as a tree --sysroot takes; see --help.
import { loadLib } from './load-lib.mjs';

const { minimist, runCli, unknownOption, captureHost, CAPTURE_HOST_USAGE, UsageError } = await loadLib('cli/capture-host.bundle.js');

const OPTIONS = { boolean: ['help'], string: ['sysroot', 'out'], alias: { h: 'help' } };

await runCli('capture-host', () => {
  const args = minimist(process.argv.slice(2), { ...OPTIONS, unknown: (arg) => unknownOption(arg, OPTIONS) });
  if (args.help) return CAPTURE_HOST_USAGE;
  if (args._.length > 0) throw new UsageError(`capture-host takes no arguments, got ${args._.join(', ')}`);
  for (const name of OPTIONS.string) {
    if (args[name] === '' || Array.isArray(args[name])) throw new UsageError(`--${name} takes one value`);
  }
  return captureHost({ sysroot: args.sysroot, out: args.out }, process.cwd(), process.env, process.stderr);
});
