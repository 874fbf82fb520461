/**
 * Threads-mode pinning on a QEMU started paused (-S): the thread ids come from QMP, each kind of
 * thread gets its CPUs (and the vCPUs their scheduler) as `taskset -p` and `chrt -p` would set
 * them, every thread is read back from /proc, and only then does the guest start (`cont`). A
 * mismatch is an error: the launcher then stops QEMU and undoes the launch.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { formatCpuList } from '../cpu-list.js';
import { HostStateError } from '../errors.js';
import { readThreads, type ThreadState } from '../host/threads.js';
import { chrtWords, type Action, type Step, type ThreadScheduler } from '../plan/step.js';
import { describeScheduler } from '../plan/steps/threads.js';
import { shellQuote } from '../qemu/shell-quote.js';
import type { ApplyContext } from './actions.js';
import type { QmpClient } from './qmp.js';

/** Pinning that could not be done or did not hold. */
export class PinningError extends HostStateError {}

type PinAction = Extract<Action, { kind: 'pin-threads' }>;

export type ThreadRole = { kind: 'vcpu'; index: number } | { kind: 'iothread'; id: string } | { kind: 'emulator' };

/** QEMU's own threads by id, as QMP names them; every other thread is the emulator's. */
export interface QemuThreadIds {
  vcpus: { index: number; tid: number }[];
  iothreads: { id: string; tid: number }[];
}

export async function queryThreadIds(qmp: QmpClient): Promise<QemuThreadIds> {
  const [cpus, iothreads] = await Promise.all([
    qmp.execute<{ 'cpu-index': number; 'thread-id': number }[]>('query-cpus-fast'),
    qmp.execute<{ id: string; 'thread-id': number }[]>('query-iothreads'),
  ]);
  return {
    vcpus: cpus.map((cpu) => ({ index: cpu['cpu-index'], tid: cpu['thread-id'] })).sort((a, b) => a.index - b.index),
    iothreads: iothreads.map((thread) => ({ id: thread.id, tid: thread['thread-id'] })),
  };
}

/** Each thread of the process with its role. */
export function classifyThreads(threads: ThreadState[], ids: QemuThreadIds): { thread: ThreadState; role: ThreadRole }[] {
  const roles = new Map<number, ThreadRole>();
  for (const { index, tid } of ids.vcpus) roles.set(tid, { kind: 'vcpu', index });
  for (const { id, tid } of ids.iothreads) roles.set(tid, { kind: 'iothread', id });
  return threads.map((thread) => ({ thread, role: roles.get(thread.tid) ?? { kind: 'emulator' } }));
}

const describeRole = (role: ThreadRole) => (role.kind === 'vcpu' ? `vCPU ${role.index}` : role.kind === 'iothread' ? `IO thread ${role.id}` : 'emulator');

/** The operations that pin one kind of thread: `taskset -a` is every thread of the process, the main one first. */
function opsOf(action: PinAction, pid: number, ids: QemuThreadIds): PinOp[] {
  switch (action.threads) {
    case 'emulator':
      return [pid, ...readThreads(pid).map((thread) => thread.tid).filter((tid) => tid !== pid)].map((tid) => ({ tid, cpus: action.cpus }));
    case 'iothreads':
      return ids.iothreads.map(({ tid }) => ({ tid, cpus: action.cpus }));
    case 'vcpus':
      return ids.vcpus.flatMap(({ index, tid }) => {
        const cpu = action.cpus[index];
        if (cpu === undefined) throw new PinningError(`QEMU has a vCPU ${index} that pinning.vcpus does not place`);
        return [{ tid, cpus: [cpu] }, ...(action.scheduler ? [{ tid, scheduler: action.scheduler }] : [])];
      });
  }
}

/** The commands the live host would run for one kind of thread: logged when the tree is another host's. */
function commandsOf(action: PinAction, pid: number, ids: QemuThreadIds): string {
  if (action.threads === 'emulator') return `taskset -a -p -c ${formatCpuList(action.cpus)} ${pid}`;
  return opsOf(action, pid, ids).flatMap(shellCommands).join('; ');
}

/** What the pin actions ask of each thread, to check against /proc. */
interface Expected {
  emulator?: number[];
  iothreads?: number[];
  vcpus?: number[];
  scheduler?: ThreadScheduler;
}

const sameCpus = (a: number[], b: number[]) => formatCpuList(a) === formatCpuList(b);
const isRealtimePolicy = (policy: string) => policy === 'fifo' || policy === 'rr';

