/** Does one planned action on the host and journals it; undoes a journaled one. */
import { basename, dirname } from 'node:path';
import type { Sysroot } from '../host/sysroot.js';
import { restoredText } from '../plan/render-steps.js';
import type { Action, Owner, Step, StepAction } from '../plan/step.js';
import { stopService, unloadModules } from './handoff.js';
import { reloadModule } from '../plan/steps/handoff.js';
import { startHelper, stopHelper } from './helper-process.js';
import { describeError, type FileOwner, type HostIo } from './host-io.js';
import type { Journal, JournalEntry } from './journal.js';
import type { Logger } from './log.js';
import { pollUntil } from './poll.js';

/** A step's action that failed, with the kernel's (or the command's) answer. */
export class ActionError extends Error {
  override name = 'ActionError';
}

export interface ApplyContext {
  sysroot: Sysroot;
  io: HostIo;
  journal: Journal;
  log: Logger;
  /** Runs a host command, failing with its stderr's last line; only used on the live host. */
  runCommand: (argv: string[]) => Promise<void>;
  /** The environment helper programs (swtpm) start with; the launcher's own when absent. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** On a sysroot other than `/`, commands and kernel reactions belong to another host: logged, not run. */
const notLive = (sysroot: Sysroot) => `${sysroot.root} is not the live host`;

/**
 * Whether files may be given to another user: on the live host (where boot-vm runs as root), or
 * in a fake tree when this process is root; otherwise the change is logged, as commands are.
 */
const mayChown = (sysroot: Sysroot) => sysroot.isLive || process.getuid?.() === 0;
const octal = (mode: number) => mode.toString(8).padStart(4, '0');
const notChowned = (sysroot: Sysroot, owner: Owner, file: string) => `logged, not run: chown ${owner.user}:${owner.gid} ${file} (${notLive(sysroot)} and boot-vm is not root)`;

function readValue({ io, sysroot }: ApplyContext, path: string): string {
  try {
    return io.read(sysroot.path(path));
  } catch (error) {
    throw new ActionError(`cannot read ${sysroot.path(path)}: ${describeError(error)}`);
  }
}

/** Writes a value (a newline added), or with `exact` the text as given (a fake tree's old content). */
function writeValue({ io, sysroot }: ApplyContext, path: string, value: string, exact = false): void {
  try {
    io.write(sysroot.path(path), exact || value.endsWith('\n') ? value : `${value}\n`);
  } catch (error) {
    throw new ActionError(`writing ${JSON.stringify(value.trim())} to ${sysroot.path(path)}: ${describeError(error)}`);
  }
}

const readCount = (context: ApplyContext, path: string) => {
  const text = readValue(context, path).trim();
  const count = Number(text);
  if (text === '' || !Number.isInteger(count)) throw new ActionError(`${context.sysroot.path(path)} does not hold a page count`);
  return count;
};

/** Makes the directory and its missing parents, nothing journaled: the last gets `mode` exactly (whatever the umask) and its owner. */
function makeKeptDir(action: Extract<Action, { kind: 'make-kept-dir' }>, { sysroot, io }: ApplyContext): string[] {
  const dir = sysroot.path(action.path);
  if (io.exists(dir)) return [];
  const chown = action.owner !== undefined && mayChown(sysroot);
  try {
    io.mkdir(dir);
    io.chmod(dir, action.mode);
    if (chown) io.chown(dir, action.owner!.uid, action.owner!.gid);
  } catch (error) {
    throw new ActionError(`making ${dir}: ${describeError(error)}`);
  }
  return action.owner && !chown ? [notChowned(sysroot, action.owner, dir)] : [];
}

/** Does `action` for `step`; returns notes for the step's log line. Journals each change it made. */
export async function doAction(step: Step, { do: action, undo }: StepAction, context: ApplyContext): Promise<string[]> {
  const { journal, sysroot, io } = context;
  const entry = (extra: Partial<JournalEntry> = {}): JournalEntry => ({ n: step.n, step: step.id, phase: step.phase, undo, ...extra });
  switch (action.kind) {
    case 'set': {
      const old = readValue(context, action.path);
      if (old.trim() === action.value) return [];
      // Journaled once the kernel took the value: a refused write changed nothing, and undoing it
      // would write to a file that may refuse that too. The price: a crash between the write and
      // the journal leaves this one value for the user to put back.
      writeValue(context, action.path, action.value);
      journal.record(entry({ path: action.path, old }));
      return [];
    }
    case 'trigger':
      writeValue(context, action.path, action.value);
      if (undo.length > 0) journal.record(entry());
      return [];
    case 'run':
      if (!sysroot.isLive) {
        if (undo.length > 0) journal.record(entry());
        return [`logged, not run: ${action.argv.join(' ')} (${notLive(sysroot)})`];
      }
      await context.runCommand(action.argv);
      if (undo.length > 0) journal.record(entry());
      return [];
    case 'stop-service':
      return stopService(action.unit, context, () => journal.record(entry()));
    case 'unload-modules':
      return unloadModules(action, context, (module) => journal.record(entry({ undo: [reloadModule(module)] })));
    case 'mkdir': {
      // Each directory made is journaled, parents included, and removed innermost first: the one
      // asked for by the step's own undo (which may clear it first), its parents by rmdir.
      const made: string[] = [];
      for (let dir = action.path; dir !== '/' && !io.exists(sysroot.path(dir)); dir = dirname(dir)) made.push(dir);
      if (made.length === 0) return [];
      journal.record(entry({ undo: made.flatMap((path): Action[] => (path === action.path && undo.length > 0 ? undo : [{ kind: 'rmdir', path }])) }));
      io.mkdir(sysroot.path(action.path));
      return [];
    }
    case 'copy-file': {
      const [from, to] = [sysroot.path(action.from), sysroot.path(action.to)];
      const chown = action.owner !== undefined && mayChown(sysroot);
      try {
        io.mkdir(dirname(to));
        io.copy(from, to, action.mode, chown ? action.owner : undefined);
      } catch (error) {
        throw new ActionError(`copying ${from} to ${to}: ${describeError(error)}`);
      }
      return action.owner && !chown ? [notChowned(sysroot, action.owner, to)] : [];
    }
    case 'chown': {
      const file = sysroot.path(action.path);
      if (!mayChown(sysroot)) return [notChowned(sysroot, action.owner, file)];
      let owner: FileOwner;
      try {
        owner = io.stat(file);
        io.chown(file, action.owner.uid, action.owner.gid);
      } catch (error) {
        throw new ActionError(`giving ${file} to ${action.owner.user}: ${describeError(error)}`);
      }
      // Journaled once done: a refused chown leaves nothing to give back.
      journal.record(entry({ path: action.path, owner }));
      return [];
    }
    case 'set-owner': {
      const file = sysroot.path(action.path);
      const chown = action.owner !== undefined && mayChown(sysroot);
      let owner: FileOwner;
      try {
        owner = io.stat(file);
        if (chown) io.chown(file, action.owner!.uid, action.owner!.gid);
        // After chown, which clears set-id bits.
        if (action.mode !== undefined) io.chmod(file, action.mode);
      } catch (error) {
        throw new ActionError(`giving ${file}${action.owner ? ` to ${action.owner.user}` : ''}${action.mode !== undefined ? ` mode ${octal(action.mode)}` : ''}: ${describeError(error)}`);
      }
      // Journaled once done, as chown: a refused change leaves nothing to give back.
      if (chown || action.mode !== undefined) journal.record(entry({ path: action.path, owner }));
      return action.owner && !chown ? [notChowned(sysroot, action.owner, file)] : [];
    }
    case 'create-file': {
      const file = sysroot.path(action.path);
      let made: boolean;
      try {
        made = io.createExclusive(file, '');
      } catch (error) {
        throw new ActionError(`creating ${file}: ${describeError(error)}`);
      }
      if (!made) throw new ActionError(`${file} exists, though it did not when the plan was made: something else made it since; look at it, then launch again`);
      // Journaled once made (a crash before leaves an empty file): a file that was there already is never boot-vm's to remove.
      journal.record(entry());
      const chown = action.owner !== undefined && mayChown(sysroot);
      try {
        if (chown) io.chown(file, action.owner!.uid, action.owner!.gid);
        // After chown, which would clear set-id bits.
        io.chmod(file, action.mode);
      } catch (error) {
        throw new ActionError(`giving ${file} to ${action.owner?.user ?? 'root'} with mode ${octal(action.mode)}: ${describeError(error)}`);
      }
      return action.owner && !chown ? [notChowned(sysroot, action.owner, file)] : [];
    }
    case 'wait-char-device': {
      const file = sysroot.path(action.path);
      const what = `${file} to appear (udev makes it after the module loads)`;
      // On another host's tree no kernel makes devices: what is there is all there will be.
      const kind = sysroot.isLive
        ? await context.log.wait(what, pollUntil(() => io.fileKind(file), { what, timeoutMs: action.timeoutMs, ...(context.signal ? { signal: context.signal } : {}) }))
        : io.fileKind(file);
      if (kind === undefined) throw new ActionError(`there is no ${file} (${notLive(sysroot)}: nothing makes devices there)`);
      // QEMU maps a missing device as a file it makes: a plain file here is such a leftover.
      if (kind !== 'char-device') throw new ActionError(`${file} is a ${kind === 'file' ? 'plain file' : kind}, not a character device (a QEMU started while the device was missing makes a file there); remove it, then reload the module that makes the device`);
      return [];
    }
    case 'wait-driver': {
      if (!sysroot.isLive) return [`did not wait for ${action.device} to be on ${action.driver}: ${notLive(sysroot)}`];
      const link = sysroot.path(`/sys/bus/pci/devices/${action.device}/driver`);
      const what = `${action.device} to be on ${action.driver}`;
      await context.log.wait(what, pollUntil(() => (basename(io.readLink(link) ?? '') === action.driver ? true : undefined), { what, timeoutMs: action.timeoutMs, ...(context.signal ? { signal: context.signal } : {}) }));
      return [];
    }
    case 'reserve-hugepages': {
      const before = readCount(context, action.path);
      // Until the count is read back the entry adds nothing, so a refused write has nothing to undo.
      const recorded = journal.record(entry({ added: 0 }));
      writeValue(context, action.path, String(before + action.add));
      // The kernel reserves what it can find and says so only in the count it reads back.
      const got = readCount(context, action.path) - before;
      recorded.added = Math.max(0, got);
      journal.save();
      if (got < action.add) throw new ActionError(`asked the kernel for ${action.add} more ${action.pageSize} pages, got ${got}: memory is short or too fragmented; free some, or reserve them at boot (hugepages= on the kernel command line)`);
      return [`${action.add} pages added`];
    }
    case 'wrap':
      return [];
    case 'make-kept-dir':
      return makeKeptDir(action, context);
    case 'start-helper':
      if (!sysroot.isLive) return [`logged, not run: ${action.argv.join(' ')} 2> ${action.log} (${notLive(sysroot)})`];
      return startHelper(action, context, (process) => journal.record(entry({ process })));
    default:
      throw new ActionError(`${action.kind} is not something a step does (it only undoes)`);
  }
}

/** Puts back one change. `restored` holds paths already restored in this teardown: each goes back once. */
export async function undoAction(action: Action, entry: JournalEntry, context: ApplyContext, oldValues: Map<string, string>, restored: Set<string>): Promise<string[]> {
  const { sysroot, io } = context;
  switch (action.kind) {
    case 'restore': {
      const old = oldValues.get(action.path);
      if (old === undefined || restored.has(action.path)) return [];
      restored.add(action.path);
      // A live kernel takes driver_override's "(null)" back as an empty write; a fake tree gets its exact text.
      if (sysroot.isLive) writeValue(context, action.path, restoredText(old.trim()));
      else writeValue(context, action.path, old, true);
      return [];
    }
    case 'trigger':
      writeValue(context, action.path, action.value);
      return [];
    case 'run':
      if (!sysroot.isLive) return [`logged, not run: ${action.argv.join(' ')} (${notLive(sysroot)})`];
      await context.runCommand(action.argv);
      return [];
    case 'rmdir':
      if (io.exists(sysroot.path(action.path))) io.rmdir(sysroot.path(action.path));
      return [];
    case 'remove-dir':
      io.removeTree(sysroot.path(action.path));
      return [];
    case 'remove-file':
      io.remove(sysroot.path(action.path));
      return [];
    case 'restore-owner': {
      const file = sysroot.path(action.path);
      const owner = entry.owner;
      // A /dev/vfio node goes with its group's last device: nothing to give back then.
      if (owner === undefined || !io.exists(file)) return [];
      try {
        io.chown(file, owner.uid, owner.gid);
        // chown clears the set-id bits; the old mode puts them back.
        io.chmod(file, owner.mode);
      } catch (error) {
        throw new ActionError(`giving ${file} back to ${owner.uid}:${owner.gid}: ${describeError(error)}`);
      }
      return [];
    }
    case 'release-hugepages': {
      const added = entry.added ?? 0;
      if (added === 0) return [];
      const now = readCount(context, action.path);
      writeValue(context, action.path, String(Math.max(0, now - added)));
      return [`${added} pages given back`];
    }
    case 'restore-irq-affinity': {
      const refused: string[] = [];
      for (const [irq, old] of Object.entries(entry.irqs ?? {})) {
        const file = sysroot.path(`/proc/irq/${irq}/smp_affinity_list`);
        if (!io.exists(file)) continue; // freed with the device that held it (QEMU's vfio IRQs)
        try {
          io.write(file, old.endsWith('\n') ? old : `${old}\n`);
        } catch (error) {
          refused.push(`IRQ ${irq}: ${describeError(error)}`);
        }
      }
      return refused.length > 0 ? [`the kernel refused ${refused.join(', ')}`] : [];
    }
    case 'stop-helper':
      return stopHelper(action, entry.process, context);
    default:
      throw new ActionError(`${action.kind} cannot undo anything`);
  }
}
