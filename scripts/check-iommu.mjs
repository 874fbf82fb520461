#!/usr/bin/env node
// check-iommu [--profile <vm>]: every IOMMU group and whether it can be passed through; see --help.
import { loadLib } from './load-lib.mjs';

const { minimist, runCli, unknownOption, checkIommu, CHECK_IOMMU_USAGE, UsageError } = await loadLib('cli/check-iommu.bundle.js');

const OPTIONS = { boolean: ['json', 'help'], string: ['sysroot', 'profile'], alias: { h: 'help' } };

await runCli('check-iommu', () => {
  const args = minimist(process.argv.slice(2), { ...OPTIONS, unknown: (arg) => unknownOption(arg, OPTIONS) });
  if (args.help) return CHECK_IOMMU_USAGE;
  if (args._.length > 0) throw new UsageError(`check-iommu takes no arguments, got ${args._.join(', ')} (a profile goes with --profile)`);
  for (const name of OPTIONS.string) {
    if (args[name] === '' || Array.isArray(args[name])) throw new UsageError(`--${name} takes one value`);
  }
  const { stdout, stderr } = checkIommu({ profile: args.profile, json: args.json, sysroot: args.sysroot }, process.cwd(), process.env);
  for (const line of stderr) process.stderr.write(`${line}\n`);
  return stdout;
});
