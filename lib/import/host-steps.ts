/** Host steps of an imported script (the blog's on-boot.sh): the lines boot-vm has a profile key for. */

export interface ImportNote {
  line?: number;
  message: string;
}

/** One simple command of the script other than QEMU's: words expanded, quotes removed, `sudo` still there. */
export interface HostCommand {
  words: string[];
  /** `> path` or `>> path` (also `| tee [-a] path`, turned into this). */
  redirect?: { path: string; append: boolean };
  line: number;
  /** The command as written (continuations joined), for comments and warnings. */
  text: string;
}

export interface HostImport {
  /** Keys of the profile's `host:` mapping (lib/profile/schema.ts `host`). */
  host: Record<string, unknown>;
  /** When the script reserves huge pages (nr_hugepages, hugepagesz). */
  memory: { hugepages?: '2M' | '1G' };
  /** Profile key path (`host.sysctl.vm.stat_interval`, `host.ignoreMsrs`) → the source line it came from, for a YAML comment. */
  comments: Record<string, string>;
  warnings: ImportNote[];
  /** Lines understood and dropped on purpose because boot-vm does them itself (unbind/bind, modprobe vfio-pci, sleep). */
  notes: ImportNote[];
}

export function importHostSteps(commands: HostCommand[]): HostImport {
  void commands;
  throw new Error('importHostSteps: being written (import-script helper)');
}
