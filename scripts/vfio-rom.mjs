#!/usr/bin/env node
// vfio-rom dump|info|strip: a GPU's option ROM read through sysfs, inspected, cut free of a vendor header; see --help.
import { loadLib } from './load-lib.mjs';

const { minimist, runCli, unknownOption, romDump, romInfo, romStrip, VFIO_ROM_USAGE, UsageError } = await loadLib('cli/vfio-rom.bundle.js');

const OPTIONS = { boolean: ['json', 'force', 'help'], string: ['sysroot'], alias: { h: 'help' } };
/** Each verb's arguments. */
const VERBS = { dump: ['pci-address', 'file'], info: ['file'], strip: ['in', 'out'] };

await runCli('vfio-rom', () => {
  const args = minimist(process.argv.slice(2), { ...OPTIONS, unknown: (arg) => unknownOption(arg, OPTIONS) });
  if (args.help) return VFIO_ROM_USAGE;
  const [verb, ...rest] = args._.map(String);
  if (verb === undefined) throw new UsageError('vfio-rom needs a verb: dump, info or strip (see --help)');
  const names = VERBS[verb];
  if (!names) throw new UsageError(`unknown verb "${verb}": expected dump, info or strip (see --help)`);
  if (rest.length !== names.length) throw new UsageError(`${verb} takes ${names.map((name) => `<${name}>`).join(' ')}, got ${rest.length === 0 ? 'nothing' : rest.join(' ')}`);
  if (rest.some((arg) => arg === '')) throw new UsageError(`${verb}: an empty argument`);
  if (args.sysroot !== undefined && (args.sysroot === '' || Array.isArray(args.sysroot))) throw new UsageError('--sysroot takes one value');
  if (args.sysroot !== undefined && verb !== 'dump') throw new UsageError(`--sysroot goes with dump; ${verb} reads the file it is given`);
  if (args.force && verb === 'info') throw new UsageError('--force goes with dump and strip; info writes nothing');
  const output =
    verb === 'dump' ? romDump(rest[0], rest[1], { force: args.force, json: args.json, sysroot: args.sysroot })
    : verb === 'info' ? romInfo(rest[0], { json: args.json })
    : romStrip(rest[0], rest[1], { force: args.force, json: args.json });
  process.exitCode = output.exitCode;
  return output.stdout;
});
