/** What the inspection CLIs (check-iommu, cpu-topology, doctor) share: the sysroot option and profile loading. */
import { existsSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { Sysroot } from '../host/sysroot.js';
import { loadProfile, type LoadedProfile } from '../profile/load.js';

/** `--sysroot DIR` (default `/`); a directory that is not there is a usage error, not an empty host. */
export function openSysroot(dir: string | undefined): Sysroot {
  if (dir !== undefined && !(existsSync(dir) && statSync(dir).isDirectory())) throw new UsageError(`--sysroot: ${dir} is not a directory`);
  return new Sysroot(dir ?? '/');
}

export const loadInspectedProfile = (reference: string, cwd: string, env: NodeJS.ProcessEnv): LoadedProfile => loadProfile(reference, { cwd, env });

/** What a CLI prints: stdout, notes for stderr, and its exit status. */
export interface CliOutput {
  stdout: string;
  stderr: string[];
  exitCode: number;
}
