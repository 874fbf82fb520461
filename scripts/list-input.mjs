#!/usr/bin/env node
// list-input: the keyboards and mice in /dev/input/by-id, and the profile lines for them; see --help.
import { loadLib } from './load-lib.mjs';

const { minimist, runCli, unknownOption, listInput, LIST_INPUT_USAGE, UsageError } = await loadLib('cli/list-input.bundle.js');

const OPTIONS = { boolean: ['json', 'help'], string: ['sysroot'], alias: { h: 'help' } };

await runCli('list-input', () => {
  const args = minimist(process.argv.slice(2), { ...OPTIONS, unknown: (arg) => unknownOption(arg, OPTIONS) });
  if (args.help) return LIST_INPUT_USAGE;
  if (args._.length > 0) throw new UsageError(`list-input takes no arguments, got ${args._.join(', ')}`);
  if (args.sysroot === '' || Array.isArray(args.sysroot)) throw new UsageError('--sysroot takes one value');
  return listInput({ json: args.json, sysroot: args.sysroot }).stdout;
});
