/**
 * Host steps as plain data: what a launch changes on the host, in order, each change with its
 * undo. The plan builds them (reading only); lib/apply performs them and journals old values.
 * Paths are host paths (`/sys/...`); the apply layer and the renderer put them under the sysroot.
 */
import { CHRT_POLICY } from '../qemu/pinning.js';

/** In this order: prepare (the blog's on-boot.sh), launch (just before QEMU), running (once it is up). */
export type Phase = 'prepare' | 'launch' | 'running';

export type Action =
  /** A value the kernel keeps (sysctl, driver_override, a governor): the old value is journaled. `was`: its value when planned. */
  | { kind: 'set'; path: string; value: string; was?: string }
  /** Writes back the old value journaled for `path` by a `set`. */
  | { kind: 'restore'; path: string }
  /** A write-only kernel file (bind, unbind, new_id, drivers_probe): nothing to read or keep. */
  | { kind: 'trigger'; path: string; value: string }
  /** A host command; on a sysroot other than `/` it is logged, not run. */
  | { kind: 'run'; argv: string[] }
  /** Makes the directory and its missing parents; each made is journaled and removed again (the asked-for one by the step's own undo, when it has one). */
  | { kind: 'mkdir'; path: string }
  | { kind: 'rmdir'; path: string }
  /** Removes a directory boot-vm made, and what QEMU left in it (a pidfile, a QMP socket). */
  | { kind: 'remove-dir'; path: string }
  /** Copies a file into place (made beside it, then renamed), with `mode` and `owner`, its directory made if missing. Kept: nothing undoes it. */
  | { kind: 'copy-file'; from: string; to: string; mode: number; owner?: Owner }
  /** Gives a file to a user; the old owner and mode are journaled once it is done. */
  | { kind: 'chown'; path: string; owner: Owner }
  /** Gives back the owner and mode journaled for `path` by a `chown`. */
  | { kind: 'restore-owner'; path: string }
  /** Stops a systemd unit if it is active (asked when applied); only a unit it stopped is journaled, to be started again. */
  | { kind: 'stop-service'; unit: string }
  /**
   * rmmod each loaded module in order, refused (naming them) while other modules, references or
   * processes holding the `devices`' files open still use them, waited for up to `timeoutMs`.
   * Each one unloaded is journaled with its reload (modprobe); one not loaded is passed over.
   */
  | { kind: 'unload-modules'; modules: string[]; devices: string[]; timeoutMs: number }
  /** Gives a file an owner, a mode or both; the old ones are journaled once done, given back by `restore-owner`. */
  | { kind: 'set-owner'; path: string; owner?: Owner; mode?: number }
  /** Creates an empty file with `mode` and `owner`, never over one that exists; journaled once made. */
  | { kind: 'create-file'; path: string; mode: number; owner?: Owner }
  /** Removes a file a `create-file` made. */
  | { kind: 'remove-file'; path: string }
  /** Polls until `path` exists (udev may still be making it), then fails unless it is a character device. */
  | { kind: 'wait-char-device'; path: string; timeoutMs: number }
  /** Polls until the device's driver link names `driver` (the kernel binds asynchronously). */
  | { kind: 'wait-driver'; device: string; driver: string; timeoutMs: number }
  /** Raises `nr_hugepages` at `path` by `add`, reads the count back, fails with what was got. */
  | { kind: 'reserve-hugepages'; path: string; add: number; pageSize: string }
  /** Gives back exactly the pages the matching reserve added. */
  | { kind: 'release-hugepages'; path: string }
  /** Words put before the QEMU command (prlimit, systemd-run): they apply to QEMU alone. */
  | { kind: 'wrap'; argv: string[] }
  /** Waits for the devices' vfio IRQs, then sends them to the guest's CPUs and the others to the host's. */
  | { kind: 'irq-affinity'; devices: string[]; guestCpus: number[]; hostCpus: number[]; timeoutMs: number }
  | { kind: 'restore-irq-affinity' }
  /**
   * With QEMU paused (-S), its threads of one kind pinned, the thread ids asked over QMP:
   * `emulator` every thread (those made later inherit it), `iothreads` each IO thread, `vcpus`
   * vCPU n to `cpus[n]`, with the scheduler. Nothing to undo: the threads end with QEMU.
   */
  | { kind: 'pin-threads'; threads: ThreadKind; cpus: number[]; scheduler?: ThreadScheduler }
  /** Reads every thread's CPUs and policy back from /proc; any mismatch fails the launch; then QMP `cont`. */
  | { kind: 'start-guest' }
  /** Makes a directory to keep (swtpm's state), its missing parents too, the last with `mode` and `owner`. Kept: nothing undoes it. */
  | { kind: 'make-kept-dir'; path: string; mode: number; owner?: Owner }
  /**
   * Starts a program QEMU connects to (swtpm) in the background, in a process group of its own, its
   * stderr to `log`; journals its process and waits up to `timeoutMs` for it to make `socket`. On a
   * sysroot other than `/` it is logged, not run, as commands are.
   */
  | { kind: 'start-helper'; name: string; argv: string[]; socket: string; log: string; timeoutMs: number }
  /** Stops the process its `start-helper` journaled: SIGTERM, then SIGKILL after `timeoutMs`; one that has exited already is fine. */
  | { kind: 'stop-helper'; name: string; timeoutMs: number };

