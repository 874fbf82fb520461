/** A kernel-style CPU list: `0-3,8,10-11`. */
export const CPU_LIST_PATTERN = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

/** Expands `0-3,8` into [0, 1, 2, 3, 8], keeping the written order; undefined when malformed. */
export function parseCpuList(text: string): number[] | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (!CPU_LIST_PATTERN.test(trimmed)) return undefined;
  const cpus: number[] = [];
  for (const part of trimmed.split(',')) {
    const [first, last = first] = part.split('-').map(Number) as [number, number?];
    if (last < first) return undefined;
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** Formats CPUs as a sorted, compact kernel-style list: [3, 0, 1, 2, 8] → `0-3,8`. */
export function formatCpuList(cpus: Iterable<number>): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** A CPU mask in hex as sysfs cpumask files take it, 32-bit groups comma-separated: [0, 1] → `3`. */
export function formatCpuMask(cpus: Iterable<number>): string {
  const groups: number[] = [];
  for (const cpu of cpus) groups[cpu >> 5] = ((groups[cpu >> 5] ?? 0) | (1 << (cpu & 31))) >>> 0;
  const hex = Array.from(groups, (group) => (group ?? 0).toString(16)).reverse();
  return hex.map((group, i) => (i === 0 ? group : group.padStart(8, '0'))).join(',') || '0';
}

/**
 * Reads a cpumask (`thread_siblings`, `shared_cpu_map`, `nodeN/cpumap`; a writeback `cpumask`;
 * `taskset`'s): 32-bit hex groups, most significant first, comma-separated (`00000000,0000f00f`),
 * or one hex number of any length, `0x` or not (`0xf0`) → the CPUs set in it, sorted; undefined
 * when malformed.
 */
export function parseCpuMask(text: string): number[] | undefined {
  const trimmed = text.trim();
  const ungrouped = /^(0x)?([0-9a-fA-F]+)$/i.exec(trimmed)?.[2];
  // One number: cut into 32-bit groups from the right, as sysfs would print it.
  const groups = ungrouped !== undefined ? (ungrouped.match(/[0-9a-fA-F]{1,8}(?=(?:[0-9a-fA-F]{8})*$)/g) ?? []) : trimmed.split(',');
  if (!groups.every((group) => /^[0-9a-fA-F]{1,8}$/.test(group))) return undefined;
  const cpus: number[] = [];
  groups.reverse().forEach((group, index) => {
    const bits = parseInt(group, 16);
    for (let bit = 0; bit < 32; bit++) if ((bits >>> bit) & 1) cpus.push(index * 32 + bit);
  });
  return cpus;
}
