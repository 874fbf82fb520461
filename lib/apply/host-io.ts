/**
 * File operations on the host, the only way apply code touches /sys, /proc and /run. Paths are
 * already under the sysroot. Tests hand in their own to make the kernel answer as it would.
 */
import { chmodSync, chownSync, closeSync, existsSync, fchmodSync, fchownSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readlinkSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
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
  /** Removes a directory and everything in it. */
  removeTree(path: string): void;
  /** Owner and permission bits (`mode & 0o7777`). */
  stat(path: string): FileOwner;
  /** What is at `path` (links followed), or undefined when nothing is. */
  fileKind(path: string): FileKind | undefined;
  chown(path: string, uid: number, gid: number): void;
  chmod(path: string, mode: number): void;
  /** Copies a file durably: a temporary file beside `to` gets the bytes, `mode` and owner, then takes the name. */
  copy(from: string, to: string, mode: number, owner?: { uid: number; gid: number }): void;
}

export type FileKind = 'file' | 'directory' | 'char-device' | 'other';

export interface FileOwner {
  uid: number;
  gid: number;
  mode: number;
}

/** Writes `data` to the new file `temporary` with `mode` (and owner), fsynced, then renames it to `to` and fsyncs the directory. */
function writeDurably(temporary: string, to: string, data: Buffer, mode: number, owner?: { uid: number; gid: number }): void {
  const fd = openSync(temporary, 'w', mode);
  try {
    try {
      // The mode given to open is masked by the umask; set it exactly.
      fchmodSync(fd, mode);
      if (owner) fchownSync(fd, owner.uid, owner.gid);
      for (let written = 0; written < data.length; ) written += writeSync(fd, data, written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, to);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  const dir = openSync(dirname(to), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
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
    writeDurably(`${path}.${process.pid}.tmp`, path, Buffer.from(text), 0o600);
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
  removeTree: (path) => rmSync(path, { recursive: true, force: true }),
  stat(path) {
    const { uid, gid, mode } = statSync(path);
    return { uid, gid, mode: mode & 0o7777 };
  },
  fileKind(path) {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      return undefined;
    }
    return stat.isFile() ? 'file' : stat.isDirectory() ? 'directory' : stat.isCharacterDevice() ? 'char-device' : 'other';
  },
  chown: (path, uid, gid) => chownSync(path, uid, gid),
  chmod: (path, mode) => chmodSync(path, mode),
  copy: (from, to, mode, owner) => writeDurably(`${to}.${process.pid}.tmp`, to, readFileSync(from), mode, owner),
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
