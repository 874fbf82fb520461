/**
 * File operations on the host, the only way apply code touches /sys, /proc and /run. Paths are
 * already under the sysroot. Tests hand in their own to make the kernel answer as it would.
 */
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readlinkSync, renameSync, rmdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface HostIo {
  read(path: string): string;
  /** One write(2) of the whole text, as sysfs and procfs want it. */
  write(path: string, text: string): void;
  readLink(path: string): string | undefined;
  exists(path: string): boolean;
  mkdir(path: string): void;
  rmdir(path: string): void;
  /** Replaces a file atomically and durably: a temporary file, fsync, rename, fsync of the directory. */
  replace(path: string, text: string): void;
  remove(path: string): void;
  /** Creates a file holding `text` unless `path` exists (false then), never seen partly written; its directory must exist. */
  createExclusive(path: string, text: string): boolean;
}

export const nodeHostIo: HostIo = {
  read: (path) => readFileSync(path, 'utf8'),
  write(path, text) {
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
  },
  readLink(path) {
    try {
      return readlinkSync(path);
    } catch {
      return undefined;
    }
  },
  exists: (path) => existsSync(path),
  mkdir: (path) => mkdirSync(path, { recursive: true }),
  rmdir: (path) => rmdirSync(path),
  replace(path, text) {
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    const fd = openSync(temporary, 'w', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(temporary, path);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  },
  remove: (path) => rmSync(path, { force: true }),
  createExclusive(path, text) {
    // Written aside, then linked in: link(2) fails on an existing name as O_EXCL does, and the file appears whole.
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, text, { mode: 0o644 });
    try {
      linkSync(temporary, path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      rmSync(temporary, { force: true });
    }
  },
};

/** `EIO: i/o error, write` → `EIO (i/o error)`: the kernel's answer without Node's wording. */
export function describeError(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code && typeof message === 'string') {
    const reason = /^[A-Z]+: ([^,]+)/.exec(message)?.[1];
    return reason ? `${code} (${reason})` : code;
  }
  return error instanceof Error ? error.message : String(error);
}
