// doAction and undoAction for every action kind, on a temporary tree (a fake sysroot) and, where the
// live host behaves differently, on the live sysroot `/` with an in-memory HostIo that never touches
// the real /sys or /proc. Journaling order (old values journaled once the write succeeded), unchanged
// writes skipped and not journaled, restores once per teardown, huge page read-back and IRQ affinity restores;
// helper programs (swtpm, played by sh) started, journaled and stopped for real, in a temporary tree.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ActionError, doAction, undoAction, type ApplyContext } from '../../lib/apply/actions.js';
import { nodeHostIo, type HostIo } from '../../lib/apply/host-io.js';
import { Journal, type JournalEntry, type JournalState } from '../../lib/apply/journal.js';
import { createLogger } from '../../lib/apply/log.js';
import { applySteps, undoEntries } from '../../lib/apply/apply-steps.js';
import { pollUntil, WaitTimeout } from '../../lib/apply/poll.js';
import { isAlive } from '../../lib/apply/processes.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import type { Action, Owner, Step, StepAction } from '../../lib/plan/step.js';
import { rejection, tree } from '../fixtures/trees.js';

const stateOf = (): JournalState => ({ version: 1, vm: 'vm', file: '/p/vm.yaml', sysroot: '/fake', phases: [], prepared: [], createdDirs: [], entries: [] });

const stepOf = (actions: StepAction[] = []): Step => ({ n: 3, id: 'test-step', phase: 'prepare', title: 'a test step', from: [], notes: [], actions });

const errno = (code: string, reason: string, syscall: string, path: string) => Object.assign(new Error(`${code}: ${reason}, ${syscall} '${path}'`), { code });

interface Harness {
  root: string;
  sysroot: Sysroot;
  context: ApplyContext;
  journal: Journal;
  journalFile: string;
  lines: string[];
  commands: string[][];
  /** The journal as it is on disk now. */
  onDisk: () => JournalState;
  at: (path: string) => string;
  text: (path: string) => string;
}

/**
 * A context on a temporary tree. `io` wraps nodeHostIo when given. With `live`, the sysroot is `/`
 * and `io` must be an in-memory one; the journal is still kept in the temporary tree.
 */
function harness(t: Test, files: Record<string, string>, options: { io?: HostIo; live?: boolean; runCommand?: (argv: string[]) => Promise<void> } = {}): Harness {
  const root = tree(t, files);
  const sysroot = new Sysroot(options.live ? '/' : root);
  const journalFile = join(root, 'journal/vm.journal');
  const journal = new Journal(journalFile, stateOf(), nodeHostIo);
  const lines: string[] = [];
  const commands: string[][] = [];
  const context: ApplyContext = {
    sysroot,
    io: options.io ?? nodeHostIo,
    journal,
    log: createLogger({ mode: 'text', total: 9, write: (line) => lines.push(line), isTty: false }),
    runCommand: options.runCommand ?? (async (argv) => void commands.push(argv)),
  };
  return {
    root,
    sysroot,
    context,
    journal,
    journalFile,
    lines,
    commands,
    onDisk: () => JSON.parse(readFileSync(journalFile, 'utf8')) as JournalState,
    at: (path) => join(root, path),
    text: (path) => readFileSync(join(root, path), 'utf8'),
  };
}

/** A HostIo over a map of files (live paths), recording writes; nothing reaches the real filesystem. */
function memoryIo(files: Record<string, string>, links: Record<string, string> = {}) {
  const writes: string[] = [];
  const readLinks: string[] = [];
  const refuse = (what: string) => () => {
    throw new Error(`${what} is not expected in this test`);
  };
  const io: HostIo = {
    read(path) {
      const text = files[path];
      if (text === undefined) throw errno('ENOENT', 'no such file or directory', 'open', path);
      return text;
    },
    write(path, text) {
      if (files[path] === undefined) throw errno('ENOENT', 'no such file or directory', 'open', path);
      writes.push(`${path}=${text}`);
      files[path] = text;
    },
    readLink(path) {
      readLinks.push(path);
      return links[path];
    },
    exists: (path) => files[path] !== undefined,
    mkdir: refuse('mkdir'),
    rmdir: refuse('rmdir'),
    replace: refuse('replace'),
    remove: refuse('remove'),
    createExclusive: refuse('createExclusive'),
    removeTree: refuse('removeTree'),
    stat: refuse('stat'),
    fileKind: (path) => (files[path] === undefined ? undefined : 'file'),
    chown: refuse('chown'),
    chmod: refuse('chmod'),
    copy: refuse('copy'),
  };
  return { io, files, links, writes, readLinks };
}

/** The error a promise rejects with (the test fails when it resolves). */

const set = (path: string, value: string): StepAction => ({ do: { kind: 'set', path, value }, undo: [{ kind: 'restore', path }] });

t.test('set journals the old value once the new one is written', async (t) => {
  const seenAtWrite: JournalEntry[][] = [];
  let h!: Harness;
  const io: HostIo = {
    ...nodeHostIo,
    write(path, text) {
      seenAtWrite.push([...h.journal.state.entries]);
      nodeHostIo.write(path, text);
    },
  };
  h = harness(t, { 'sys/class/vtconsole/vtcon1/bind': '1\n' }, { io });
  const action = set('/sys/class/vtconsole/vtcon1/bind', '0');
  t.strictSame(await doAction(stepOf([action]), action, h.context), []);
  t.equal(h.text('sys/class/vtconsole/vtcon1/bind'), '0\n', 'the value with a newline');
  const entry = { n: 3, step: 'test-step', phase: 'prepare', undo: [{ kind: 'restore', path: '/sys/class/vtconsole/vtcon1/bind' }], path: '/sys/class/vtconsole/vtcon1/bind', old: '1\n' };
  t.strictSame(seenAtWrite, [[]], 'nothing journaled before the write');
  t.strictSame(h.onDisk().entries, [entry], 'on disk once written');
});

t.test('set skips the write when the value is already there, and journals nothing: there is nothing to undo', async (t) => {
  const writes: string[] = [];
  const h = harness(t, { 'sys/devices/system/cpu/cpu2/cpufreq/scaling_governor': 'performance\n' }, { io: { ...nodeHostIo, write: (path) => void writes.push(path) } });
  const action = set('/sys/devices/system/cpu/cpu2/cpufreq/scaling_governor', 'performance');
  t.strictSame(await doAction(stepOf([action]), action, h.context), []);
  t.strictSame(writes, []);
  t.strictSame(h.journal.state.entries, []);
});

t.test('set that cannot read the old value fails before journaling anything', async (t) => {
  const h = harness(t, {});
  const action = set('/sys/missing', '1');
  const error = await rejection(doAction(stepOf([action]), action, h.context));
  t.type(error, ActionError);
  t.equal(error.message, `cannot read ${h.at('sys/missing')}: ENOENT (no such file or directory)`);
  t.strictSame(h.journal.state.entries, []);
});

