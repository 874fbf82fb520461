import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const CHUNK_BYTES = 1 << 20;

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
    let fd: number | undefined;
    try {
      fd = openSync(this.path(hostPath), 'r');
      // In pieces: files under /proc and /sys come so, and memory grows with the file, not with maxBytes.
      const chunks: Buffer[] = [];
      let length = 0;
      for (let read = -1; read !== 0 && length < maxBytes; length += read) {
        const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, maxBytes - length));
        read = readSync(fd, chunk, 0, chunk.length, null);
        chunks.push(chunk.subarray(0, read));
      }
      return Buffer.concat(chunks, length);
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
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
