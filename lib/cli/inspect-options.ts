/** What the inspection CLIs (check-iommu, cpu-topology, doctor) share: the sysroot option and their output. */
import { existsSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { Sysroot } from '../host/sysroot.js';

/** `--sysroot DIR` (default `/`); a directory that is not there is a usage error, not an empty host. */
export function openSysroot(dir: string | undefined): Sysroot {
  if (dir !== undefined && !(existsSync(dir) && statSync(dir).isDirectory())) throw new UsageError(`--sysroot: ${dir} is not a directory`);
  return new Sysroot(dir ?? '/');
}

/** What a CLI prints: stdout, notes for stderr, and its exit status. */
export interface CliOutput {
  stdout: string;
  stderr: string[];
  exitCode: number;
}