t.test('set whose write the kernel refuses journals nothing: the value never changed', async (t) => {
  const h = harness(t, { 'sys/bus/pci/devices/0000:01:00.0/driver_override': '(null)\n' }, {
    io: {
      ...nodeHostIo,
      write: (path) => {
        throw errno('EIO', 'i/o error', 'write', path);
      },
    },
  });
  const action = set('/sys/bus/pci/devices/0000:01:00.0/driver_override', 'vfio-pci');
  const error = await rejection(doAction(stepOf([action]), action, h.context));
  t.type(error, ActionError);
  t.equal(error.message, `writing "vfio-pci" to ${h.at('sys/bus/pci/devices/0000:01:00.0/driver_override')}: EIO (i/o error)`);
  t.strictSame(h.journal.state.entries, []);
  t.equal(nodeHostIo.exists(h.journalFile), false, 'nothing saved either');
  t.equal(h.text('sys/bus/pci/devices/0000:01:00.0/driver_override'), '(null)\n');
});

t.test('set twice on one path journals each change with the value it replaced', async (t) => {
  const h = harness(t, { 'sys/x': 'first\n' });
  for (const value of ['second', 'third', 'third']) {
    const action = set('/sys/x', value);
    await doAction(stepOf([action]), action, h.context);
  }
  t.equal(h.text('sys/x'), 'third\n');
  t.strictSame(h.onDisk().entries.map((e) => e.old), ['first\n', 'second\n'], 'the unchanged third write is not journaled');
});

t.test('trigger writes the value; journals only when there is something to undo', async (t) => {
  const h = harness(t, { 'sys/bus/pci/drivers/nvidia/unbind': '', 'proc/sys/vm/compact_memory': '' });
  const unbind: StepAction = { do: { kind: 'trigger', path: '/sys/bus/pci/drivers/nvidia/unbind', value: '0000:01:00.0' }, undo: [{ kind: 'trigger', path: '/sys/bus/pci/drivers/nvidia/bind', value: '0000:01:00.0' }] };
  const compact: StepAction = { do: { kind: 'trigger', path: '/proc/sys/vm/compact_memory', value: '1' }, undo: [] };
  t.strictSame(await doAction(stepOf([compact]), compact, h.context), []);
  t.equal(h.text('proc/sys/vm/compact_memory'), '1\n');
  t.strictSame(h.journal.state.entries, []);
  t.strictSame(await doAction(stepOf([unbind]), unbind, h.context), []);
  t.equal(h.text('sys/bus/pci/drivers/nvidia/unbind'), '0000:01:00.0\n');
  t.strictSame(h.onDisk().entries, [{ n: 3, step: 'test-step', phase: 'prepare', undo: unbind.undo }]);
});

t.test('a trigger that fails is not journaled', async (t) => {
  const h = harness(t, {});
  const unbind: StepAction = { do: { kind: 'trigger', path: '/sys/nope/unbind', value: '0000:01:00.0' }, undo: [{ kind: 'trigger', path: '/sys/nope/bind', value: '0000:01:00.0' }] };
  const error = await rejection(doAction(stepOf([unbind]), unbind, h.context));
  t.equal(error.message, `writing "0000:01:00.0" to ${h.at('sys/nope/unbind')}: ENOENT (no such file or directory)`);
  t.strictSame(h.journal.state.entries, []);
});

t.test('run on a fake sysroot is logged, not run, and journaled when it has an undo', async (t) => {
  const h = harness(t, {});
  const modprobe: StepAction = { do: { kind: 'run', argv: ['modprobe', '-a', 'vfio', 'vfio_pci'] }, undo: [] };
  const shield: StepAction = { do: { kind: 'run', argv: ['systemctl', 'set-property', 'user.slice', 'AllowedCPUs=0-1'] }, undo: [{ kind: 'run', argv: ['systemctl', 'set-property', 'user.slice', 'AllowedCPUs='] }] };
  t.strictSame(await doAction(stepOf([modprobe]), modprobe, h.context), [`logged, not run: modprobe -a vfio vfio_pci (${h.root} is not the live host)`]);
  t.strictSame(h.journal.state.entries, []);
  t.strictSame(await doAction(stepOf([shield]), shield, h.context), [`logged, not run: systemctl set-property user.slice AllowedCPUs=0-1 (${h.root} is not the live host)`]);
  t.strictSame(h.journal.state.entries.map((e) => e.undo), [shield.undo]);
  t.strictSame(h.commands, [], 'nothing run');
});

t.test('run on the live host runs the command, journaling after it succeeded', async (t) => {
  const memory = memoryIo({});
  const h = harness(t, {}, { io: memory.io, live: true });
  const shield: StepAction = { do: { kind: 'run', argv: ['systemctl', 'set-property', 'user.slice', 'AllowedCPUs=0-1'] }, undo: [{ kind: 'run', argv: ['systemctl', 'set-property', 'user.slice', 'AllowedCPUs='] }] };
  t.strictSame(await doAction(stepOf([shield]), shield, h.context), []);
  t.strictSame(h.commands, [['systemctl', 'set-property', 'user.slice', 'AllowedCPUs=0-1']]);
  t.equal(h.onDisk().entries.length, 1);
  const modprobe: StepAction = { do: { kind: 'run', argv: ['modprobe', 'vfio'] }, undo: [] };
  await doAction(stepOf([modprobe]), modprobe, h.context);
  t.equal(h.journal.state.entries.length, 1, 'nothing to undo: not journaled');
});

t.test('a live command that fails fails the action and is not journaled', async (t) => {
  const memory = memoryIo({});
  const h = harness(t, {}, {
    io: memory.io,
    live: true,
    runCommand: async (argv) => {
      throw new ActionError(`${argv.join(' ')}: Failed to set unit properties`);
    },
  });
  const shield: StepAction = { do: { kind: 'run', argv: ['systemctl', 'x'] }, undo: [{ kind: 'run', argv: ['systemctl', 'y'] }] };
  const error = await rejection(doAction(stepOf([shield]), shield, h.context));
  t.equal(error.message, 'systemctl x: Failed to set unit properties');
  t.strictSame(h.journal.state.entries, []);
});

t.test('mkdir makes a missing directory and journals it; an existing one is left alone', async (t) => {
  const h = harness(t, { 'dev/hugepages1G/.keep': '', 'run/boot-vm/.keep': '' });
  const mount: StepAction = { do: { kind: 'mkdir', path: '/run/boot-vm/hugepages' }, undo: [{ kind: 'rmdir', path: '/run/boot-vm/hugepages' }] };
  t.strictSame(await doAction(stepOf([mount]), mount, h.context), []);
  t.equal(nodeHostIo.exists(h.at('run/boot-vm/hugepages')), true);
  t.strictSame(h.onDisk().entries.map((e) => e.undo), [mount.undo]);
  const existing: StepAction = { do: { kind: 'mkdir', path: '/dev/hugepages1G' }, undo: [{ kind: 'rmdir', path: '/dev/hugepages1G' }] };
  t.strictSame(await doAction(stepOf([existing]), existing, h.context), []);
  t.equal(h.journal.state.entries.length, 1, 'an existing directory is not journaled, so teardown leaves it');
});

t.test('mkdir that makes parents too journals each one, and undo removes them innermost first', async (t) => {
  const h = harness(t, {});
  const mount: StepAction = { do: { kind: 'mkdir', path: '/mnt/a/b' }, undo: [{ kind: 'rmdir', path: '/mnt/a/b' }] };
  await doAction(stepOf([mount]), mount, h.context);
  const entry = h.journal.state.entries.at(-1)!;
  t.strictSame(entry.undo, ['/mnt/a/b', '/mnt/a', '/mnt'].map((path) => ({ kind: 'rmdir', path })));
  for (const action of entry.undo) await undoAction(action, entry, h.context, new Map(), new Set());
  t.equal(nodeHostIo.exists(h.at('mnt/a/b')), false);
  t.equal(nodeHostIo.exists(h.at('mnt')), false, 'the parents made for it are gone too');
});

