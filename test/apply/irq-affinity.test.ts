// applyIrqAffinity on a temporary /proc: waits for the devices' vfio lines in /proc/interrupts,
// sends their IRQs to the guest's CPUs and other IRQs on guest CPUs to the rest of their CPUs (or
// the host's), leaves IRQs already off the guest CPUs, journals old values before writing, reports
// refusals without failing, and follows IRQs that appear later until the stop signal. The 2 s
// follow interval is stubbed to a few milliseconds.
import { getEventListeners } from 'node:events';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { ApplyContext } from '../../lib/apply/actions.js';
import { undoEntries } from '../../lib/apply/apply-steps.js';
import { nodeHostIo, type HostIo } from '../../lib/apply/host-io.js';
import { applyIrqAffinity } from '../../lib/apply/irq-affinity.js';
import { Journal, type JournalState } from '../../lib/apply/journal.js';
import { createLogger } from '../../lib/apply/log.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import type { Step } from '../../lib/plan/step.js';
import { tree } from '../fixtures/trees.js';

const GPU = '0000:01:00.0';
const HEADER = '            CPU0       CPU1       CPU2       CPU3\n';
const line = (irq: number, name: string) => `${String(irq).padStart(4)}:          0          0          0          0  PCI-MSI 524288-edge      ${name}\n`;

const stepOf = (devices: string[], timeoutMs = 5000): Step => ({
  n: 9,
  id: 'irq-affinity',
  phase: 'running',
  title: 'send the IRQs',
  from: ['pinning.vcpus'],
  notes: [],
  actions: [{ do: { kind: 'irq-affinity', devices, guestCpus: [3, 2], hostCpus: [0, 1], timeoutMs }, undo: [{ kind: 'restore-irq-affinity' }] }],
});

/** The usual host: the GPU's vfio IRQs, IRQs on guest CPUs, one off them, one without a file. */
const HOST: Record<string, string> = {
  'proc/interrupts':
    HEADER +
    line(24, `vfio-msi[0](${GPU})`) +
    line(25, `vfio-msix[1](${GPU})`) +
    line(30, 'nvme0q1') +
    line(31, 'xhci_hcd') +
    line(32, 'ahci[0000:00:17.0]') +
    line(40, 'vfio-intx(0000:02:00.0)') +
    line(50, 'no-file') +
    'NMI:          0          0          0          0   Non-maskable interrupts\n',
  'proc/irq/24/smp_affinity_list': '0-3\n',
  'proc/irq/25/smp_affinity_list': '2-3\n',
  'proc/irq/30/smp_affinity_list': '0-3\n',
  'proc/irq/31/smp_affinity_list': '2\n',
  'proc/irq/32/smp_affinity_list': '0\n',
  'proc/irq/40/smp_affinity_list': '3\n',
};

/** A Sysroot that calls `onRead` each time /proc/interrupts is read. */
class WatchedSysroot extends Sysroot {
  onRead: (reads: number) => void = () => {};
  reads = 0;
  override readText(hostPath: string): string | undefined {
    if (hostPath === '/proc/interrupts') this.onRead(++this.reads);
    return super.readText(hostPath);
  }
}

function harness(t: Test, files: Record<string, string> = HOST, io: HostIo = nodeHostIo) {
  const root = tree(t, files);
  const sysroot = new WatchedSysroot(root);
  const state: JournalState = { version: 1, vm: 'vm', file: '/p/vm.yaml', sysroot: root, phases: ['prepare', 'launch'], prepared: [], createdDirs: [], entries: [] };
  const journal = new Journal(join(root, 'run/boot-vm/vm.journal'), state, nodeHostIo);
  const lines: string[] = [];
  const context: ApplyContext = { sysroot, io, journal, log: createLogger({ mode: 'text', total: 9, write: (l) => lines.push(l), isTty: false }), runCommand: async () => {} };
  return {
    root,
    sysroot,
    journal,
    lines,
    context,
    affinity: (irq: number) => readFileSync(join(root, `proc/irq/${irq}/smp_affinity_list`), 'utf8'),
    onDisk: () => JSON.parse(readFileSync(journal.file, 'utf8')) as JournalState,
  };
}

/** Applies once: stops following as soon as the first pass is done. */
async function applyOnce(step: Step, context: ApplyContext): Promise<string[]> {
  const stop = new AbortController();
  const details: string[] = [];
  await applyIrqAffinity(step, context, stop.signal, (detail) => {
    details.push(detail);
    stop.abort();
  });
  return details;
}

