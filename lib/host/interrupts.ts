import type { Sysroot } from './sysroot.js';

export interface Interrupt {
  /** The IRQ number; lines such as NMI or LOC are not numbered and not listed. */
  irq: number;
  /** What the kernel shows after the per-CPU counts: chip, type and the holder's name. */
  description: string;
}

/** The numbered interrupts in /proc/interrupts. */
export function readInterrupts(sysroot: Sysroot): Interrupt[] {
  const interrupts: Interrupt[] = [];
  for (const line of (sysroot.readText('/proc/interrupts') ?? '').split('\n')) {
    const match = /^\s*(\d+):((?:\s+\d+)*)\s+(.*)$/.exec(line);
    if (match) interrupts.push({ irq: Number(match[1]), description: match[3]!.trim() });
  }
  return interrupts;
}

/** vfio-pci names a device's IRQs `vfio-msi[0](0000:01:00.0)`, `vfio-msix[3](…)` or `vfio-intx(…)`. */
export function vfioDeviceOf(interrupt: Interrupt): string | undefined {
  return /\bvfio-(?:msix?\[\d+\]|intx)\(([0-9a-f:.]+)\)/.exec(interrupt.description)?.[1];
}

/** Every line of /proc/interrupts that counts per CPU: the numbered IRQs and the architecture's (LOC, RES, CAL…). */
export interface InterruptCounts {
  /** The CPU of each column: only online CPUs have one, so not always 0…n-1. */
  cpus: number[];
  /** Each line's name (`LOC`, `137`) and its counts, one per column. The kernel keeps them in 32 bits: they wrap. */
  lines: Map<string, number[]>;
}

export function parseInterruptCounts(text: string): InterruptCounts | undefined {
  const [header, ...rows] = text.split('\n');
  const cpus = [...(header ?? '').matchAll(/CPU(\d+)/g)].map((match) => Number(match[1]));
  if (cpus.length === 0) return undefined;
  const lines = new Map<string, number[]>();
  for (const row of rows) {
    const colon = row.indexOf(':');
    if (colon < 0) continue;
    const counts = row.slice(colon + 1).trim().split(/\s+/, cpus.length);
    // ERR and MIS have one system-wide count: not a per-CPU line.
    if (counts.length === cpus.length && counts.every((count) => /^\d+$/.test(count))) lines.set(row.slice(0, colon).trim(), counts.map(Number));
  }
  return { cpus, lines };
}

export const readInterruptCounts = (sysroot: Sysroot) => parseInterruptCounts(sysroot.readText('/proc/interrupts') ?? '');