t.test("mkdir with the step's own undo: that undo for the directory asked for, rmdir for the parents made", async (t) => {
  const h = harness(t, {});
  const own: StepAction = { do: { kind: 'mkdir', path: '/run/boot-vm/vm' }, undo: [{ kind: 'remove-dir', path: '/run/boot-vm/vm' }] };
  await doAction(stepOf([own]), own, h.context);
  t.strictSame(h.onDisk().entries.map((e) => e.undo), [[{ kind: 'remove-dir', path: '/run/boot-vm/vm' }, { kind: 'rmdir', path: '/run/boot-vm' }, { kind: 'rmdir', path: '/run' }]]);
});

const NOBODY: Owner = { user: 'nobody', uid: 65534, gid: 65534 };
const isRoot = process.getuid?.() === 0;
// Binary, as a variable store is: every byte value, and no trailing newline.
const TEMPLATE = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));

t.test('copy-file makes the directory and copies the bytes with the mode, and the owner when it may; nothing is journaled', async (t) => {
  const h = harness(t, {});
  mkdirSync(h.at('usr/share/OVMF'), { recursive: true });
  writeFileSync(h.at('usr/share/OVMF/VARS.fd'), TEMPLATE, { mode: 0o644 });
  const copy: StepAction = { do: { kind: 'copy-file', from: '/usr/share/OVMF/VARS.fd', to: '/var/lib/boot-vm/nvram/vm_VARS.fd', mode: 0o600, owner: NOBODY }, undo: [] };
  const notes = await doAction(stepOf([copy]), copy, h.context);
  const file = h.at('var/lib/boot-vm/nvram/vm_VARS.fd');
  t.ok(readFileSync(file).equals(TEMPLATE), 'the same bytes');
  const stat = statSync(file);
  t.equal(stat.mode & 0o7777, 0o600);
  if (isRoot) {
    t.strictSame(notes, []);
    t.strictSame([stat.uid, stat.gid], [65534, 65534], 'root gives it to the user in a fake tree too');
  } else t.strictSame(notes, [`logged, not run: chown nobody:65534 ${file} (${h.root} is not the live host and boot-vm is not root)`]);
  t.strictSame(readdirSync(h.at('var/lib/boot-vm/nvram')), ['vm_VARS.fd'], 'no temporary file left');
  t.strictSame(h.journal.state.entries, [], 'kept: nothing to undo');
  writeFileSync(file, 'the guest wrote its variables');
  await doAction(stepOf([copy]), copy, h.context);
  t.ok(readFileSync(file).equals(TEMPLATE), 'an existing file is replaced (--reset-nvram)');
});

t.test('copy-file without an owner leaves the owner alone; a missing template fails naming both files', async (t) => {
  const h = harness(t, { 'fw/VARS.fd': 'vars' });
  const copy: StepAction = { do: { kind: 'copy-file', from: '/fw/VARS.fd', to: '/vm/VARS.fd', mode: 0o600 }, undo: [] };
  t.strictSame(await doAction(stepOf([copy]), copy, h.context), []);
  t.equal(statSync(h.at('vm/VARS.fd')).uid, process.getuid?.());
  const missing: StepAction = { do: { kind: 'copy-file', from: '/fw/NONE.fd', to: '/vm/other.fd', mode: 0o600 }, undo: [] };
  const error = await rejection(doAction(stepOf([missing]), missing, h.context));
  t.type(error, ActionError);
  t.equal(error.message, `copying ${h.at('fw/NONE.fd')} to ${h.at('vm/other.fd')}: ENOENT (no such file or directory)`);
  t.strictSame(readdirSync(h.at('vm')), ['VARS.fd'], 'nothing made at the target');
});

t.test('chown gives the file to the user and journals the old owner and mode after; restore-owner gives them back', { skip: !isRoot && 'only root can give a file away' }, async (t) => {
  const h = harness(t, { 'dev/vfio/1': '' });
  chmodSync(h.at('dev/vfio/1'), 0o4750);
  const chown: StepAction = { do: { kind: 'chown', path: '/dev/vfio/1', owner: NOBODY }, undo: [{ kind: 'restore-owner', path: '/dev/vfio/1' }] };
  t.strictSame(await doAction(stepOf([chown]), chown, h.context), []);
  t.strictSame([statSync(h.at('dev/vfio/1')).uid, statSync(h.at('dev/vfio/1')).gid], [65534, 65534]);
  const entry = h.onDisk().entries[0]!;
  t.strictSame(entry, { n: 3, step: 'test-step', phase: 'prepare', undo: chown.undo, path: '/dev/vfio/1', owner: { uid: 0, gid: 0, mode: 0o4750 } });
  t.strictSame(await undoAction({ kind: 'restore-owner', path: '/dev/vfio/1' }, entry, h.context, new Map(), new Set()), []);
  const after = statSync(h.at('dev/vfio/1'));
  t.strictSame([after.uid, after.gid, after.mode & 0o7777], [0, 0, 0o4750], 'owner and mode back, the set-uid bit chown cleared included');
});

t.test('chown on a fake tree without root is logged and journals nothing', { skip: isRoot && 'root chowns in a fake tree' }, async (t) => {
  const h = harness(t, { 'dev/vfio/1': '' });
  const chown: StepAction = { do: { kind: 'chown', path: '/dev/vfio/1', owner: NOBODY }, undo: [{ kind: 'restore-owner', path: '/dev/vfio/1' }] };
  t.strictSame(await doAction(stepOf([chown]), chown, h.context), [`logged, not run: chown nobody:65534 ${h.at('dev/vfio/1')} (${h.root} is not the live host and boot-vm is not root)`]);
  t.strictSame(h.journal.state.entries, []);
});

t.test('a refused chown fails naming the file and the user, and journals nothing to give back', async (t) => {
  const refused = Object.assign(new Error("EPERM: operation not permitted, chown '/dev/vfio/1'"), { code: 'EPERM' });
  const calls: string[] = [];
  const io: HostIo = {
    ...memoryIo({ '/dev/vfio/1': '' }).io,
    stat: (path) => (calls.push(`stat ${path}`), { uid: 0, gid: 0, mode: 0o600 }),
    chown: (path, uid, gid) => {
      calls.push(`chown ${path} ${uid}:${gid}`);
      throw refused;
    },
  };
  const h = harness(t, {}, { io, live: true });
  const chown: StepAction = { do: { kind: 'chown', path: '/dev/vfio/1', owner: NOBODY }, undo: [{ kind: 'restore-owner', path: '/dev/vfio/1' }] };
  const error = await rejection(doAction(stepOf([chown]), chown, h.context));
  t.type(error, ActionError);
  t.equal(error.message, 'giving /dev/vfio/1 to nobody: EPERM (operation not permitted)');
  t.strictSame(calls, ['stat /dev/vfio/1', 'chown /dev/vfio/1 65534:65534'], 'on the live host it chowns whoever runs it');
  t.strictSame(h.journal.state.entries, []);
  const missing = harness(t, {});
  const gone: StepAction = { do: { kind: 'chown', path: '/dev/vfio/7', owner: NOBODY }, undo: [{ kind: 'restore-owner', path: '/dev/vfio/7' }] };
  if (isRoot) t.equal((await rejection(doAction(stepOf([gone]), gone, missing.context))).message, `giving ${missing.at('dev/vfio/7')} to nobody: ENOENT (no such file or directory)`);
});

