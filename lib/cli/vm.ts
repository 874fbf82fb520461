/** `vm status|stats|stop|list`: the running VMs, seen, watched and stopped from another terminal. */
import { nodeHostIo } from '../apply/host-io.js';
import { createLogger } from '../apply/log.js';
import type { QemuStopper } from '../apply/stop.js';
import { findStatsTarget, SAMPLE_PERIOD_MS, watchStats, type WatchOptions } from '../apply/vm-stats.js';
import { readVmRecord, readVmRecords, readVmStatus, type VmState, type VmStatus } from '../apply/vm-state.js';
import { stopVm } from '../apply/vm-stop.js';
import { formatPciAddress, parsePciAddress } from '../pci-address.js';
import { BootVmError, UsageError } from '../errors.js';
import type { Sysroot } from '../host/sysroot.js';
import { listProfiles, profileSearchPath, vmNameOf } from '../profile/find.js';
import { loadProfile } from '../profile/load.js';
import { REDRAW, renderStatsJson, renderStatsText } from '../inspect/render-vcpu-stats.js';
import { intervalStats } from '../inspect/vcpu-stats.js';
import { openSysroot, type CliOutput } from './inspect-options.js';
import { parseSeconds } from './seconds.js';

export { default as minimist } from 'minimist';
export { runCli, unknownOption } from './run.js';
export { UsageError } from '../errors.js';

export const VM_USAGE = `Usage: vm status <profile> [--json] [--sysroot DIR]
       vm stats <profile> [--interval S] [--count N] [--json] [--sysroot DIR]
       vm stop <profile> [--timeout S] [--json] [--sysroot DIR]
       vm list [--json] [--sysroot DIR]

The VMs boot-vm runs, from another terminal. <profile> is what boot-vm took: a name or a path.

  status   running or not; the launcher's and QEMU's pids, uptime, the guest's run state (QMP),
           each QEMU thread (kind, allowed CPUs, policy and priority, the CPU it last ran on)
           read from /proc, the passed devices and their drivers, huge pages in use
  stats    how the vCPU threads get their CPUs, once per interval: per vCPU its time on a CPU
           and its run delay (runnable but waiting for a CPU: the stutter) in ms/s, its longest
           single wait, voluntary and involuntary switches/s, its CPU, allowed CPUs and policy;
           the emulator threads' run delay; interrupts/s on the vCPUs' CPUs and the other tasks
           found runnable there. Warns "RT-throttled" when a real-time vCPU nears the kernel's
           real-time budget or waits out its stall, "not alone" when other tasks share a vCPU's
           CPU. Each vCPU's schedstat is read every ${SAMPLE_PERIOD_MS} ms, less often (up to every 50 ms)
           when that costs over 1 % of a CPU. A table redrawn in place on a terminal, until
           Ctrl-C or --count intervals
  stop     runs the beforeStop hook the launch's profile has (hooks), then
           presses the guest's power button (ACPI), waits up to S seconds (default 120) for it
           to shut down, then asks QEMU to quit, then kills it; says which step ended it. The
           launcher then puts the host back; when it is gone, stop does. Ctrl-C skips a wait.
  list     every profile on the search path (./profiles, $BOOT_VM_PROFILES,
           /etc/boot-vm/profiles) and every VM boot-vm has a journal for, with its state

      --json           one JSON object (list: an array) on stdout; stats: one per interval, a line each
      --interval S     stats: seconds per interval (default 1)
      --count N        stats: stop after N intervals
      --timeout S      stop: seconds the guest has to shut down (default 120)
      --sysroot DIR    the host's /run, /sys and /proc are under DIR
  -h, --help           show this help

Exit status: status: 0 running, 1 not running; stats: 0 after --count intervals, 1 not running
or QEMU exited while watched; stop and list: 0 done, 1 could not stop or put the host back;
2 bad input.
`;

export interface VmCliOptions {
  verb: string;
  profile?: string;
  json: boolean;
  timeout?: string;
  interval?: string;
  count?: string;
  sysroot?: string;
}

/** What a verb needs of the process beyond its options: stats writes as it goes, stop hands out its stopper. */
export interface VmCliHooks {
  onStopper?: (stopper: Pick<QemuStopper, 'escalate'>) => void;
  stdout?: { write(text: string): void; isTTY?: boolean };
}

const VERBS = ['status', 'stats', 'stop', 'list'];

