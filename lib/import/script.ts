/** Reads a shell script or pasted command line that starts QEMU (no shell is run): the QEMU command, its wrappers, the host steps. */
import type { HostImport, ImportNote } from './host-steps.js';

export type { HostImport, ImportNote } from './host-steps.js';

export interface Word {
  text: string;
  /** 1-based line in the input. */
  line: number;
}

export interface ScriptCommand {
  /** qemu-system-x86_64, or a path/variable-expanded path to it. */
  binary: Word;
  /** Every word after the binary: variables and arrays expanded, quotes removed. */
  args: Word[];
  /** From `taskset -c LIST`, `-ac LIST`, or a hex mask; CPUs sorted, each once. */
  taskset?: { cpus: number[]; line: number };
  chrt?: { policy: 'rr' | 'fifo' | 'other' | 'batch' | 'idle'; priority: number; line: number };
  nice?: { value: number; line: number };
}

export interface ParsedScript {
  command: ScriptCommand;
  /** The script's other lines that are host steps. */
  host: HostImport;
  /** Things the user must check. Includes host.warnings. */
  warnings: ImportNote[];
  /** What was understood and dropped on purpose. Includes host.notes. */
  notes: ImportNote[];
}

/** Throws InputError (lib/errors.ts) with file and line when there is no QEMU command or the text cannot be read as shell. */
export function parseScript(text: string, file: string): ParsedScript {
  void text;
  void file;
  throw new Error('parseScript: being written (import-script helper)');
}
