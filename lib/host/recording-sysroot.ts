import { Sysroot } from './sysroot.js';

/** What the readers asked of the host, by host path: the list a capture copies (lib/host/capture.ts). */
export interface HostReads {
  /** Files whose content was read, with the most bytes any reader asked for (Infinity: all of it). */
  files: Map<string, number>;
  /** Directories listed. */
  listed: Set<string>;
  /** Symbolic links read as links. */
  links: Set<string>;
  /** Paths only tested: existence, kind or readability. */
  probed: Set<string>;
  /** Paths whose size was asked for (a shared-memory file's). */
  sized: Set<string>;
}

/**
 * A sysroot that notes every path asked of it. Every host read goes through the Sysroot, so
 * running the readers against this one gives the exact list of what they read: one source of
 * truth for what a capture must hold.
 */
export class RecordingSysroot extends Sysroot {
  readonly reads: HostReads = { files: new Map(), listed: new Set(), links: new Set(), probed: new Set(), sized: new Set() };

  private file(hostPath: string, bytes: number): void {
    this.reads.files.set(hostPath, Math.max(bytes, this.reads.files.get(hostPath) ?? 0));
  }

  override readText(hostPath: string): string | undefined {
    this.file(hostPath, Infinity);
    return super.readText(hostPath);
  }

  override readBytes(hostPath: string, maxBytes: number): Buffer | undefined {
    this.file(hostPath, maxBytes);
    return super.readBytes(hostPath, maxBytes);
  }

  override exists(hostPath: string): boolean {
    this.reads.probed.add(hostPath);
    return super.exists(hostPath);
  }

  override stat(hostPath: string): ReturnType<Sysroot['stat']> {
    this.reads.sized.add(hostPath);
    return super.stat(hostPath);
  }

  override canRead(hostPath: string): boolean {
    this.reads.probed.add(hostPath);
    return super.canRead(hostPath);
  }

  override readLink(hostPath: string): string | undefined {
    this.reads.links.add(hostPath);
    return super.readLink(hostPath);
  }

  override list(hostPath: string): string[] {
    this.reads.listed.add(hostPath);
    return super.list(hostPath);
  }
}
