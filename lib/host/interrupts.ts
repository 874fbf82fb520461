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