export async function vmCli(options: VmCliOptions, cwd: string, env: NodeJS.ProcessEnv, hooks: VmCliHooks = {}): Promise<CliOutput> {
  if (!VERBS.includes(options.verb)) throw new UsageError(`unknown verb "${options.verb}": expected status, stats, stop or list (see --help)`);
  if (options.verb === 'list' ? options.profile !== undefined : options.profile === undefined) {
    throw new UsageError(options.verb === 'list' ? 'list takes no profile' : `${options.verb} which profile? (see --help)`);
  }
  if (options.timeout !== undefined && options.verb !== 'stop') throw new UsageError('--timeout goes with stop');
  for (const [name, value] of [['interval', options.interval], ['count', options.count]] as const) {
    if (value !== undefined && options.verb !== 'stats') throw new UsageError(`--${name} goes with stats`);
  }
  const timeoutMs = parseSeconds('--timeout', options.timeout ?? '120');
  const intervalMs = parseSeconds('--interval', options.interval ?? '1');
  if (intervalMs === 0) throw new UsageError(`--interval: expected at least 0.001 seconds, got "${options.interval}"`);
  if (options.count !== undefined && !/^[1-9]\d*$/.test(options.count.trim())) throw new UsageError(`--count: expected a whole number of intervals, 1 or more, got "${options.count}"`);
  const sysroot = openSysroot(options.sysroot);
  if (options.verb === 'list') return list(sysroot, cwd, env, options.json);
  const vm = vmNameOf(options.profile!);
  if (options.verb === 'status') return status(vm, options.profile!, sysroot, cwd, env, options.json);
  if (options.verb === 'stats') {
    const stdout = hooks.stdout ?? process.stdout;
    return stats(vm, sysroot, { intervalMs, ...(options.count !== undefined ? { count: Number(options.count) } : {}) }, options.json, stdout);
  }
  const log = createLogger({ mode: options.json ? 'json' : 'text', total: 0 });
  const result = await stopVm(vm, { sysroot, io: nodeHostIo, log, env, timeoutMs, ...(hooks.onStopper ? { onStopper: hooks.onStopper } : {}) });
  if (options.json) return { stdout: `${JSON.stringify({ vm, ...result })}\n`, stderr: [], exitCode: 0 };
  const how = result.outcome === 'not-running' ? 'was not running' : `stopped in ${result.seconds.toFixed(1)}s: ${ENDED_BY[result.outcome]}`;
  return { stdout: `${vm} ${how}; ${result.host}\n`, stderr: [], exitCode: 0 };
}

const ENDED_BY = {
  powerdown: 'the guest shut down after the ACPI power button',
  quit: 'QEMU quit (QMP quit)',
  kill: 'QEMU was killed (SIGKILL)',
  exited: 'QEMU exited on its own',
} as const;

async function status(vm: string, reference: string, sysroot: Sysroot, cwd: string, env: NodeJS.ProcessEnv, json: boolean): Promise<CliOutput> {
  // The devices come from the profile; a profile edited into an invalid one since the launch still gets a status.
  const stderr: string[] = [];
  let devices: string[] = [];
  try {
    devices = loadProfile(reference, { cwd, env }).profile.passthrough.map((device) => formatPciAddress(parsePciAddress(device.host)!));
  } catch (error) {
    if (!(error instanceof BootVmError)) throw error;
    stderr.push(`vm: warning: the passed devices are not shown: ${error.lines()[0]}`);
  }
  const report = await readVmStatus(vm, devices, sysroot, nodeHostIo);
  const exitCode = report.state === 'running' ? 0 : 1;
  return { stdout: json ? `${JSON.stringify(report, null, 1)}\n` : renderStatus(report), stderr, exitCode };
}

/** Prints an interval's stats as each ends: JSON lines, a block per interval, or one table redrawn on a terminal. */
async function stats(vm: string, sysroot: Sysroot, watch: WatchOptions, json: boolean, stdout: NonNullable<VmCliHooks['stdout']>): Promise<CliOutput> {
  const record = readVmRecord(vm, sysroot, nodeHostIo);
  if (!record.qemu) throw new BootVmError(`${vm}: ${STATE_TEXT[record.state]}`);
  const target = await findStatsTarget(vm, { ...record, qemu: record.qemu }, sysroot);
  const redraw = !json && stdout.isTTY === true;
  let first = true;
  await watchStats(target, watch, (before, after) => {
    const interval = intervalStats(vm, before, after);
    stdout.write(json ? renderStatsJson(interval) : `${redraw ? REDRAW : first ? '' : '\n'}${renderStatsText(interval)}`);
    first = false;
  });
  return { stdout: '', stderr: [], exitCode: 0 };
}

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m ${String(s).padStart(2, '0')}s` : `${s}s`;
}

const STATE_TEXT: Record<VmState, string> = {
  running: 'running',
  starting: 'starting (the launcher is applying its steps)',
  prepared: 'not running; the host is prepared for it (prepare-host)',
  leftover: 'not running; a run ended without putting the host back: run scripts/teardown.mjs',
  stopped: 'not running',
};

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => `  ${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd());
}