t.test('wait-driver on a fake sysroot does not wait', async (t) => {
  const h = harness(t, {});
  const wait: StepAction = { do: { kind: 'wait-driver', device: '0000:01:00.0', driver: 'vfio-pci', timeoutMs: 10000 }, undo: [] };
  t.strictSame(await doAction(stepOf([wait]), wait, h.context), [`did not wait for 0000:01:00.0 to be on vfio-pci: ${h.root} is not the live host`]);
  t.strictSame(h.journal.state.entries, []);
});

t.test('wait-driver on the live host polls the driver link until it names the driver', async (t) => {
  const link = '/sys/bus/pci/devices/0000:01:00.0/driver';
  const memory = memoryIo({}, { [link]: '../../../bus/pci/drivers/nvidia' });
  const io: HostIo = {
    ...memory.io,
    readLink(path) {
      const target = memory.io.readLink(path);
      if (memory.readLinks.length === 3) memory.links[link] = '../../../bus/pci/drivers/vfio-pci';
      return target;
    },
  };
  const h = harness(t, {}, { io, live: true });
  const wait: StepAction = { do: { kind: 'wait-driver', device: '0000:01:00.0', driver: 'vfio-pci', timeoutMs: 5000 }, undo: [] };
  t.strictSame(await doAction(stepOf([wait]), wait, h.context), []);
  t.strictSame(memory.readLinks, [link, link, link, link], 'read until it changed');
  t.strictSame(h.lines, [], 'no progress for a short wait');
});

t.test('wait-driver times out naming the device and the driver', async (t) => {
  const link = '/sys/bus/pci/devices/0000:01:00.1/driver';
  const memory = memoryIo({}, { [link]: '../../../bus/pci/drivers/snd_hda_intel' });
  const h = harness(t, {}, { io: memory.io, live: true });
  const wait: StepAction = { do: { kind: 'wait-driver', device: '0000:01:00.1', driver: 'vfio-pci', timeoutMs: 60 }, undo: [] };
  const error = await rejection(doAction(stepOf([wait]), wait, h.context));
  t.type(error, WaitTimeout);
  t.match(error.message, /^waited 0\.[1-9]s for 0000:01:00\.1 to be on vfio-pci$/);
});

t.test('wait-driver stops when the signal aborts', async (t) => {
  const memory = memoryIo({});
  const h = harness(t, {}, { io: memory.io, live: true });
  const stop = new AbortController();
  stop.abort();
  const wait: StepAction = { do: { kind: 'wait-driver', device: '0000:01:00.0', driver: 'vfio-pci', timeoutMs: 60_000 }, undo: [] };
  const error = await rejection(doAction(stepOf([wait]), wait, { ...h.context, signal: stop.signal }));
  t.equal(error.message, 'stopped waiting for 0000:01:00.0 to be on vfio-pci');
});

const SHM = '/dev/shm/looking-glass';
const createShm = (owner?: Owner): StepAction => ({ do: { kind: 'create-file', path: SHM, mode: 0o660, ...(owner ? { owner } : {}) }, undo: [{ kind: 'remove-file', path: SHM }] });

t.test('create-file makes an empty file with the owner and mode, journaled once made; remove-file removes it', async (t) => {
  const h = harness(t, { 'dev/shm/marker': '' });
  const create = createShm(isRoot ? NOBODY : undefined);
  t.strictSame(await doAction(stepOf([create]), create, h.context), []);
  const made = statSync(h.at('dev/shm/looking-glass'));
  t.strictSame([made.size, made.mode & 0o7777], [0, 0o660], 'empty, with the mode asked (not the umask)');
  if (isRoot) t.strictSame([made.uid, made.gid], [65534, 65534], 'owned by the user asked');
  t.strictSame(readdirSync(h.at('dev/shm')).sort(), ['looking-glass', 'marker'], 'no temporary file left beside it');
  const entry = h.onDisk().entries[0]!;
  t.strictSame(entry, { n: 3, step: 'test-step', phase: 'prepare', undo: create.undo });
  t.strictSame(await undoAction(entry.undo[0]!, entry, h.context, new Map(), new Set()), []);
  t.strictSame(readdirSync(h.at('dev/shm')), ['marker'], 'removed at teardown');
});

t.test('create-file over a file that appeared since the plan fails and journals nothing: that file is not boot-vm\'s to remove', async (t) => {
  const h = harness(t, { 'dev/shm/looking-glass': 'the client made this' });
  const create = createShm();
  const error = await rejection(doAction(stepOf([create]), create, h.context));
  t.type(error, ActionError);
  t.equal(error.message, `${h.at('dev/shm/looking-glass')} exists, though it did not when the plan was made: something else made it since; look at it, then launch again`);
  t.strictSame(h.journal.state.entries, []);
  t.equal(h.text('dev/shm/looking-glass'), 'the client made this', 'left as it was');
  const nowhere = harness(t, {});
  t.equal((await rejection(doAction(stepOf([create]), create, nowhere.context))).message, `creating ${nowhere.at('dev/shm/looking-glass')}: ENOENT (no such file or directory)`, 'a host without /dev/shm');
});

t.test('set-owner gives an existing file the owner and mode for the run, journaling the old ones; restore-owner gives both back', { skip: !isRoot && 'only root can give a file away' }, async (t) => {
  const h = harness(t, { 'dev/shm/looking-glass': '' });
  chmodSync(h.at('dev/shm/looking-glass'), 0o644);
  const give: StepAction = { do: { kind: 'set-owner', path: SHM, owner: NOBODY, mode: 0o660 }, undo: [{ kind: 'restore-owner', path: SHM }] };
  t.strictSame(await doAction(stepOf([give]), give, h.context), []);
  const given = statSync(h.at('dev/shm/looking-glass'));
  t.strictSame([given.uid, given.gid, given.mode & 0o7777], [65534, 65534, 0o660]);
  const entry = h.onDisk().entries[0]!;
  t.strictSame(entry.owner, { uid: 0, gid: 0, mode: 0o644 }, 'the owner and mode it had, journaled');
  await undoAction(entry.undo[0]!, entry, h.context, new Map(), new Set());
  const back = statSync(h.at('dev/shm/looking-glass'));
  t.strictSame([back.uid, back.gid, back.mode & 0o7777], [0, 0, 0o644]);
  const modeOnly: StepAction = { do: { kind: 'set-owner', path: SHM, mode: 0o600 }, undo: [{ kind: 'restore-owner', path: SHM }] };
  await doAction(stepOf([modeOnly]), modeOnly, h.context);
  t.equal(statSync(h.at('dev/shm/looking-glass')).mode & 0o7777, 0o600, 'a mode alone');
});

const KVMFR = '/dev/kvmfr0';
const waitKvmfr = (timeoutMs = 5000): StepAction => ({ do: { kind: 'wait-char-device', path: KVMFR, timeoutMs }, undo: [] });

