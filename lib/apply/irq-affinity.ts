/**
 * The running phase's IRQ step: once QEMU has opened the devices, their vfio IRQs go to the
 * guest's CPUs and every other IRQ that may run there moves to the host's. The kernel refuses some
 * (managed IRQs answer EIO): each refusal is reported, none is fatal. New vfio IRQs (MSI vectors
 * appear when the guest's driver loads) are followed until the VM stops.
 */
import { formatCpuList, parseCpuList } from '../cpu-list.js';
import { readInterrupts, vfioDeviceOf } from '../host/interrupts.js';
import type { Step } from '../plan/step.js';
import type { ApplyContext } from './actions.js';
import { describeError } from './host-io.js';
import { pause, pollUntil, WaitTimeout } from './poll.js';

type IrqAction = Extract<Step['actions'][number]['do'], { kind: 'irq-affinity' }>;

const FOLLOW_INTERVAL_MS = 2000;

/** Sets the affinity of IRQs not handled yet; journals their old values first; returns what the kernel refused. */
function setAffinities(step: Step, irqAction: IrqAction, context: ApplyContext, handled: Set<number>): { changed: number; refused: string[] } {
  const { sysroot, io, journal } = context;
  const devices = new Set(irqAction.devices);
  const guest = new Set(irqAction.guestCpus);
  const plan: [number, string, string][] = [];
  const refused: string[] = [];
  for (const interrupt of readInterrupts(sysroot)) {
    if (handled.has(interrupt.irq)) continue;
    const file = sysroot.path(`/proc/irq/${interrupt.irq}/smp_affinity_list`);
    const device = vfioDeviceOf(interrupt);
    if (!io.exists(file)) continue;
    handled.add(interrupt.irq);
    let old: string;
    try {
      old = io.read(file).trim();
    } catch (error) {
      refused.push(`IRQ ${interrupt.irq} (${describeError(error)})`);
      continue;
    }
    const current = parseCpuList(old) ?? [];
    let target: number[];
    if (device !== undefined && devices.has(device)) target = irqAction.guestCpus;
    else if (current.some((cpu) => guest.has(cpu))) {
      const left = current.filter((cpu) => !guest.has(cpu));
      target = left.length > 0 ? left : irqAction.hostCpus;
    } else continue;
    if (formatCpuList(target) !== formatCpuList(current)) plan.push([interrupt.irq, old, formatCpuList(target)]);
  }
  if (plan.length > 0) journal.record({ n: step.n, step: step.id, phase: step.phase, undo: step.actions[0]!.undo, irqs: Object.fromEntries(plan.map(([irq, old]) => [String(irq), old])) });
  let changed = 0;
  for (const [irq, , target] of plan) {
    try {
      io.write(sysroot.path(`/proc/irq/${irq}/smp_affinity_list`), `${target}\n`);
      changed++;
    } catch (error) {
      refused.push(`IRQ ${irq} (${describeError(error)})`);
    }
  }
  return { changed, refused };
}

const vfioIrqsOf = (context: ApplyContext, devices: string[]) =>
  readInterrupts(context.sysroot).filter((interrupt) => devices.includes(vfioDeviceOf(interrupt) ?? ''));

/** Applies the step, then keeps following new IRQs until `stop` aborts. Resolves when it stops following. */
export async function applyIrqAffinity(step: Step, context: ApplyContext, stop: AbortSignal, started: (detail: string) => void): Promise<void> {
  const irqAction = step.actions[0]!.do as IrqAction;
  const handled = new Set<number>();
  const details: string[] = [];
  if (irqAction.devices.length > 0) {
    const what = `the vfio IRQs of ${irqAction.devices.join(', ')} in ${context.sysroot.path('/proc/interrupts')}`;
    try {
      await context.log.wait(what, pollUntil(() => (vfioIrqsOf(context, irqAction.devices).length > 0 ? true : undefined), { what, timeoutMs: irqAction.timeoutMs, signal: stop }));
    } catch (error) {
      if (!(error instanceof WaitTimeout)) throw error;
      if (stop.aborted) return;
      details.push(`${error.message}; the devices' IRQs are followed as they appear`);
    }
  }
  const first = setAffinities(step, irqAction, context, handled);
  details.push(`${first.changed} IRQs moved`);
  if (first.refused.length > 0) details.push(`the kernel refused ${first.refused.join(', ')}`);
  started(details.join('; '));
  while (!stop.aborted) {
    await pause(FOLLOW_INTERVAL_MS, stop);
    if (stop.aborted) break;
    const later = setAffinities(step, irqAction, context, handled);
    if (later.changed > 0) context.log.info(`step ${step.n}: ${later.changed} new IRQs moved`);
    for (const refusal of later.refused) context.log.warn(`step ${step.n}: the kernel refused ${refusal}`);
  }
}
