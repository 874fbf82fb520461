import { accessSync, closeSync, constants, existsSync, fstatSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const CHUNK_BYTES = 1 << 20;

/**
 * At most a file's first `maxBytes` bytes; throws what the read threw. Sized by fstat (a regular
 * file's length, a sysfs `rom`'s BAR size), grown when a file says 0 or too little (/proc, /sys):
 * memory follows what is read, without a second copy of a big file.
 */
export function readFileBytes(file: string, maxBytes: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    let buffer = Buffer.allocUnsafe(Math.min(maxBytes, size > 0 ? size : CHUNK_BYTES));
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length >= maxBytes) break;
        const grown = Buffer.allocUnsafe(Math.min(maxBytes, Math.max(length * 2, CHUNK_BYTES)));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/**
 * The one root every host path goes through: `/` for the real host, or a captured or
 * fake host tree (`--sysroot DIR`). Reads only; writing is the apply layer's job.
 */
export class Sysroot {
  readonly root: string;

  constructor(root = '/') {
    this.root = resolve(root);
  }

  /** True when this is the machine boot-vm runs on, not a captured or fake tree. */
  get isLive(): boolean {
    return this.root === '/';
  }

  /** The real location of a host path: `/sys/x` → `<root>/sys/x`. */
  path(hostPath: string): string {
    if (this.isLive) return hostPath;
    // Most host paths are absolute and normalized: concatenation is join() without its cost (thousands of calls on a big host).
    return hostPath.startsWith('/') && !/\/\.|\/\//.test(hostPath) ? this.root + hostPath : join(this.root, hostPath);
  }

  /** The file's text, or undefined when it cannot be read. */
  readText(hostPath: string): string | undefined {
    try {
      return readFileSync(this.path(hostPath), 'utf8');
    } catch {
      return undefined;
    }
  }

  /** The file's first `maxBytes` bytes as text, or undefined when it cannot be read. */
  readHead(hostPath: string, maxBytes: number): string | undefined {
    return this.readBytes(hostPath, maxBytes)?.toString('utf8');
  }

  /** At most the file's first `maxBytes` bytes, or undefined when it cannot be read. */
  readBytes(hostPath: string, maxBytes: number): Buffer | undefined {
    try {
      return readFileBytes(this.path(hostPath), maxBytes);
    } catch {
      return undefined;
    }
  }

  exists(hostPath: string): boolean {
    return existsSync(this.path(hostPath));
  }

  /** What is at the path (links followed) and its size in bytes, or undefined when nothing is. */
  stat(hostPath: string): { kind: 'file' | 'directory' | 'char-device' | 'other'; size: number } | undefined {
    try {
      const stat = statSync(this.path(hostPath));
      return { kind: stat.isFile() ? 'file' : stat.isDirectory() ? 'directory' : stat.isCharacterDevice() ? 'char-device' : 'other', size: stat.size };
    } catch {
      return undefined;
    }
  }

  /** True when the file can be opened for reading. */
  canRead(hostPath: string): boolean {
    try {
      accessSync(this.path(hostPath), constants.R_OK);
      return true;
    } catch {
      return false;
    }
  }

  /** A symbolic link's target as written (`../../../bus/pci/drivers/vfio-pci`), or undefined when it is not a link. */
  readLink(hostPath: string): string | undefined {
    try {
      return readlinkSync(this.path(hostPath));
    } catch {
      return undefined;
    }
  }

  /** Entries of a directory, sorted; empty when it does not exist. */
  list(hostPath: string): string[] {
    try {
      return readdirSync(this.path(hostPath)).sort();
    } catch {
      return [];
    }
  }
}