t.test('wait-char-device passes a character device, and fails on the plain file a QEMU leaves where the device was missing', async (t) => {
  const h = harness(t, { 'dev/kvmfr0': '' });
  const error = await rejection(doAction(stepOf([waitKvmfr()]), waitKvmfr(), h.context));
  t.type(error, ActionError);
  t.equal(error.message, `${h.at('dev/kvmfr0')} is a plain file, not a character device (a QEMU started while the device was missing makes a file there); remove it, then reload the module that makes the device`);
  const absent = harness(t, {});
  t.equal((await rejection(doAction(stepOf([waitKvmfr()]), waitKvmfr(), absent.context))).message, `there is no ${absent.at('dev/kvmfr0')} (${absent.root} is not the live host: nothing makes devices there)`, 'a fake tree is not waited on');
  if (!isRoot) return;
  const device = harness(t, {});
  mkdirSync(device.at('dev'));
  execFileSync('mknod', [device.at('dev/kvmfr0'), 'c', '1', '3']);
  t.strictSame(await doAction(stepOf([waitKvmfr()]), waitKvmfr(), device.context), []);
  t.strictSame(device.journal.state.entries, [], 'a check: nothing to undo');
});

t.test('wait-char-device on the live host waits for udev to make the node, and times out naming it', async (t) => {
  const memory = memoryIo({});
  let looks = 0;
  const io: HostIo = { ...memory.io, fileKind: (path) => (path === KVMFR && ++looks >= 3 ? 'char-device' : undefined) };
  const h = harness(t, {}, { io, live: true });
  t.strictSame(await doAction(stepOf([waitKvmfr()]), waitKvmfr(), h.context), []);
  t.equal(looks, 3, 'looked until it appeared');
  const never = harness(t, {}, { io: memory.io, live: true });
  const error = await rejection(doAction(stepOf([waitKvmfr(60)]), waitKvmfr(60), never.context));
  t.type(error, WaitTimeout);
  t.match(error.message, /^waited 0\.[1-9]s for \/dev\/kvmfr0 to appear \(udev makes it after the module loads\)$/);
});

const HUGE = '/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages';
const reserve = (add: number): StepAction => ({ do: { kind: 'reserve-hugepages', path: HUGE, add, pageSize: '1G' }, undo: [{ kind: 'release-hugepages', path: HUGE }] });

t.test('reserve-hugepages raises the count, reads it back and journals what it added', async (t) => {
  const seenAtWrite: (number | undefined)[] = [];
  let h!: Harness;
  const io: HostIo = {
    ...nodeHostIo,
    write(path, text) {
      seenAtWrite.push(...h.onDisk().entries.map((e) => e.added));
      nodeHostIo.write(path, text);
    },
  };
  h = harness(t, { [HUGE.slice(1)]: '2\n' }, { io });
  t.strictSame(await doAction(stepOf([reserve(16)]), reserve(16), h.context), ['16 pages added']);
  t.equal(h.text(HUGE.slice(1)), '18\n');
  t.strictSame(seenAtWrite, [0], 'journaled with nothing added before the write');
  t.strictSame(h.onDisk().entries, [{ n: 3, step: 'test-step', phase: 'prepare', undo: reserve(16).undo, added: 16 }]);
});

t.test('reserve-hugepages that gets fewer pages fails with what it got, journaling those', async (t) => {
  let reads = 0;
  const io: HostIo = {
    ...nodeHostIo,
    read: (path) => (path.endsWith('nr_hugepages') && ++reads === 2 ? '7\n' : nodeHostIo.read(path)),
  };
  const h = harness(t, { [HUGE.slice(1)]: '2\n' }, { io });
  const error = await rejection(doAction(stepOf([reserve(16)]), reserve(16), h.context));
  t.type(error, ActionError);
  t.equal(error.message, 'asked the kernel for 16 more 1G pages, got 5: memory is short or too fragmented; free some, or reserve them at boot (hugepages= on the kernel command line)');
  t.strictSame(h.onDisk().entries.map((e) => e.added), [5]);
});

t.test('reserve-hugepages whose count went down journals nothing added', async (t) => {
  let reads = 0;
  const io: HostIo = { ...nodeHostIo, read: (path) => (++reads === 2 ? '1\n' : nodeHostIo.read(path)) };
  const h = harness(t, { [HUGE.slice(1)]: '2\n' }, { io });
  const error = await rejection(doAction(stepOf([reserve(4)]), reserve(4), h.context));
  t.equal(error.message, 'asked the kernel for 4 more 1G pages, got -1: memory is short or too fragmented; free some, or reserve them at boot (hugepages= on the kernel command line)');
  t.strictSame(h.onDisk().entries.map((e) => e.added), [0]);
});

t.test('reserve-hugepages on a file without a count', async (t) => {
  const h = harness(t, { [HUGE.slice(1)]: 'many\n' });
  const error = await rejection(doAction(stepOf([reserve(4)]), reserve(4), h.context));
  t.equal(error.message, `${h.at(HUGE.slice(1))} does not hold a page count`);
  t.strictSame(h.journal.state.entries, []);
});

t.test('reserve-hugepages on an empty file', async (t) => {
  const h = harness(t, { [HUGE.slice(1)]: '' });
  const error = await rejection(doAction(stepOf([reserve(4)]), reserve(4), h.context)).catch((e: Error) => e);
  t.equal(error.message, `${h.at(HUGE.slice(1))} does not hold a page count`, 'an empty answer is no count');
});

t.test('wrap does nothing on the host', async (t) => {
  const h = harness(t, {});
  const wrap: StepAction = { do: { kind: 'wrap', argv: ['prlimit', '--memlock=1:1'] }, undo: [] };
  t.strictSame(await doAction(stepOf([wrap]), wrap, h.context), []);
  t.strictSame(h.journal.state.entries, []);
});

t.test('undo-only actions are not something a step does', async (t) => {
  const h = harness(t, {});
  for (const action of [{ kind: 'restore', path: '/x' }, { kind: 'rmdir', path: '/x' }, { kind: 'remove-dir', path: '/x' }, { kind: 'restore-owner', path: '/x' }, { kind: 'release-hugepages', path: '/x' }, { kind: 'restore-irq-affinity' }, { kind: 'remove-file', path: '/x' }, { kind: 'stop-helper', name: 'swtpm', timeoutMs: 1 }] as Action[]) {
    const error = await rejection(doAction(stepOf(), { do: action, undo: [] }, h.context));
    t.type(error, ActionError);
    t.equal(error.message, `${action.kind} is not something a step does (it only undoes)`);
  }
});

const entryOf = (extra: Partial<JournalEntry> = {}): JournalEntry => ({ n: 3, step: 'test-step', phase: 'prepare', undo: [], ...extra });

t.test('restore on a fake sysroot writes the journaled old text back, once per teardown', async (t) => {
  const path = '/sys/bus/pci/devices/0000:01:00.0/driver_override';
  const h = harness(t, { [path.slice(1)]: 'vfio-pci\n' });
  const oldValues = new Map([[path, '(null)\n']]);
  const restored = new Set<string>();
  t.strictSame(await undoAction({ kind: 'restore', path }, entryOf(), h.context, oldValues, restored), []);
  t.equal(h.text(path.slice(1)), '(null)\n', 'the text as it was');
  t.strictSame([...restored], [path]);
  nodeHostIo.write(h.at(path.slice(1)), 'changed since\n');
  await undoAction({ kind: 'restore', path }, entryOf(), h.context, oldValues, restored);
  t.equal(h.text(path.slice(1)), 'changed since\n', 'not written a second time');
  await undoAction({ kind: 'restore', path }, entryOf(), h.context, oldValues, new Set());
  t.equal(h.text(path.slice(1)), '(null)\n', 'a new teardown restores again');
});

