import { QEMU_VERSION_PATTERN } from '../profile/schema.js';

export interface QemuVersion {
  major: number;
  minor: number;
}

/** The oldest QEMU boot-vm plans for: it has QMP query-cpus-fast (query-cpus is gone since 6.0), memory-backend-memfd and pcie-root-port. */
export const OLDEST_QEMU: QemuVersion = { major: 2, minor: 12 };
/** The newest QEMU whose rules boot-vm knows; planning assumes it when no version is known. */
export const NEWEST_KNOWN_QEMU: QemuVersion = { major: 10, minor: 1 };

/** `"7.2"` or `"7.2.19"` → {7, 2}; undefined when malformed. */
export function parseQemuVersion(text: string): QemuVersion | undefined {
  const match = QEMU_VERSION_PATTERN.exec(text.trim());
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

/** Reads the version from `qemu-system-x86_64 --version` output. */
export function parseQemuVersionOutput(output: string): QemuVersion | undefined {
  const match = /version (\d+\.\d+(?:\.\d+)?)/.exec(output);
  return match ? parseQemuVersion(match[1]!) : undefined;
}

export const formatQemuVersion = (version: QemuVersion) => `${version.major}.${version.minor}`;

export const atLeast = (version: QemuVersion, major: number, minor: number) =>
  version.major > major || (version.major === major && version.minor >= minor);

/** What asking a QEMU binary its version gave: the version, or why there is none. */
export type DetectedVersion = { version: QemuVersion; path: string } | { problem: string };