/** Makes the follow loop's 2 s timer fire after 2 ms. */
function fastFollow(t: Test) {
  const real = globalThis.setTimeout;
  globalThis.setTimeout = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => real(fn, ms === 2000 ? 2 : ms, ...args)) as typeof setTimeout;
  t.teardown(() => {
    globalThis.setTimeout = real;
  });
}

/** Waits (a few ms at a time, up to 5 s) until `done` is true. */
async function until(done: () => boolean) {
  const started = Date.now();
  while (!done()) {
    if (Date.now() - started > 5000) throw new Error('condition not reached in 5s');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

t.test('vfio IRQs go to the guest CPUs, other IRQs on guest CPUs leave them', async (t) => {
  const h = harness(t);
  t.strictSame(await applyOnce(stepOf([GPU]), h.context), ['4 IRQs moved']);
  t.equal(h.affinity(24), '2-3\n', 'the GPU: to the guest');
  t.equal(h.affinity(25), '2-3\n', 'already there');
  t.equal(h.affinity(30), '0-1\n', 'the rest of its CPUs');
  t.equal(h.affinity(31), '0-1\n', 'only guest CPUs: to the host CPUs');
  t.equal(h.affinity(32), '0\n', 'off the guest CPUs: untouched');
  t.equal(h.affinity(40), '0-1\n', 'another device\'s vfio IRQ is a host IRQ here');
  t.equal(nodeHostIo.exists(join(h.root, 'proc/irq/50')), false);
  t.strictSame(h.onDisk().entries, [{ n: 9, step: 'irq-affinity', phase: 'running', undo: [{ kind: 'restore-irq-affinity' }], irqs: { '24': '0-3', '30': '0-3', '31': '2', '40': '3' } }]);
});

t.test('the old values are journaled before the first write, and undo puts them back', async (t) => {
  let h!: ReturnType<typeof harness>;
  const atFirstWrite: number[] = [];
  const io: HostIo = {
    ...nodeHostIo,
    write(path, text) {
      if (atFirstWrite.length === 0) atFirstWrite.push(h.onDisk().entries.length);
      nodeHostIo.write(path, text);
    },
  };
  h = harness(t, HOST, io);
  await applyOnce(stepOf([GPU]), h.context);
  t.strictSame(atFirstWrite, [1]);
  t.strictSame(await undoEntries(h.context), { failures: [] });
  for (const irq of [24, 25, 30, 31, 32, 40]) t.equal(h.affinity(irq), HOST[`proc/irq/${irq}/smp_affinity_list`], `IRQ ${irq}`);
});

t.test('nothing to change: no journal entry', async (t) => {
  const h = harness(t, { 'proc/interrupts': HEADER + line(24, `vfio-msi[0](${GPU})`) + line(32, 'ahci'), 'proc/irq/24/smp_affinity_list': '2-3\n', 'proc/irq/32/smp_affinity_list': '0-1\n' });
  t.strictSame(await applyOnce(stepOf([GPU]), h.context), ['0 IRQs moved']);
  t.strictSame(h.journal.state.entries, []);
});

t.test('waits for the devices\' vfio lines in /proc/interrupts', async (t) => {
  const files = { ...HOST, 'proc/interrupts': HEADER + line(30, 'nvme0q1') };
  const h = harness(t, files);
  h.sysroot.onRead = (reads) => {
    if (reads === 3) writeFileSync(join(h.root, 'proc/interrupts'), HOST['proc/interrupts']!);
  };
  t.strictSame(await applyOnce(stepOf([GPU]), h.context), ['4 IRQs moved']);
  t.ok(h.sysroot.reads >= 4, 'read until the lines appeared');
  t.equal(h.affinity(24), '2-3\n');
  t.strictSame(h.lines, []);
});

t.test('a device whose IRQs do not appear in time: the others move, its IRQs are followed', async (t) => {
  const files = { ...HOST, 'proc/interrupts': HEADER + line(30, 'nvme0q1') + line(31, 'xhci_hcd') };
  const h = harness(t, files);
  const details = await applyOnce(stepOf([GPU], 50), h.context);
  t.equal(details.length, 1);
  t.match(details[0], new RegExp(`^waited 0\\.\\ds for the vfio IRQs of ${GPU} in ${h.root}/proc/interrupts; the devices' IRQs are followed as they appear; 2 IRQs moved$`));
  t.equal(h.affinity(30), '0-1\n');
});

t.test('no devices: no wait', async (t) => {
  const h = harness(t);
  t.strictSame(await applyOnce(stepOf([]), h.context), ['5 IRQs moved']);
  t.equal(h.affinity(24), '0-1\n', 'not a passed device: treated as a host IRQ');
  t.equal(h.affinity(25), '0-1\n');
});

t.test('stopped while waiting: nothing changed, started never called', async (t) => {
  const h = harness(t, { ...HOST, 'proc/interrupts': HEADER + line(30, 'nvme0q1') });
  const stop = new AbortController();
  h.sysroot.onRead = (reads) => {
    if (reads === 2) stop.abort();
  };
  const details: string[] = [];
  await applyIrqAffinity(stepOf([GPU], 60_000), h.context, stop.signal, (detail) => details.push(detail));
  t.strictSame(details, []);
  t.equal(h.affinity(30), '0-3\n');
  t.strictSame(h.journal.state.entries, []);
});

t.test('a refused write is reported, not fatal, and still journaled', async (t) => {
  const io: HostIo = {
    ...nodeHostIo,
    write(path, text) {
      if (path.endsWith('/irq/31/smp_affinity_list')) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
      nodeHostIo.write(path, text);
    },
  };
  const h = harness(t, HOST, io);
  t.strictSame(await applyOnce(stepOf([GPU]), h.context), ['3 IRQs moved; the kernel refused IRQ 31 (EIO (i/o error))']);
  t.equal(h.affinity(31), '2\n');
  t.equal(h.affinity(30), '0-1\n', 'the others were moved');
  t.strictSame(h.journal.state.entries[0]?.irqs, { '24': '0-3', '30': '0-3', '31': '2', '40': '3' });
});

t.test('an smp_affinity_list that cannot be read is reported', async (t) => {
  const files = { ...HOST };
  delete files['proc/irq/30/smp_affinity_list'];
  const h = harness(t, files);
  mkdirSync(join(h.root, 'proc/irq/30/smp_affinity_list'), { recursive: true });
  t.strictSame(await applyOnce(stepOf([GPU]), h.context), ['3 IRQs moved; the kernel refused IRQ 30 (EISDIR (illegal operation on a directory))']);
  t.strictSame(h.journal.state.entries[0]?.irqs, { '24': '0-3', '31': '2', '40': '3' });
});

t.test('IRQs that appear later are followed until the signal stops it', async (t) => {
  fastFollow(t);
  const io: HostIo = {
    ...nodeHostIo,
    write(path, text) {
      if (path.endsWith('/irq/61/smp_affinity_list')) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
      nodeHostIo.write(path, text);
    },
  };
  const h = harness(t, HOST, io);
  const stop = new AbortController();
  const details: string[] = [];
  const following = applyIrqAffinity(stepOf([GPU]), h.context, stop.signal, (detail) => details.push(detail));
  await until(() => details.length === 1);
  t.strictSame(details, ['4 IRQs moved']);
  mkdirSync(join(h.root, 'proc/irq/60'));
  mkdirSync(join(h.root, 'proc/irq/61'));
  writeFileSync(join(h.root, 'proc/irq/60/smp_affinity_list'), '0-3\n');
  writeFileSync(join(h.root, 'proc/irq/61/smp_affinity_list'), '0-3\n');
  // Both lines at once, so one pass sees both.
  appendFileSync(join(h.root, 'proc/interrupts'), line(60, `vfio-msix[2](${GPU})`) + line(61, `vfio-msix[3](${GPU})`));
  await until(() => h.lines.length >= 2);
  t.strictSame(h.lines, ['boot-vm: step 9: 1 new IRQs moved', 'boot-vm: warning: step 9: the kernel refused IRQ 61 (EIO (i/o error))']);
  t.equal(h.affinity(60), '2-3\n');
  const reads = h.sysroot.reads;
  await until(() => h.sysroot.reads >= reads + 3);
  t.equal(h.lines.length, 2, 'handled IRQs are not moved again');
  stop.abort();
  await following;
  t.pass('resolves once stopped');
  t.strictSame(
    h.onDisk().entries.map((e) => e.irqs),
    [{ '24': '0-3', '30': '0-3', '31': '2', '40': '3' }, { '60': '0-3', '61': '0-3' }],
  );
});

t.test('following leaves no abort listeners piling up on the stop signal', async (t) => {
  fastFollow(t);
  const h = harness(t);
  const stop = new AbortController();
  const following = applyIrqAffinity(stepOf([GPU]), h.context, stop.signal, () => {});
  await until(() => h.sysroot.reads >= 20);
  const listeners = getEventListeners(stop.signal, 'abort').length;
  stop.abort();
  await following;
  t.ok(listeners <= 1, `at most the current interval's listener (found ${listeners})`);
});