t.test('restore without a journaled old value writes nothing', async (t) => {
  const h = harness(t, { 'sys/x': 'now\n' });
  const restored = new Set<string>();
  t.strictSame(await undoAction({ kind: 'restore', path: '/sys/x' }, entryOf(), h.context, new Map(), restored), []);
  t.equal(h.text('sys/x'), 'now\n');
  t.equal(restored.size, 0);
});

t.test('restore on a fake sysroot: the exact old text even without a final newline', async (t) => {
  const h = harness(t, { 'sys/x': '0\n', 'sys/empty': 'set\n' });
  await undoAction({ kind: 'restore', path: '/sys/x' }, entryOf(), h.context, new Map([['/sys/x', '1']]), new Set());
  t.equal(h.text('sys/x'), '1', 'as it was: no newline added');
  await undoAction({ kind: 'restore', path: '/sys/empty' }, entryOf(), h.context, new Map([['/sys/empty', '']]), new Set());
  t.equal(h.text('sys/empty'), '', 'an empty file stays empty');
});

t.test('restore on the live host turns (null) into an empty write', async (t) => {
  const override = '/sys/bus/pci/devices/0000:01:00.0/driver_override';
  const governor = '/sys/devices/system/cpu/cpu2/cpufreq/scaling_governor';
  const memory = memoryIo({ [override]: 'vfio-pci\n', [governor]: 'performance\n' });
  const h = harness(t, {}, { io: memory.io, live: true });
  const oldValues = new Map([[override, '(null)\n'], [governor, 'powersave\n']]);
  const restored = new Set<string>();
  await undoAction({ kind: 'restore', path: override }, entryOf(), h.context, oldValues, restored);
  await undoAction({ kind: 'restore', path: governor }, entryOf(), h.context, oldValues, restored);
  await undoAction({ kind: 'restore', path: override }, entryOf(), h.context, oldValues, restored);
  t.strictSame(memory.writes, [`${override}=\n`, `${governor}=powersave\n`]);
});

t.test('undo trigger and run', async (t) => {
  const h = harness(t, { 'sys/bus/pci/drivers/nvidia/bind': '' });
  t.strictSame(await undoAction({ kind: 'trigger', path: '/sys/bus/pci/drivers/nvidia/bind', value: '0000:01:00.0' }, entryOf(), h.context, new Map(), new Set()), []);
  t.equal(h.text('sys/bus/pci/drivers/nvidia/bind'), '0000:01:00.0\n');
  t.strictSame(await undoAction({ kind: 'run', argv: ['systemctl', 'set-property', 'user.slice', 'AllowedCPUs='] }, entryOf(), h.context, new Map(), new Set()), [`logged, not run: systemctl set-property user.slice AllowedCPUs= (${h.root} is not the live host)`]);
  t.strictSame(h.commands, []);
  const live = harness(t, {}, { io: memoryIo({}).io, live: true });
  t.strictSame(await undoAction({ kind: 'run', argv: ['systemctl', 'y'] }, entryOf(), live.context, new Map(), new Set()), []);
  t.strictSame(live.commands, [['systemctl', 'y']]);
});

t.test('undo rmdir removes the directory when it is there', async (t) => {
  const h = harness(t, {});
  mkdirSync(h.at('run/boot-vm/hugepages'), { recursive: true });
  t.strictSame(await undoAction({ kind: 'rmdir', path: '/run/boot-vm/hugepages' }, entryOf(), h.context, new Map(), new Set()), []);
  t.equal(nodeHostIo.exists(h.at('run/boot-vm/hugepages')), false);
  t.strictSame(await undoAction({ kind: 'rmdir', path: '/run/boot-vm/hugepages' }, entryOf(), h.context, new Map(), new Set()), [], 'gone already: nothing to do');
});

t.test('undo remove-dir removes the directory and what QEMU left in it', async (t) => {
  const h = harness(t, { 'run/boot-vm/vm/qemu.pid': '1234\n', 'run/boot-vm/vm/qmp.sock': '' });
  t.strictSame(await undoAction({ kind: 'remove-dir', path: '/run/boot-vm/vm' }, entryOf(), h.context, new Map(), new Set()), []);
  t.strictSame(readdirSync(h.at('run/boot-vm')), []);
  t.strictSame(await undoAction({ kind: 'remove-dir', path: '/run/boot-vm/vm' }, entryOf(), h.context, new Map(), new Set()), [], 'gone already: nothing to do');
});

t.test('restore-owner without a journaled owner, or on a file gone with its device, does nothing', async (t) => {
  const h = harness(t, { 'dev/vfio/1': '' });
  if (isRoot) chownSync(h.at('dev/vfio/1'), 65534, 65534);
  const before = statSync(h.at('dev/vfio/1'));
  t.strictSame(await undoAction({ kind: 'restore-owner', path: '/dev/vfio/1' }, entryOf(), h.context, new Map(), new Set()), []);
  t.strictSame([statSync(h.at('dev/vfio/1')).uid, statSync(h.at('dev/vfio/1')).mode], [before.uid, before.mode]);
  t.strictSame(await undoAction({ kind: 'restore-owner', path: '/dev/vfio/9' }, entryOf({ owner: { uid: 0, gid: 0, mode: 0o600 } }), h.context, new Map(), new Set()), []);
  t.equal(nodeHostIo.exists(h.at('dev/vfio/9')), false);
});

t.test('release-hugepages gives back exactly what the reserve added', async (t) => {
  const h = harness(t, { [HUGE.slice(1)]: '20\n' });
  const release: Action = { kind: 'release-hugepages', path: HUGE };
  t.strictSame(await undoAction(release, entryOf({ added: 16 }), h.context, new Map(), new Set()), ['16 pages given back']);
  t.equal(h.text(HUGE.slice(1)), '4\n');
  t.strictSame(await undoAction(release, entryOf({ added: 0 }), h.context, new Map(), new Set()), []);
  t.strictSame(await undoAction(release, entryOf(), h.context, new Map(), new Set()), []);
  t.equal(h.text(HUGE.slice(1)), '4\n', 'nothing added: nothing given back');
  t.strictSame(await undoAction(release, entryOf({ added: 9 }), h.context, new Map(), new Set()), ['9 pages given back']);
  t.equal(h.text(HUGE.slice(1)), '0\n', 'never below zero');
});

t.test('restore-irq-affinity writes old values back, skipping IRQs that are gone', async (t) => {
  const h = harness(t, { 'proc/irq/5/smp_affinity_list': '0-1\n', 'proc/irq/9/smp_affinity_list': '0-1\n' });
  const entry = entryOf({ irqs: { '5': '0-7', '9': '2\n', '130': '0-3' } });
  t.strictSame(await undoAction({ kind: 'restore-irq-affinity' }, entry, h.context, new Map(), new Set()), []);
  t.equal(h.text('proc/irq/5/smp_affinity_list'), '0-7\n');
  t.equal(h.text('proc/irq/9/smp_affinity_list'), '2\n');
  t.equal(nodeHostIo.exists(h.at('proc/irq/130')), false, 'a vanished IRQ is not created');
  t.strictSame(await undoAction({ kind: 'restore-irq-affinity' }, entryOf(), h.context, new Map(), new Set()), [], 'no IRQs journaled');
});

