import type { Sysroot } from './sysroot.js';

/** The running kernel's command line (/proc/cmdline) as words; undefined when unreadable. */
export function readKernelCmdline(sysroot: Sysroot): string[] | undefined {
  const text = sysroot.readText('/proc/cmdline');
  return text === undefined ? undefined : text.trim().split(/\s+/).filter(Boolean);
}

/** The last value given to `key=` (the kernel lets later ones win), or undefined. */
export function cmdlineValue(words: string[], key: string): string | undefined {
  const found = words.filter((word) => word.startsWith(`${key}=`));
  return found.length === 0 ? undefined : found[found.length - 1]!.slice(key.length + 1);
}
