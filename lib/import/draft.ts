/**
 * The profile an import builds up: plain data in the profile's key names, a comment per key
 * saying which argument of the script it came from, and what could not become a key. Every value
 * is checked against the schema as it is set; one that would not validate is kept as a QEMU
 * argument in `extraArgs` instead, so the profile written always loads.
 */
import { formatKeyPath } from '../profile/key-path.js';
import type { ImportNote } from './host-steps.js';
import { invalidAt } from './schema-check.js';

type Segment = string | number;

/** Where a value came from: the argument as written and its line. */
export interface Source {
  text: string;
  line: number;
}

export const describeSource = (source: Source) => `${source.text} (line ${source.line})`;

/** One argument kept verbatim, with the line it came from. */
export interface ExtraArg {
  words: string[];
  line: number;
}

export class Draft {
  readonly data: Record<string, unknown> = {};
  /** Key path (`cpu.hyperv.relaxed`, `passthrough[0].romfile`) → its comment. */
  readonly comments: Record<string, string> = {};
  readonly extra: ExtraArg[] = [];
  readonly warnings: ImportNote[] = [];
  /** Old spellings the profile writes in today's form: `-realtime mlock=on → -overcommit mem-lock=on`. */
  readonly modernised: ImportNote[] = [];
  /** Arguments understood and left to boot-vm, which adds them itself. */
  readonly notes: ImportNote[] = [];

  warn(line: number | undefined, message: string): void {
    this.warnings.push(line === undefined ? { message } : { line, message });
  }

  note(line: number | undefined, message: string): void {
    this.notes.push(line === undefined ? { message } : { line, message });
  }

  modernise(line: number, message: string): void {
    this.modernised.push({ line, message });
  }

  /** Keeps words verbatim for `extraArgs`. */
  keep(words: string[], line: number): void {
    this.extra.push({ words, line });
  }

  get(path: readonly Segment[]): unknown {
    let node: unknown = this.data;
    for (const segment of path) node = (node as Record<Segment, unknown> | undefined)?.[segment];
    return node;
  }

  /**
   * Sets a key when the schema takes the value there; otherwise keeps `fallback` (the QEMU
   * words that mean the same) for extraArgs, with a warning. Says whether it was set.
   */
  set(path: readonly Segment[], value: unknown, source: Source, fallback?: string[], comment = describeSource(source)): boolean {
    const problem = invalidAt(path, value);
    if (problem !== undefined) {
      this.warn(source.line, `${source.text}: boot-vm's ${formatKeyPath(path)} cannot take ${JSON.stringify(value)} (${problem})${fallback ? '; kept verbatim in extraArgs' : '; left out'}`);
      if (fallback) this.keep(fallback, source.line);
      return false;
    }
    let node = this.data as Record<Segment, unknown>;
    path.slice(0, -1).forEach((segment, i) => {
      node[segment] ??= typeof path[i + 1] === 'number' ? [] : {};
      node = node[segment] as Record<Segment, unknown>;
    });
    node[path.at(-1)!] = value;
    this.comments[formatKeyPath(path)] = comment;
    return true;
  }

  /** Appends a list entry (a disk, a NIC) when the schema takes it whole, with a comment per key; else keeps `fallback`. Returns its index. */
  push(list: string, entry: Record<string, unknown>, comments: Record<string, string>, source: Source, fallback: string[]): number | undefined {
    const problem = invalidAt([list, 0], entry);
    if (problem !== undefined) {
      this.warn(source.line, `${source.text}: not a boot-vm ${list} entry (${problem}); kept verbatim in extraArgs`);
      this.keep(fallback, source.line);
      return undefined;
    }
    const items = (this.data[list] ??= []) as unknown[];
    const index = items.length;
    items.push(entry);
    for (const [key, comment] of Object.entries(comments)) this.comments[key === '' ? `${list}[${index}]` : `${list}[${index}].${key}`] = comment;
    return index;
  }
}