t.test('restore-irq-affinity reports what the kernel refused and goes on', async (t) => {
  const io: HostIo = {
    ...nodeHostIo,
    write(path, text) {
      if (path.includes('/irq/5/') || path.includes('/irq/7/')) throw errno('EIO', 'i/o error', 'write', path);
      nodeHostIo.write(path, text);
    },
  };
  const h = harness(t, { 'proc/irq/5/smp_affinity_list': '0-1\n', 'proc/irq/7/smp_affinity_list': '0-1\n', 'proc/irq/9/smp_affinity_list': '0-1\n' }, { io });
  const notes = await undoAction({ kind: 'restore-irq-affinity' }, entryOf({ irqs: { '5': '0-7', '7': '0-7', '9': '0-7' } }), h.context, new Map(), new Set());
  t.strictSame(notes, ['the kernel refused IRQ 5: EIO (i/o error), IRQ 7: EIO (i/o error)']);
  t.equal(h.text('proc/irq/9/smp_affinity_list'), '0-7\n');
});

t.test('do-only actions cannot undo anything', async (t) => {
  const h = harness(t, {});
  for (const action of [{ kind: 'set', path: '/x', value: '1' }, { kind: 'mkdir', path: '/x' }, { kind: 'wrap', argv: [] }, { kind: 'copy-file', from: '/a', to: '/b', mode: 0o600 }, { kind: 'chown', path: '/x', owner: NOBODY }, { kind: 'set-owner', path: '/x', mode: 0o600 }, { kind: 'create-file', path: '/x', mode: 0o600 }, { kind: 'wait-char-device', path: '/x', timeoutMs: 1 }, { kind: 'make-kept-dir', path: '/x', mode: 0o700 }, { kind: 'start-helper', name: 'swtpm', argv: ['swtpm'], socket: '/x', log: '/y', timeoutMs: 1 }] as Action[]) {
    const error = await rejection(undoAction(action, entryOf(), h.context, new Map(), new Set()));
    t.type(error, ActionError);
    t.equal(error.message, `${action.kind} cannot undo anything`);
  }
});

t.test('stop-service on the live host: stopped and journaled when active; left alone, and not started afterwards, when not', async (t) => {
  const memory = memoryIo({});
  const inactive = new Set(['sddm']);
  const h = harness(t, {}, {
    io: memory.io,
    live: true,
    runCommand: async (argv) => {
      h.commands.push(argv);
      if (argv[1] === 'is-active' && inactive.has(argv.at(-1)!)) throw new ActionError(`${argv.join(' ')}: exit code 3`);
    },
  });
  const stop = (unit: string): StepAction => ({ do: { kind: 'stop-service', unit }, undo: [{ kind: 'run', argv: ['systemctl', 'start', unit] }] });
  t.strictSame(await doAction(stepOf([stop('display-manager')]), stop('display-manager'), h.context), []);
  t.strictSame(await doAction(stepOf([stop('sddm')]), stop('sddm'), h.context), ['sddm is not running: left alone']);
  t.strictSame(h.commands, [['systemctl', 'is-active', '--quiet', 'display-manager'], ['systemctl', 'stop', 'display-manager'], ['systemctl', 'is-active', '--quiet', 'sddm']]);
  t.strictSame(h.onDisk().entries.map((entry) => entry.undo), [[{ kind: 'run', argv: ['systemctl', 'start', 'display-manager'] }]], 'only the unit stopped is started again');
});

t.test('stop-service on a fake host: logged and journaled, as if the unit ran', async (t) => {
  const h = harness(t, {});
  const stop: StepAction = { do: { kind: 'stop-service', unit: 'gdm' }, undo: [{ kind: 'run', argv: ['systemctl', 'start', 'gdm'] }] };
  t.strictSame(await doAction(stepOf([stop]), stop, h.context), [`logged, not run: systemctl is-active --quiet gdm && systemctl stop gdm (${h.root} is not the live host)`]);
  t.equal(h.journal.state.entries.length, 1);
});

/** A fake host with an AMD GPU at 0000:03:00.0 on amdgpu (card1, renderD128) and these modules: name → [refcnt, holders]. */
function gpuHarness(t: Test, modules: Record<string, [number, string[]]>): Harness {
  const files: Record<string, string> = {};
  for (const [module, [refcnt]] of Object.entries(modules)) files[`sys/module/${module}/refcnt`] = `${refcnt}\n`;
  const h = harness(t, files);
  for (const [module, [, holders]] of Object.entries(modules)) {
    mkdirSync(h.at(`sys/module/${module}/holders`));
    for (const holder of holders) symlinkSync(`../../${holder}`, h.at(`sys/module/${module}/holders/${holder}`));
  }
  mkdirSync(h.at('sys/bus/pci/devices/0000:03:00.0'), { recursive: true });
  mkdirSync(h.at('sys/bus/pci/drivers/amdgpu'), { recursive: true });
  symlinkSync('../../../bus/pci/drivers/amdgpu', h.at('sys/bus/pci/devices/0000:03:00.0/driver'));
  for (const node of ['card1', 'renderD128']) {
    mkdirSync(h.at(`sys/class/drm/${node}`), { recursive: true });
    symlinkSync('../../../bus/pci/devices/0000:03:00.0', h.at(`sys/class/drm/${node}/device`));
  }
  return h;
}

const unload = (modules: string[]): StepAction => ({ do: { kind: 'unload-modules', modules, devices: ['0000:03:00.0'], timeoutMs: 10_000 }, undo: [...modules].reverse().map((module) => ({ kind: 'run', argv: ['modprobe', module] })) });

t.test('unload-modules: each one unloaded is journaled with its own reload; one not loaded is noted', async (t) => {
  const h = gpuHarness(t, { amdgpu: [1, ['snd_hda_codec_hdmi']], snd_hda_codec_hdmi: [0, []] });
  const action = unload(['snd_hda_codec_hdmi', 'amdgpu_extra', 'amdgpu']);
  t.strictSame(await doAction(stepOf([action]), action, h.context), ['amdgpu_extra is not loaded', `logged, not run: rmmod snd_hda_codec_hdmi; rmmod amdgpu (${h.root} is not the live host)`]);
  t.strictSame(h.onDisk().entries.map((entry) => entry.undo), [[{ kind: 'run', argv: ['modprobe', 'snd_hda_codec_hdmi'] }], [{ kind: 'run', argv: ['modprobe', 'amdgpu'] }]], 'undone in reverse: amdgpu loaded first');
});

t.test('unload-modules refused while used, naming the modules, the count and the processes; nothing unloaded or journaled', async (t) => {
  const h = gpuHarness(t, { amdgpu: [3, ['amdxcp']], amdxcp: [0, []] });
  mkdirSync(h.at('proc/2101/fd'), { recursive: true });
  writeFileSync(h.at('proc/2101/comm'), 'kwin_wayland\n');
  symlinkSync('/dev/dri/card1', h.at('proc/2101/fd/14'));
  symlinkSync('/dev/dri/card0', h.at('proc/2101/fd/15'));
  const action = unload(['amdgpu']);
  const error = await rejection(doAction(stepOf([action]), action, h.context));
  t.equal(error.message, 'refusing to unload amdgpu while still in use: amdgpu is used by module amdxcp; amdgpu has 2 users besides modules (refcnt 3); kwin_wayland (pid 2101) has /dev/dri/card1 open; stop what uses it (add its service to host.stopServices)', "card0 is another GPU's: not named");
  t.strictSame(h.journal.state.entries, []);
});

