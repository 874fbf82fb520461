import { accessSync, constants, existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

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
    return this.isLive ? hostPath : join(this.root, hostPath);
  }

  /** The file's text, or undefined when it cannot be read. */
  readText(hostPath: string): string | undefined {
    try {
      return readFileSync(this.path(hostPath), 'utf8');
    } catch {
      return undefined;
    }
  }

  exists(hostPath: string): boolean {
    return existsSync(this.path(hostPath));
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