export type ThreadKind = 'emulator' | 'iothreads' | 'vcpus';

/** A user and its primary group, as the plan read them from the host's /etc/passwd. */
export interface Owner {
  user: string;
  uid: number;
  gid: number;
}

/** A chrt policy and priority, as /proc/<pid>/task/<tid>/stat reports them. */
export interface ThreadScheduler {
  policy: 'rr' | 'fifo' | 'other' | 'batch' | 'idle';
  priority: number;
  /** other and batch: the threads' nice value (renice). */
  nice?: number;
}

export interface StepAction {
  do: Action;
  /** Undone in reverse order of the actions done; empty when there is nothing to put back. */
  undo: Action[];
}

export interface Step {
  /** Position in the plan, from 1. */
  n: number;
  /** Stable name, such as `bind-vfio 0000:01:00.0`, for messages and the journal. */
  id: string;
  phase: Phase;
  /** One line: what the step does, and where. */
  title: string;
  /** The profile keys that asked for it. */
  from: string[];
  /** Set when this host needs nothing done: why. */
  skip?: string;
  /** Facts about this host worth showing (what was found, what stays as it is). */
  notes: string[];
  actions: StepAction[];
}

export type StepDraft = Omit<Step, 'n' | 'notes' | 'actions'> & { notes?: string[]; actions?: StepAction[] };

/** Numbers the steps in order, with their keys in one order for --json. */
export function numberSteps(drafts: StepDraft[]): Step[] {
  return drafts.map(({ id, phase, title, from, skip, notes = [], actions = [] }, i) => ({ n: i + 1, id, phase, title, from, ...(skip !== undefined ? { skip } : {}), notes, actions }));
}

/** Words put before the QEMU command by the launch steps, outermost first. */
export const wrapperWords = (steps: Step[]) =>
  steps.flatMap((step) => (step.skip ? [] : step.actions.flatMap(({ do: action }) => (action.kind === 'wrap' ? action.argv : []))));

/** A value the kernel keeps, set and restored. */
export const setValue = (path: string, value: string): StepAction => ({ do: { kind: 'set', path, value }, undo: [{ kind: 'restore', path }] });

/** chrt's policy words for a thread; -R (reset on fork) keeps a real-time policy from passing to threads it starts. */
/** chrt -R (reset on fork) for every policy: threads a vCPU thread starts get neither its policy nor a negative nice. */
export const chrtWords = ({ policy }: ThreadScheduler) => ['-R', CHRT_POLICY[policy]];