// Helper programs (swtpm) on the live host: paths in the harness's temporary tree, stand-ins run by sh.
const helperOf = (h: Harness, script: string, timeoutMs = 10_000): StepAction => ({
  do: { kind: 'start-helper', name: 'swtpm', argv: ['sh', '-c', script], socket: h.at('run/swtpm.sock'), log: h.at('state/swtpm.log'), timeoutMs },
  undo: [{ kind: 'stop-helper', name: 'swtpm', timeoutMs }],
});
const liveHarness = (t: Test) => harness(t, { 'run/.keep': '', 'state/.keep': '' }, { io: nodeHostIo, live: true });

t.test('make-kept-dir makes the directory and its parents, the last with the mode exactly, and journals nothing: it is kept', async (t) => {
  const h = harness(t, { 'var/lib/.keep': '' });
  const make: StepAction = { do: { kind: 'make-kept-dir', path: '/var/lib/boot-vm/tpm/vm', mode: 0o700 }, undo: [] };
  t.strictSame(await doAction(stepOf([make]), make, h.context), []);
  t.equal(statSync(h.at('var/lib/boot-vm/tpm/vm')).mode & 0o7777, 0o700, 'whatever the umask');
  t.strictSame(h.journal.state.entries, [], 'nothing for a teardown to remove');
  writeFileSync(h.at('var/lib/boot-vm/tpm/vm/tpm2-00.permall'), 'the guest TPM');
  chmodSync(h.at('var/lib/boot-vm/tpm/vm'), 0o750);
  t.strictSame(await doAction(stepOf([make]), make, h.context), []);
  t.equal(statSync(h.at('var/lib/boot-vm/tpm/vm')).mode & 0o7777, 0o750, 'an existing one is left as it is');
});

t.test('start-helper on a fake sysroot is logged, not run, and journals nothing', async (t) => {
  const h = harness(t, {});
  const start: StepAction = { do: { kind: 'start-helper', name: 'swtpm', argv: ['swtpm', 'socket', '--tpm2'], socket: '/run/boot-vm/vm/swtpm.sock', log: '/var/lib/boot-vm/tpm/vm/swtpm.log', timeoutMs: 10_000 }, undo: [{ kind: 'stop-helper', name: 'swtpm', timeoutMs: 10_000 }] };
  t.strictSame(await doAction(stepOf([start]), start, h.context), [`logged, not run: swtpm socket --tpm2 2> /var/lib/boot-vm/tpm/vm/swtpm.log (${h.root} is not the live host)`]);
  t.strictSame(h.journal.state.entries, []);
});

t.test('start-helper on the live host journals the process, waits for its socket; stop-helper stops it with SIGTERM', async (t) => {
  const h = liveHarness(t);
  // A socket left by an earlier helper is removed first: the wait is for this one's.
  writeFileSync(h.at('run/swtpm.sock'), '');
  const start = helperOf(h, `echo started >&2; while [ ! -e ${h.at('run/go')} ]; do sleep 0.01; done; touch ${h.at('run/swtpm.sock')}; exec sleep 30`);
  const started = doAction(stepOf([start]), start, h.context);
  await pollUntil(() => (h.journal.state.entries.length > 0 ? true : undefined), { what: 'the helper to be journaled', timeoutMs: 5000 });
  t.notOk(nodeHostIo.exists(h.at('run/swtpm.sock')), 'the stale socket is gone before the helper makes its own');
  writeFileSync(h.at('run/go'), '');
  const notes = await started;
  const [entry] = h.onDisk().entries;
  t.strictSame(notes, [`pid ${entry!.process!.pid}`]);
  t.ok(isAlive(entry!.process), 'the journaled process is the running helper');
  t.equal(h.text('state/swtpm.log'), 'started\n', 'its stderr went to the log');
  t.strictSame(await undoAction(start.undo[0]!, entry!, h.context, new Map(), new Set()), [`swtpm (pid ${entry!.process!.pid}) stopped`]);
  t.notOk(isAlive(entry!.process));
  t.strictSame(await undoAction(start.undo[0]!, entry!, h.context, new Map(), new Set()), ['swtpm had exited'], 'stopping it again is fine');
});

t.test('a helper that exits before making its socket fails the step with its own last line; the rollback undoes the step', async (t) => {
  const h = liveHarness(t);
  const run: StepAction = { do: { kind: 'mkdir', path: h.at('run/vm') }, undo: [{ kind: 'remove-dir', path: h.at('run/vm') }] };
  const start = helperOf(h, 'echo "swtpm: Could not open UnixIO socket: Permission denied" >&2; exit 1');
  const step = stepOf([run, start]);
  const failure = await rejection(applySteps([step], h.context));
  t.equal(failure.message, `step 3 (a test step) failed: swtpm exited (status 1) before it made its socket ${h.at('run/swtpm.sock')}: swtpm: Could not open UnixIO socket: Permission denied`);
  t.equal(h.journal.state.entries.length, 2, 'the directory and the process were journaled');
  t.strictSame(await undoEntries(h.context), { failures: [] });
  t.notOk(nodeHostIo.exists(h.at('run/vm')), 'the directory made for it is gone');
  t.match(h.lines.at(-1), /undo test-step: undone \(swtpm had exited\)$/);
});

t.test('a helper that cannot be started, or makes no socket in time, fails naming what was waited for', async (t) => {
  const h = liveHarness(t);
  const missing: StepAction = { do: { ...(helperOf(h, '').do as Extract<Action, { kind: 'start-helper' }>), argv: [h.at('no-swtpm')] }, undo: [] };
  t.equal((await rejection(doAction(stepOf([missing]), missing, h.context))).message, `cannot start ${h.at('no-swtpm')}: no such file (ENOENT)`);
  t.strictSame(h.journal.state.entries, [], 'nothing started, nothing journaled');
  const slow = helperOf(h, 'echo "swtpm: still thinking" >&2; exec sleep 30', 300);
  const error = await rejection(doAction(stepOf([slow]), slow, h.context));
  const [entry] = h.onDisk().entries;
  t.match(error.message, new RegExp(`^waited 0\\.\\ds for swtpm's socket ${h.at('run/swtpm.sock')} \\(swtpm is pid ${entry!.process!.pid}\\); swtpm said: swtpm: still thinking$`));
  t.strictSame(await undoAction(slow.undo[0]!, entry!, h.context, new Map(), new Set()), [`swtpm (pid ${entry!.process!.pid}) stopped`]);
});

t.test('stop-helper kills a helper that ignores SIGTERM once its time is up', async (t) => {
  const h = liveHarness(t);
  const stubborn = helperOf(h, `trap "" TERM; touch ${h.at('run/swtpm.sock')}; while :; do sleep 0.05; done`, 300);
  await doAction(stepOf([stubborn]), stubborn, h.context);
  const [entry] = h.onDisk().entries;
  t.strictSame(await undoAction(stubborn.undo[0]!, entry!, h.context, new Map(), new Set()), [`swtpm (pid ${entry!.process!.pid}) did not exit within 0.3s of SIGTERM: killed`]);
  t.notOk(isAlive(entry!.process));
});
