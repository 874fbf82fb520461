/** Shared by boot-vm's caches (QEMU versions, parsed profiles): where they live and how a file is recognised. */
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_CACHE_HOME/boot-vm`, or `~/.cache/boot-vm`. */
export const cacheDir = (env: NodeJS.ProcessEnv) => join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'boot-vm');

/** Path, size, mtime and inode: changes whenever the file is rewritten or replaced. */
export function fileStamp(path: string): string {
  const stat = statSync(path);
  return `${path}:${stat.size}:${stat.mtimeMs}:${stat.ino}`;
}
