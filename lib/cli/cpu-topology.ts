/** `cpu-topology [--suggest N]`: the host's CPUs as pinning needs them, and a proposed split. */
import { UsageError } from '../errors.js';
import { readCpuTopology } from '../host/topology.js';
import { renderSuggestionJson, renderSuggestionText, renderTopologyJson, renderTopologyText } from '../inspect/render-topology.js';
import { suggestPinning } from '../inspect/suggest-pinning.js';
import { passthroughNumaNode } from '../plan/auto-pinning.js';
import { loadProfile } from '../profile/load.js';
import { openSysroot, type CliOutput } from './inspect-options.js';

export { default as minimist } from 'minimist';
export { runCli, unknownOption } from './run.js';
export { UsageError } from '../errors.js';

export const CPU_TOPOLOGY_USAGE = `Usage: cpu-topology [--suggest N [--profile <vm>]] [--json] [--sysroot DIR]

Shows packages, dies, NUMA nodes, cores with their SMT siblings, L2 and L3 sharing, P/E core
types, and online, offline and isolated CPUs. Reads the host; changes nothing.

      --suggest N     propose host CPUs for an N-vCPU guest: whole cores, the host keeps its
                      first core, one L3 and one NUMA node when it fits, P-cores first
      --profile <vm>  with --suggest: stay on the NUMA node of the profile's GPU, and check
                      the split against its cpu.threads
      --json          per CPU: {"cpu", "package", "node", "core", "threadSiblings", "l2Shared",
                      "l3Shared", "type"}; with --suggest: {"vcpus", "emulator", "l3", "node", "reasons"}
      --sysroot DIR   read /sys under DIR instead of /
  -h, --help          show this help

Exit status: 0 shown, 2 bad input (or no split fits).
`;

export interface CpuTopologyOptions {
  suggest?: string;
  profile?: string;
  json: boolean;
  sysroot?: string;
}

export function cpuTopology(options: CpuTopologyOptions, cwd: string, env: NodeJS.ProcessEnv): CliOutput {
  const sysroot = openSysroot(options.sysroot);
  if (options.profile !== undefined && options.suggest === undefined) throw new UsageError('--profile goes with --suggest N');
  const topology = readCpuTopology(sysroot);
  if (topology.cpus.length === 0) throw new UsageError(`no CPUs under ${sysroot.path('/sys/devices/system/cpu')}: is --sysroot a host tree?`);
  // The JSON stays an array of CPUs; its notes (the text has them inline) go to stderr.
  if (options.suggest === undefined) return { stdout: options.json ? renderTopologyJson(topology) : renderTopologyText(topology), stderr: options.json ? (topology.notes ?? []).map((note) => `note: ${note}`) : [], exitCode: 0 };
  if (!/^[1-9]\d*$/.test(options.suggest)) throw new UsageError(`--suggest: expected a number of vCPUs like 8, got "${options.suggest}"`);
  const loaded = options.profile === undefined ? undefined : loadProfile(options.profile, { cwd, env });
  const node = loaded ? passthroughNumaNode(loaded.profile, sysroot) : undefined;
  const suggestion = suggestPinning(topology, { vcpus: Number(options.suggest), ...(loaded ? { threads: loaded.profile.cpu.threads } : {}), ...(node === undefined ? {} : { node }) });
  return { stdout: options.json ? renderSuggestionJson(suggestion) : renderSuggestionText(suggestion), stderr: [], exitCode: 0 };
}
