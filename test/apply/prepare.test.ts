// prepareHost on a copy of the i9-9900k fake host with the gaming-9900k plan: only the prepare
// steps are applied, the journal is kept with phases ['prepare'] and no launcher, a second run is
// "prepared already", other journals are refused, and a failing step (a missing file, or the
// kernel giving fewer huge pages than asked) rolls back and removes the journal.
import { cpSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { nodeHostIo, type HostIo } from '../../lib/apply/host-io.js';
import { Journal } from '../../lib/apply/journal.js';
import { createLogger } from '../../lib/apply/log.js';
import { prepareHost } from '../../lib/apply/prepare.js';
import { refOf } from '../../lib/apply/processes.js';
import type { SessionOptions } from '../../lib/apply/session.js';
import { HostStateError, StepFailedError } from '../../lib/errors.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import { hostRoot, planOn } from '../fixtures/helpers.js';
import { snapshot } from '../fixtures/launch.js';
import { rejection, tree } from '../fixtures/trees.js';

const PROFILE = 'test/fixtures/argv/gaming-9900k.yaml';
const HUGE = 'sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages';
const OVERRIDE_0 = 'sys/bus/pci/devices/0000:01:00.0/driver_override';
const OVERRIDE_1 = 'sys/bus/pci/devices/0000:01:00.1/driver_override';
const VTCON = 'sys/class/vtconsole/vtcon1/bind';
// modprobe and the NVRAM copy leave nothing to undo: a later plan need not match them.
const PREPARED = ['unbind-consoles', 'bind-vfio 0000:01:00.0', 'bind-vfio 0000:01:00.1', 'reserve-hugepages 1G'];
const VARS = 'var/lib/boot-vm/nvram/gaming-9900k_VARS.fd';


/** A copy of the fake host, its plan, and session options on it. */
function setup(t: Test, io: HostIo = nodeHostIo) {
  const root = tree(t, {});
  cpSync(hostRoot('i9-9900k'), root, { recursive: true, verbatimSymlinks: true });
  const sysroot = new Sysroot(root);
  const plan = planOn(PROFILE, 'i9-9900k', { sysroot });
  const lines: string[] = [];
  const options: SessionOptions = { sysroot, io, log: createLogger({ mode: 'text', total: plan.steps.length, write: (line) => lines.push(line), isTty: false }), env: { PATH: '' } };
  const journalFile = join(root, 'run/boot-vm/gaming-9900k.journal');
  return { root, plan, options, lines, journalFile, text: (path: string) => readFileSync(join(root, path), 'utf8') };
}


t.test('the plan has prepare, launch and running steps', async (t) => {
  const { plan } = setup(t);
  t.strictSame(
    plan.steps.map((step) => `${step.phase} ${step.id}`),
    [
      ...['load-modules', 'unbind-consoles', 'bind-vfio 0000:01:00.0', 'bind-vfio 0000:01:00.1', 'reserve-hugepages 1G', 'nvram'].map((id) => `prepare ${id}`),
      ...['cpu-governor', 'cpu-shield', 'memlock-limit'].map((id) => `launch ${id}`),
      ...['pin-emulator', 'pin-vcpus', 'start-guest', 'irq-affinity'].map((id) => `running ${id}`),
    ],
  );
});

t.test('prepareHost applies the prepare steps only and keeps the journal for the launch', async (t) => {
  const h = setup(t);
  const before = snapshot(h.root);
  t.equal(await prepareHost(h.plan, h.options), `gaming-9900k: the host is prepared; boot-vm gaming-9900k keeps these steps, scripts/teardown.mjs gaming-9900k undoes them (${h.journalFile})\n`);
  t.equal(h.text(VTCON), '0\n');
  t.equal(h.text(OVERRIDE_0), 'vfio-pci\n');
  t.equal(h.text(OVERRIDE_1), 'vfio-pci\n');
  t.equal(h.text(HUGE), '16\n');
  t.equal(h.text('sys/devices/system/cpu/cpu2/cpufreq/scaling_governor'), before['/sys/devices/system/cpu/cpu2/cpufreq/scaling_governor'], 'launch steps not applied');
  const after = snapshot(h.root);
  const changed = Object.keys({ ...before, ...after }).filter((path) => before[path] !== after[path]);
  t.strictSame(changed.sort(), ['run/boot-vm', 'run/boot-vm/gaming-9900k.journal', HUGE, OVERRIDE_0, OVERRIDE_1, VTCON, 'var', 'var/lib', 'var/lib/boot-vm', 'var/lib/boot-vm/nvram', VARS].map((path) => `/${path}`).sort(), 'nothing else changed');
  t.equal(h.text(VARS), h.text('usr/share/edk2/x64/OVMF_VARS.4m.fd'), 'the UEFI variable store, made from the template');
  t.equal(statSync(join(h.root, VARS)).mode & 0o777, 0o600);
  const journal = Journal.load(h.journalFile, nodeHostIo)!;
  t.strictSame(journal.state.phases, ['prepare']);
  t.equal('launcher' in journal.state, false, 'no launcher');
  t.equal(journal.state.qemu, undefined);
  t.strictSame(journal.state.prepared, PREPARED);
  t.strictSame(journal.state.createdDirs, [join(h.root, 'run/boot-vm')]);
  t.equal(journal.state.vm, 'gaming-9900k');
  t.equal(journal.state.sysroot, h.root);
  t.strictSame(
    journal.state.entries.map((e) => [e.n, e.undo.map((a) => a.kind).join('+'), e.old ?? e.added ?? null]),
    [
      [2, 'restore', '1\n'],
      [2, 'trigger', null],
      [3, 'restore', '(null)\n'],
      [3, 'trigger', null],
      [3, 'trigger+restore', null],
      [4, 'restore', '(null)\n'],
      [4, 'trigger', null],
      [4, 'trigger+restore', null],
      [5, 'release-hugepages', 16],
    ],
  );
  t.strictSame(h.lines, [
    `boot-vm: [1/13] prepare: load kernel modules vfio, vfio_pci, vfio_iommu_type1: done (logged, not run: modprobe -a vfio vfio_pci vfio_iommu_type1 (${h.root} is not the live host))`,
    'boot-vm: [2/13] prepare: unbind the virtual consoles and framebuffers from the boot GPU: done',
    `boot-vm: [3/13] prepare: bind 0000:01:00.0 [10de:1b06] to vfio-pci: done (did not wait for 0000:01:00.0 to be on vfio-pci: ${h.root} is not the live host)`,
    `boot-vm: [4/13] prepare: bind 0000:01:00.1 [10de:10ef] to vfio-pci: done (did not wait for 0000:01:00.1 to be on vfio-pci: ${h.root} is not the live host)`,
    'boot-vm: [5/13] prepare: reserve 16 more huge pages of 1G (the VM needs 16): done (16 pages added)',
    'boot-vm: [6/13] prepare: create the UEFI variable store /var/lib/boot-vm/nvram/gaming-9900k_VARS.fd from /usr/share/edk2/x64/OVMF_VARS.4m.fd, mode 0600: done',
  ]);
});

t.test('a second prepareHost finds the host prepared already and changes nothing', async (t) => {
  const h = setup(t);
  await prepareHost(h.plan, h.options);
  const before = snapshot(h.root);
  h.lines.length = 0;
  t.equal(await prepareHost(h.plan, h.options), `gaming-9900k: the host is prepared already (${h.journalFile})\n`);
  t.strictSame(snapshot(h.root), before);
  t.strictSame(h.lines, []);
});

t.test('a plan made after prepare-host (the variable store there now, its step skipped) finds the host prepared', async (t) => {
  const h = setup(t);
  await prepareHost(h.plan, h.options);
  const again = planOn(PROFILE, 'i9-9900k', { sysroot: h.options.sysroot });
  t.equal(again.steps.find((step) => step.id === 'nvram')?.skip, 'it exists; --reset-nvram makes it again from the template');
  t.equal(await prepareHost(again, h.options), `gaming-9900k: the host is prepared already (${h.journalFile})\n`);
});

t.test('a journal prepared by another plan is a leftover', async (t) => {
  const h = setup(t);
  await prepareHost(h.plan, h.options);
  const journal = Journal.load(h.journalFile, nodeHostIo)!;
  journal.state.prepared = PREPARED.slice(0, 3);
  journal.save();
  const error = await rejection(prepareHost(h.plan, h.options));
  t.type(error, HostStateError);
  t.equal(error.message, `a run of gaming-9900k ended without putting the host back (${h.journalFile} is left over); run scripts/teardown.mjs gaming-9900k first`);
});

t.test('a journal from a launch is refused: running, or left over', async (t) => {
  const h = setup(t);
  await prepareHost(h.plan, h.options);
  const journal = Journal.load(h.journalFile, nodeHostIo)!;
  journal.state.launcher = refOf(process.pid)!;
  journal.state.phases = ['prepare', 'launch'];
  journal.save();
  let error = await rejection(prepareHost(h.plan, h.options));
  t.type(error, HostStateError);
  t.equal(error.message, `gaming-9900k is already running: boot-vm (pid ${process.pid}) holds ${h.journalFile}; it puts the host back when QEMU exits`);
  journal.state.launcher = { pid: process.pid, start: '1' };
  journal.save();
  error = await rejection(prepareHost(h.plan, h.options));
  t.equal(error.message, `a run of gaming-9900k ended without putting the host back (${h.journalFile} is left over); run scripts/teardown.mjs gaming-9900k first`);
  t.equal(h.text(VTCON), '0\n', 'nothing undone');
});

t.test('a step that fails rolls back what was done and removes the journal', async (t) => {
  const h = setup(t);
  rmSync(join(h.root, OVERRIDE_1));
  const before = snapshot(h.root);
  const error = await rejection(prepareHost(h.plan, h.options));
  t.type(error, StepFailedError);
  t.equal(error.message, `step 4 (bind 0000:01:00.1 [10de:10ef] to vfio-pci) failed: cannot read ${join(h.root, OVERRIDE_1)}: ENOENT (no such file or directory); everything done before it was undone`);
  t.strictSame(snapshot(h.root), before, 'the tree is as it was, the journal and its directory gone');
  t.equal(nodeHostIo.exists(h.journalFile), false);
  t.strictSame(h.lines.slice(3), [
    `boot-vm: [4/13] prepare: bind 0000:01:00.1 [10de:10ef] to vfio-pci: failed (cannot read ${join(h.root, OVERRIDE_1)}: ENOENT (no such file or directory))`,
    'boot-vm: [3/13] prepare: undo bind-vfio 0000:01:00.0: undone',
    'boot-vm: [2/13] prepare: undo unbind-consoles: undone',
  ]);
});

t.test('fewer huge pages than asked: the ones got are given back', async (t) => {
  // The kernel finds only 3 free 1G pages, whatever is asked.
  const io: HostIo = {
    ...nodeHostIo,
    write: (path, text) => nodeHostIo.write(path, path.endsWith('nr_hugepages') ? `${Math.min(Number(text), 3)}\n` : text),
  };
  const h = setup(t, io);
  const before = snapshot(h.root);
  const error = await rejection(prepareHost(h.plan, h.options));
  t.type(error, StepFailedError);
  t.equal(error.message, 'step 5 (reserve 16 more huge pages of 1G (the VM needs 16)) failed: asked the kernel for 16 more 1G pages, got 3: memory is short or too fragmented; free some, or reserve them at boot (hugepages= on the kernel command line); everything done before it was undone');
  t.equal(h.text(HUGE), '0\n', 'the 3 pages got are released');
  t.strictSame({ ...snapshot(h.root), [`/${HUGE}`]: before[`/${HUGE}`]! }, before, 'everything else as it was');
  t.equal(h.lines.at(-5), 'boot-vm: [5/13] prepare: reserve 16 more huge pages of 1G (the VM needs 16): failed (asked the kernel for 16 more 1G pages, got 3: memory is short or too fragmented; free some, or reserve them at boot (hugepages= on the kernel command line))');
  t.equal(h.lines.at(-4), 'boot-vm: [5/13] prepare: undo reserve-hugepages 1G: undone (3 pages given back)');
});

t.test('an undo that fails during the rollback is reported with the failure', async (t) => {
  let failing = false;
  const io: HostIo = {
    ...nodeHostIo,
    write(path, text) {
      if (failing && path.endsWith('vtcon1/bind')) throw Object.assign(new Error('EBUSY: resource busy or locked, write'), { code: 'EBUSY' });
      nodeHostIo.write(path, text);
    },
    read(path) {
      if (path.endsWith(OVERRIDE_1)) {
        failing = true;
        throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
      }
      return nodeHostIo.read(path);
    },
  };
  const h = setup(t, io);
  const error = await rejection(prepareHost(h.plan, h.options));
  t.equal(error.message, `step 4 (bind 0000:01:00.1 [10de:10ef] to vfio-pci) failed: cannot read ${join(h.root, OVERRIDE_1)}: EIO (i/o error); undoing what was done before it also failed: step 2 (unbind-consoles): writing "1" to ${join(h.root, VTCON)}: EBUSY (resource busy or locked)`);
  t.equal(h.text(OVERRIDE_0), '(null)\n', 'the rest was undone');
  t.equal(h.text(VTCON), '0\n');
});