function renderStatus(report: VmStatus): string {
  const lines = [`${report.vm}: ${STATE_TEXT[report.state]}`];
  if (report.qemu) lines.push(`QEMU: pid ${report.qemu.pid}, up ${duration(report.qemu.uptimeSeconds)}; launcher: ${report.launcher ? `pid ${report.launcher.pid}` : 'gone (scripts/teardown.mjs puts the host back after QEMU exits)'}`);
  else if (report.launcher) lines.push(`launcher: pid ${report.launcher.pid}`);
  if (report.qemu) lines.push(`guest: ${report.runState ?? `unknown (${report.runStateError})`}`);
  if (report.threads.length > 0) {
    lines.push('threads:');
    const kind = (thread: VmStatus['threads'][number]) => (thread.kind === 'vcpu' ? `vCPU ${thread.index}` : thread.kind === 'iothread' ? `IO ${thread.id}` : 'emulator');
    const policy = (thread: VmStatus['threads'][number]) => (thread.policy === 'fifo' || thread.policy === 'rr' ? `${thread.policy} ${thread.priority}` : thread.nice !== 0 ? `${thread.policy} nice ${thread.nice}` : thread.policy);
    const order = { vcpu: 0, iothread: 1, emulator: 2 } as const;
    const threads = [...report.threads].sort((a, b) => order[a.kind] - order[b.kind] || (a.index ?? 0) - (b.index ?? 0) || a.tid - b.tid);
    lines.push(...table([['kind', 'tid', 'CPUs', 'policy', 'last CPU', 'name'], ...threads.map((thread) => [kind(thread), String(thread.tid), thread.allowed, policy(thread), String(thread.cpu), thread.name])]));
  }
  if (report.devices.length > 0) {
    lines.push('devices:');
    lines.push(...table(report.devices.map((device) => [device.address, device.driver ?? '(no driver)'])));
  }
  for (const pool of report.hugepages) {
    lines.push(`huge pages ${pool.pageSize}: ${pool.total - pool.free} of ${pool.total} in use${pool.addedByVm > 0 ? `; ${pool.addedByVm} reserved for this run` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

function list(sysroot: Sysroot, cwd: string, env: NodeJS.ProcessEnv, json: boolean): CliOutput {
  const records = readVmRecords(sysroot, nodeHostIo);
  const rows: { vm: string; state: VmState; file: string | null; qemuPid?: number; launcherPid?: number }[] = [];
  const seen = new Set<string>();
  for (const { name, file } of listProfiles(profileSearchPath(cwd, env))) {
    seen.add(name);
    rows.push(rowOf(name, file, records.get(name) ?? { state: 'stopped' }));
  }
  for (const [vm, record] of records) if (!seen.has(vm)) rows.push(rowOf(vm, null, record));
  if (json) return { stdout: `${JSON.stringify(rows, null, 1)}\n`, stderr: [], exitCode: 0 };
  if (rows.length === 0) return { stdout: `no profiles in ${profileSearchPath(cwd, env).join(', ')}\n`, stderr: [], exitCode: 0 };
  const state = (row: (typeof rows)[number]) => (row.state === 'running' ? `running (QEMU pid ${row.qemuPid})` : row.state === 'leftover' ? 'leftover: run scripts/teardown.mjs' : row.state);
  return { stdout: `${table([['vm', 'state', 'profile'], ...rows.map((row) => [row.vm, state(row), row.file ?? '(not on the search path)'])]).join('\n')}\n`, stderr: [], exitCode: 0 };
}

function rowOf(vm: string, file: string | null, record: ReturnType<typeof readVmRecord>) {
  return { vm, state: record.state, file, ...(record.qemu ? { qemuPid: record.qemu.pid } : {}), ...(record.launcher ? { launcherPid: record.launcher.pid } : {}) };
}
