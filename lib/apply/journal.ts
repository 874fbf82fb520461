/**
 * The record of every change made to the host, kept at `<sysroot>/run/boot-vm/<vm>.journal` and
 * rewritten (atomically, fsynced) before or right after each change, so that teardown can put the
 * host back after a failure, a stop, or a crash of the launcher.
 */
import { BootVmError } from '../errors.js';
import type { Control } from '../plan/plan.js';
import type { Action, Phase } from '../plan/step.js';
import type { FileOwner, HostIo } from './host-io.js';
import type { ProcessRef } from './processes.js';

export interface JournalEntry {
  /** The step's number and id, for messages. */
  n: number;
  step: string;
  phase: Phase;
  /** Undo, in order, for this one change. */
  undo: Action[];
  /** A `set` action's path and the value it had. */
  path?: string;
  old?: string;
  /** Pages a `reserve-hugepages` added. */
  added?: number;
  /** Old smp_affinity_list of each IRQ an affinity step changed. */
  irqs?: Record<string, string>;
  /** The owner and mode a `chown` changed (its `path` is the file's). */
  owner?: FileOwner;
  /** The process a `start-helper` started, for its `stop-helper` (here or in a later teardown). */
  process?: ProcessRef;
}

export interface JournalState {
  version: 1;
  vm: string;
  /** The profile file and sysroot the plan was made from. */
  file: string;
  sysroot: string;
  /** Phases completed. */
  phases: Phase[];
  /** The launcher process while one runs; absent after prepare-host. */
  launcher?: ProcessRef;
  qemu?: ProcessRef;
  /** The running QEMU's pidfile and QMP socket (host paths), for vm.mjs and for removing a killed QEMU's leftovers. */
  control?: Control;
  /** Ids of the prepare steps applied, so a later launch can tell whether they still match. */
  prepared: string[];
  /** Directories made for the journal, removed with it. */
  createdDirs: string[];
  entries: JournalEntry[];
}

export const journalPath = (vm: string) => `/run/boot-vm/${vm}.journal`;

/** A journal file that cannot be read as one: the CLI says so in one line and changes nothing. */
export class JournalError extends BootVmError {}

export class Journal {
  constructor(
    readonly file: string,
    readonly state: JournalState,
    private readonly io: HostIo,
  ) {}

  /** Reads a journal; undefined when there is none; a JournalError when it is unreadable. */
  static load(file: string, io: HostIo): Journal | undefined {
    if (!io.exists(file)) return undefined;
    let state: JournalState;
    try {
      state = JSON.parse(io.read(file)) as JournalState;
    } catch (error) {
      throw new JournalError(`${file} is not a boot-vm journal (${(error as Error).message}); look at it, then remove it`);
    }
    if (state?.version !== 1 || !Array.isArray(state.entries)) throw new JournalError(`${file} is not a boot-vm journal this version understands; look at it, then remove it`);
    return new Journal(file, state, io);
  }

  save(): void {
    this.io.replace(this.file, JSON.stringify(this.state, null, 1) + '\n');
  }

  record(entry: JournalEntry): JournalEntry {
    this.state.entries.push(entry);
    this.save();
    return entry;
  }

  /** Removes the journal, and the directories made for it when they are empty again. */
  remove(): void {
    this.io.remove(this.file);
    for (const dir of [...this.state.createdDirs].reverse()) {
      try {
        this.io.rmdir(dir);
      } catch {
        // Not empty: something else keeps files there (a pidfile, another VM's journal).
      }
    }
  }
}
