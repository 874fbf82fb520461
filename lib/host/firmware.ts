import type { Sysroot } from './sysroot.js';

/** A UEFI firmware the host's QEMU firmware descriptors (docs/interop/firmware.json) offer. */
export interface UefiFirmware {
  /** The descriptor file it came from. */
  descriptor: string;
  code: string;
  varsTemplate: string;
  features: string[];
}

/** Descriptor directories, least specific first; a file name in a later one overrides the same name in an earlier one. */
const DESCRIPTOR_DIRS = ['/usr/share/qemu/firmware', '/etc/qemu/firmware'];

interface Descriptor {
  'interface-types'?: string[];
  mapping?: {
    device?: string;
    mode?: string;
    executable?: { filename?: string; format?: string };
    'nvram-template'?: { filename?: string; format?: string };
  };
  targets?: { architecture?: string; machines?: string[] }[];
  features?: string[];
}

// Descriptor machine names are globs such as `pc-q35-*`.
const globMatches = (glob: string, name: string) =>
  new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(name);

/**
 * The split-flash x86_64 UEFI builds for a Q35 machine, in QEMU's priority order (descriptor
 * file name, later directories overriding earlier ones, empty files hiding a name).
 * `machine` is a versioned machine name such as `pc-q35-7.2`.
 */
export function readUefiFirmwares(sysroot: Sysroot, machine: string): UefiFirmware[] {
  const byName = new Map<string, string>();
  for (const dir of DESCRIPTOR_DIRS) {
    for (const name of sysroot.list(dir)) if (name.endsWith('.json')) byName.set(name, `${dir}/${name}`);
  }
  const firmwares: UefiFirmware[] = [];
  for (const name of [...byName.keys()].sort()) {
    const file = byName.get(name)!;
    const text = sysroot.readText(file);
    if (!text || text.trim() === '') continue;
    let descriptor: Descriptor;
    try {
      descriptor = JSON.parse(text) as Descriptor;
    } catch {
      continue;
    }
    const mapping = descriptor.mapping;
    const fitsMachine = descriptor.targets?.some((target) => target.architecture === 'x86_64' && target.machines?.some((glob) => globMatches(glob, machine)));
    if (!descriptor['interface-types']?.includes('uefi') || !fitsMachine) continue;
    if (mapping?.device !== 'flash' || (mapping.mode ?? 'split') !== 'split') continue;
    const code = mapping.executable;
    const vars = mapping['nvram-template'];
    if (!code?.filename || !vars?.filename || (code.format ?? 'raw') !== 'raw' || (vars.format ?? 'raw') !== 'raw') continue;
    firmwares.push({ descriptor: file, code: code.filename, varsTemplate: vars.filename, features: descriptor.features ?? [] });
  }
  return firmwares;
}
