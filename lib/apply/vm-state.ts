/**
 * What `vm.mjs status` and `list` report of a VM: its journal says whether boot-vm runs it and
 * where QEMU is; /proc says how its threads run; QMP says what the guest is doing.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { formatCpuList } from '../cpu-list.js';
import type { Sysroot } from '../host/sysroot.js';
import { readHugepagePool, readHugepageSizes } from '../host/hugepages.js';
import { readPciDriver } from '../host/pci.js';
import { readThreads } from '../host/threads.js';
import type { HostIo } from './host-io.js';
import { Journal, JournalError } from './journal.js';
import { isAlive, type ProcessRef } from './processes.js';
import { withQmp } from './qmp.js';
import { isPreparedOnly, journalFileOf } from './session.js';
import { classifyThreads, queryThreadIds, type QemuThreadIds, type ThreadRole } from './thread-pinning.js';

/** `running`: QEMU runs; `starting`: the launcher is applying steps; `prepared`: prepare-host's steps await a launch; `leftover`: a run ended without putting the host back. */
export type VmState = 'running' | 'starting' | 'prepared' | 'leftover' | 'stopped';

export interface VmRecord {
  state: VmState;
  journal?: Journal;
  launcher?: ProcessRef;
  qemu?: ProcessRef;
}

/** The VM's state from its journal (none: stopped). An unreadable journal is a JournalError. */
export function readVmRecord(vm: string, sysroot: Sysroot, io: HostIo): VmRecord {
  const journal = Journal.load(journalFileOf(sysroot, vm), io);
  if (!journal) return { state: 'stopped' };
  const { launcher, qemu } = journal.state;
  const live = { journal, ...(isAlive(launcher) ? { launcher } : {}), ...(isAlive(qemu) ? { qemu } : {}) };
  if (live.qemu) return { state: 'running', ...live };
  if (live.launcher) return { state: 'starting', ...live };
  return { state: isPreparedOnly(journal) ? 'prepared' : 'leftover', ...live };
}

/** Every VM with a journal under the sysroot's /run/boot-vm, by name. */
export function readVmRecords(sysroot: Sysroot, io: HostIo): Map<string, VmRecord> {
  const records = new Map<string, VmRecord>();
  let names: string[];
  try {
    names = readdirSync(sysroot.path('/run/boot-vm'));
  } catch {
    return records;
  }
  for (const name of names.sort()) {
    if (!name.endsWith('.journal')) continue;
    const vm = name.slice(0, -'.journal'.length);
    try {
      records.set(vm, readVmRecord(vm, sysroot, io));
    } catch (error) {
      if (!(error instanceof JournalError)) throw error;
      records.set(vm, { state: 'leftover' });
    }
  }
  return records;
}

export interface ThreadStatus {
  kind: ThreadRole['kind'];
  /** vCPU index, or the IO thread's id. */
  index?: number;
  id?: string;
  tid: number;
  name: string;
  allowed: string;
  policy: string;
  priority: number;
  nice: number;
  /** The CPU it ran on last. */
  cpu: number;
}

export interface VmStatus {
  vm: string;
  state: VmState;
  launcher?: { pid: number };
  qemu?: { pid: number; uptimeSeconds: number };
  /** QMP query-status's `status` (running, paused, prelaunch, shutdown…), or why it is unknown. */
  runState?: string;
  runStateError?: string;
  threads: ThreadStatus[];
  devices: { address: string; driver: string | null }[];
  hugepages: { pageSize: string; total: number; free: number; addedByVm: number }[];
}

const QMP_TIMEOUT_MS = 3_000;
// /proc reports process start times in USER_HZ ticks, 100 a second on every architecture Linux exports it for.
const USER_HZ = 100;

/** This machine's /proc, as for the threads: QEMU runs here whatever tree the VM was planned against. */
function uptimeOf(qemu: ProcessRef): number {
  const now = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return Math.max(0, Math.round(now - Number(qemu.start) / USER_HZ));
}

/** Where the VM is now: journal, /proc and, while QEMU runs, QMP (opened once, closed at once). */
export async function readVmStatus(vm: string, devices: string[], sysroot: Sysroot, io: HostIo): Promise<VmStatus> {
  const record = readVmRecord(vm, sysroot, io);
  const status: VmStatus = { vm, state: record.state, threads: [], devices: [], hugepages: [] };
  if (record.launcher) status.launcher = { pid: record.launcher.pid };
  const qemu = record.qemu;
  if (qemu) {
    status.qemu = { pid: qemu.pid, uptimeSeconds: uptimeOf(qemu) };
    let ids: QemuThreadIds = { vcpus: [], iothreads: [] };
    const control = record.journal?.state.control;
    if (!control) status.runStateError = 'the journal does not name the QMP socket';
    else {
      try {
        await withQmp(sysroot.path(control.qmp), { timeoutMs: QMP_TIMEOUT_MS, isAlive: () => isAlive(qemu) }, async (qmp) => {
          status.runState = (await qmp.execute<{ status: string }>('query-status')).status;
          ids = await queryThreadIds(qmp);
        });
      } catch (error) {
        status.runStateError = error instanceof Error ? error.message : String(error);
      }
    }
    status.threads = classifyThreads(readThreads(qemu.pid), ids).map(({ thread, role }) => ({
      kind: role.kind,
      ...(role.kind === 'vcpu' ? { index: role.index } : role.kind === 'iothread' ? { id: role.id } : {}),
      tid: thread.tid,
      name: thread.name,
      allowed: formatCpuList(thread.allowed),
      policy: thread.policy,
      priority: thread.priority,
      nice: thread.nice,
      cpu: thread.cpu,
    }));
  }
  status.devices = devices.map((address) => ({ address, driver: readPciDriver(sysroot, address) ?? null }));
  const added = addedPages(record.journal);
  for (const size of readHugepageSizes(sysroot)) {
    const pool = readHugepagePool(sysroot, size);
    if (!pool || pool.total === 0) continue;
    status.hugepages.push({ pageSize: `${size / 1024}kB`, total: pool.total, free: pool.free, addedByVm: added.get(`hugepages-${size / 1024}kB`) ?? 0 });
  }
  return status;
}

/** Pages the VM's run reserved, host-wide or on a node, by pool (`hugepages-2048kB`). */
function addedPages(journal: Journal | undefined): Map<string, number> {
  const added = new Map<string, number>();
  for (const entry of journal?.state.entries ?? []) {
    const release = entry.undo.find((action) => action.kind === 'release-hugepages');
    const pool = release && 'path' in release ? /hugepages-\d+kB/.exec(release.path)?.[0] : undefined;
    if (pool) added.set(pool, (added.get(pool) ?? 0) + (entry.added ?? 0));
  }
  return added;
}
