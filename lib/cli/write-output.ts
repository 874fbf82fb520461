/** `--out FILE` for the CLIs that print a file: written beside it, then moved in, so a reader never sees half of it. */
import { linkSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describeError } from '../apply/host-io.js';
import { UsageError } from '../errors.js';

/** With `replace` false an existing FILE is kept: the final link fails if it exists, even if it appeared meanwhile. */
export function writeOutput(file: string, text: string, options: { mode: number; replace: boolean; replaceHint?: string }): void {
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, text, { mode: options.mode });
    if (options.replace) renameSync(temporary, file);
    else {
      linkSync(temporary, file);
      unlinkSync(temporary);
    }
  } catch (error) {
    rmSync(temporary, { force: true });
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${file} exists; nothing written${options.replaceHint ? ` (${options.replaceHint})` : ''}`);
    throw new UsageError(`--out: cannot write ${file}: ${describeError(error)}`);
  }
}
