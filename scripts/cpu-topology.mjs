#!/usr/bin/env node
// cpu-topology [--suggest N]: the host's CPU topology and a proposed pinning; see --help.
import { loadLib } from './load-lib.mjs';

const { minimist, runCli, unknownOption, cpuTopology, CPU_TOPOLOGY_USAGE, UsageError } = await loadLib('cli/cpu-topology.bundle.js');

const OPTIONS = { boolean: ['json', 'help'], string: ['sysroot', 'suggest', 'profile'], alias: { h: 'help' } };

await runCli('cpu-topology', () => {
  const args = minimist(process.argv.slice(2), { ...OPTIONS, unknown: (arg) => unknownOption(arg, OPTIONS) });
  if (args.help) return CPU_TOPOLOGY_USAGE;
  if (args._.length > 0) throw new UsageError(`cpu-topology takes no arguments, got ${args._.join(', ')}`);
  for (const name of OPTIONS.string) {
    if (args[name] === '' || Array.isArray(args[name])) throw new UsageError(`--${name} takes one value`);
  }
  const { stdout, stderr } = cpuTopology({ suggest: args.suggest, profile: args.profile, json: args.json, sysroot: args.sysroot }, process.cwd(), process.env);
  for (const line of stderr) process.stderr.write(`${line}\n`);
  return stdout;
});
