/** What an export needs to know besides the plan: where this checkout's boot-vm is, and how to name the profile to it. */
export interface ExportContext {
  /** The absolute path of this checkout's boot-vm.mjs. */
  bootVm: string;
  /** The profile as boot-vm is to be given it: its name when it is in the checkout's profiles/, else its absolute path. */
  profileArg: string;
  /** `--qemu-binary` given to the export: the launch needs it too. */
  qemuBinary?: string;
  /** The directory of the node that runs boot-vm, when systemd's default PATH lacks it. */
  nodeDir?: string;
}

/** Warnings an export gives: one line each, for what it could not say as the plan does. */
export type Warn = (message: string) => void;