/** One line per thread that is not as pinned; empty when all hold. */
export function mismatches(threads: ThreadState[], ids: QemuThreadIds, expected: Expected): string[] {
  const problems: string[] = [];
  const realtime = expected.scheduler !== undefined && isRealtimePolicy(expected.scheduler.policy);
  for (const { thread, role } of classifyThreads(threads, ids)) {
    const name = `${describeRole(role)} thread ${thread.tid} (${thread.name})`;
    const cpus = role.kind === 'vcpu' ? (expected.vcpus?.[role.index] !== undefined ? [expected.vcpus[role.index]!] : undefined) : role.kind === 'iothread' ? expected.iothreads : expected.emulator;
    if (cpus && !sameCpus(thread.allowed, cpus)) problems.push(`${name} may run on CPUs ${formatCpuList(thread.allowed)}, not ${formatCpuList(cpus)}`);
    const scheduler = expected.scheduler;
    if (role.kind === 'vcpu' && scheduler && (thread.policy !== scheduler.policy || (realtime && thread.priority !== scheduler.priority) || (scheduler.nice !== undefined && thread.nice !== scheduler.nice))) {
      problems.push(`${name} runs ${thread.policy} ${thread.priority}${scheduler.nice !== undefined ? ` nice ${thread.nice}` : ''}, not ${describeScheduler(scheduler)}`);
    }
    if (role.kind !== 'vcpu' && realtime && isRealtimePolicy(thread.policy)) problems.push(`${name} is real-time (${thread.policy} ${thread.priority}); only vCPU threads should be`);
  }
  for (const { index, tid } of ids.vcpus) if (!threads.some((thread) => thread.tid === tid)) problems.push(`vCPU ${index}'s thread ${tid} is not among QEMU's threads`);
  return problems;
}

/** One thread's CPUs, or its scheduler: what taskset -p and chrt -p do. */
export type PinOp = { tid: number; cpus: number[] } | { tid: number; scheduler: ThreadScheduler };

const POLICY_NUMBER = { other: 0, fifo: 1, rr: 2, batch: 3, idle: 5 } as const;
const SCHED_RESET_ON_FORK = 0x40000000;
/** sched_setaffinity and sched_setscheduler by architecture; elsewhere taskset and chrt run instead. */
const SYSCALLS: Partial<Record<string, [number, number]>> = { x64: [203, 144], arm64: [122, 119] };

// Perl is in every Debian-like base system (perl-base is Essential) and calls the two syscalls
// itself, and setpriority (which on Linux renices one thread). Reads `a TID CPU…`,
// `s TID POLICY PRIORITY [NICE]` and `done N` lines; stops at the first error.
const PERL_PINNER = `
$| = 1;
my ($setaffinity, $setscheduler) = @ARGV;
while (my $line = <STDIN>) {
  my ($op, @args) = split ' ', $line;
  if ($op eq 'done') { print "$args[0]\\n"; next; }
  my $tid = $args[0] + 0;
  if ($op eq 'a') {
    my $mask = "\\0" x 128;
    vec($mask, $_, 1) = 1 for @args[1 .. $#args];
    syscall($setaffinity + 0, $tid, length($mask), $mask) == 0 or die "cannot set the CPUs of thread $tid to @args[1 .. $#args]: $!\\n";
  } else {
    my $param = pack('i', $args[2]);
    syscall($setscheduler + 0, $tid, $args[1] + 0, $param) == 0 or die "cannot set the scheduler of thread $tid: $!\\n";
    if (defined $args[3]) { setpriority(0, $tid, $args[3] + 0) or die "cannot set the nice value of thread $tid to $args[3]: $!\\n"; }
  }
}
`;

/**
 * The process that pins threads, started while QEMU initialises and fed the operations once the
 * thread ids are known. A process per operation (taskset, chrt) costs about 10 ms each on a small
 * machine, more than the pinning itself: here perl makes the system calls, or, on an architecture
 * whose syscall numbers boot-vm does not know, one shell runs taskset and chrt.
 */
export class Pinner {
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  readonly #perl: boolean;
  #stdout = '';
  #stderr = '';

