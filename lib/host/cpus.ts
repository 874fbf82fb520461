import { parseCpuList } from '../cpu-list.js';
import type { Sysroot } from './sysroot.js';

/** The CPUs the kernel reports as present, or undefined when the tree has no CPU information. */
export function readPresentCpus(sysroot: Sysroot): number[] | undefined {
  const text = sysroot.readText('/sys/devices/system/cpu/present');
  return text === undefined ? undefined : parseCpuList(text);
}

/** The CPUs the kernel has online, or undefined when the tree has no CPU information. */
export function readOnlineCpus(sysroot: Sysroot): number[] | undefined {
  const text = sysroot.readText('/sys/devices/system/cpu/online');
  return text === undefined ? undefined : parseCpuList(text);
}

/** The NUMA node each of `cpus` is on (node → its CPUs among them); empty when the host shows no nodes. */
export function readCpuNodes(sysroot: Sysroot, cpus: number[]): Map<number, number[]> {
  const nodes = new Map<number, number[]>();
  for (const entry of sysroot.list('/sys/devices/system/node')) {
    const match = /^node(\d+)$/.exec(entry);
    if (!match) continue;
    const nodeCpus = parseCpuList(sysroot.readText(`/sys/devices/system/node/${entry}/cpulist`) ?? '') ?? [];
    const mine = cpus.filter((cpu) => nodeCpus.includes(cpu));
    if (mine.length > 0) nodes.set(Number(match[1]), mine);
  }
  return nodes;
}