  constructor(env: NodeJS.ProcessEnv, arch: string = process.arch) {
    const syscalls = SYSCALLS[arch];
    this.#perl = syscalls !== undefined;
    this.#child = syscalls ? spawn('perl', ['-e', PERL_PINNER, ...syscalls.map(String)], { stdio: ['pipe', 'pipe', 'pipe'], env }) : spawn('sh', ['-e'], { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.#child.stdout!.on('data', (chunk) => (this.#stdout += chunk));
    this.#child.stderr!.on('data', (chunk) => (this.#stderr += chunk));
    this.#child.stdin!.on('error', () => {}); // a pinner that died early: its exit says why
    this.#exited = new Promise((resolve) => {
      this.#child.once('close', (code) => resolve(code));
      this.#child.once('error', (error: NodeJS.ErrnoException) => {
        this.#stderr += error.code === 'ENOENT' ? `${this.#perl ? 'perl' : 'sh'} is not installed; pinning.mode: process needs only taskset and chrt\n` : `${error.message}\n`;
        resolve(null);
      });
    });
  }

  /** Does each group of operations in order, stopping at the first failure: how many groups finished, and the failure's message. */
  async run(groups: PinOp[][]): Promise<{ finished: number; error?: string }> {
    const lines = groups.flatMap((ops, i) => [...ops.map((op) => (this.#perl ? perlLine(op) : shellLine(op))), this.#perl ? `done ${i}` : `echo ${i}`]);
    // The last group's line says everything is done: the guest need not wait for the process to exit too.
    const allDone = new Promise<number>((resolve) => {
      const check = () => this.#finished() === groups.length && resolve(0);
      this.#child.stdout!.on('data', check);
    });
    this.#child.stdin!.end(`${lines.join('\n')}\n`);
    const code = await Promise.race([allDone, this.#exited]);
    const finished = this.#finished();
    if (code === 0) return { finished };
    return { finished, error: this.#stderr.trim().split('\n').pop() || `the pinning process exited with status ${code}` };
  }

  /** Groups done so far: one line each, counted once written whole. */
  #finished(): number {
    return this.#stdout.split('\n').length - 1;
  }

  /** Ends a pinner that was not needed. */
  close(): void {
    if (this.#child.exitCode === null) this.#child.stdin!.end();
  }
}

const perlLine = (op: PinOp) =>
  'cpus' in op
    ? `a ${op.tid} ${op.cpus.join(' ')}`
    : `s ${op.tid} ${POLICY_NUMBER[op.scheduler.policy] | SCHED_RESET_ON_FORK} ${op.scheduler.priority}${op.scheduler.nice !== undefined ? ` ${op.scheduler.nice}` : ''}`;

/** What taskset, chrt and renice would do for one operation. */
const shellCommands = (op: PinOp) =>
  ('cpus' in op
    ? [['taskset', '-p', '-c', formatCpuList(op.cpus), String(op.tid)]]
    : [['chrt', ...chrtWords(op.scheduler), '-p', String(op.scheduler.priority), String(op.tid)], ...(op.scheduler.nice !== undefined ? [['renice', '-n', String(op.scheduler.nice), '-p', String(op.tid)]] : [])]
  ).map((words) => words.map(shellQuote).join(' '));

const shellLine = (op: PinOp) => shellCommands(op).map((command) => `${command} >/dev/null`).join('\n');

export interface StartGuestOptions {
  pid: number;
  qmp: QmpClient;
  context: ApplyContext;
  /** Does the pinning; only on the live host. */
  pinner?: Pinner;
}

/**
 * Applies the running steps that pin threads and start the guest, in plan order, logging each.
 * On a sysroot other than `/` the pinning belongs to another host: it is logged, not run, and the
 * guest is started unchecked.
 */
export async function startGuest(steps: Step[], { pid, qmp, context, pinner }: StartGuestOptions): Promise<void> {
  const { log, sysroot } = context;
  const ids = await queryThreadIds(qmp);
  const expected: Expected = {};
  const pins: { step: Step; action: PinAction }[] = [];
  for (const step of steps) {
    if (step.skip) log.step(step, 'skipped', step.skip);
    for (const { do: action } of step.skip ? [] : step.actions) {
      if (action.kind !== 'pin-threads') continue;
      expected[action.threads] = action.cpus;
      if (action.scheduler) expected.scheduler = action.scheduler;
      pins.push({ step, action });
    }
  }
  if (!sysroot.isLive || !pinner) {
    for (const { step, action } of pins) log.step(step, 'done', `logged, not run: ${commandsOf(action, pid, ids)} (${sysroot.root} is not the live host)`);
  } else {
    const { finished, error } = await pinner.run(pins.map(({ action }) => opsOf(action, pid, ids)));
    pins.slice(0, finished).forEach(({ step, action }) => log.step(step, 'done', describePinned(action, ids)));
    const failed = pins[finished];
    if (error !== undefined) {
      if (failed) log.step(failed.step, 'failed', error);
      throw new PinningError(failed ? `step ${failed.step.n} (${failed.step.title}) failed: ${error}` : `pinning failed: ${error}`);
    }
  }
  const start = steps.find((step) => !step.skip && step.actions.some(({ do: action }) => action.kind === 'start-guest'));
  const detail = pins.length > 0 && sysroot.isLive && pinner ? verify(pid, ids, expected) : 'not checked: nothing was pinned on this host';
  if (typeof detail !== 'string') {
    if (start) log.step(start, 'failed', detail.join('; '));
    throw new PinningError(`${start ? `step ${start.n} (${start.title}): ` : ''}${detail.join('; ')}`);
  }
  await qmp.execute('cont');
  if (start) log.step(start, 'done', `${detail}; the guest runs`);
}

function describePinned(action: PinAction, ids: QemuThreadIds): string {
  switch (action.threads) {
    case 'emulator':
      return `every thread on CPUs ${formatCpuList(action.cpus)}`;
    case 'iothreads':
      return ids.iothreads.length === 0 ? 'QEMU reports no IO threads' : ids.iothreads.map(({ id, tid }) => `${id} (thread ${tid})`).join(', ');
    case 'vcpus':
      return ids.vcpus.map(({ index, tid }) => `vCPU ${index} (thread ${tid}) → CPU ${action.cpus[index]}`).join(', ');
  }
}

/** Reads every thread back: a summary when all hold, else one line per thread that does not. */
function verify(pid: number, ids: QemuThreadIds, expected: Expected): string | string[] {
  const threads = readThreads(pid);
  if (threads.length === 0) return [`QEMU (pid ${pid}) has no threads to read in /proc/${pid}/task: it exited`];
  const problems = mismatches(threads, ids, expected);
  return problems.length > 0 ? problems : `${threads.length} threads read back from /proc/${pid}/task: each as pinned`;
}
