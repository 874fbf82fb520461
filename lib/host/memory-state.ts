/** Memory facts doctor weighs against a profile: fragmentation, the memlock limit (huge page pools: hugepages.ts). */
import type { Sysroot } from './sysroot.js';

const KIB = 1024;

/**
 * How many free blocks of `blockSize` bytes (or larger, counted in that size) the buddy
 * allocator holds in all zones and nodes (/proc/buddyinfo: column n counts free blocks of
 * 2^n base pages); undefined when unreadable or when no order is that large.
 */
export function readFreeBlocks(sysroot: Sysroot, blockSize: number, basePageSize = 4 * KIB): number | undefined {
  const text = sysroot.readText('/proc/buddyinfo');
  if (text === undefined) return undefined;
  const order = Math.log2(blockSize / basePageSize);
  let blocks = 0;
  let orders = 0;
  for (const line of text.split('\n')) {
    const counts = /zone\s+\S+\s+([\d\s]+)$/.exec(line)?.[1]?.trim().split(/\s+/).map(Number);
    if (!counts) continue;
    orders = Math.max(orders, counts.length);
    counts.forEach((count, n) => {
      if (n >= order) blocks += count * 2 ** (n - order);
    });
  }
  return order < orders ? blocks : undefined;
}

/** RLIMIT_MEMLOCK of the process reading (/proc/self/limits), in bytes; Infinity when unlimited, undefined when unreadable. */
export function readMemlockLimit(sysroot: Sysroot): number | undefined {
  const match = /^Max locked memory\s+(\S+)/m.exec(sysroot.readText('/proc/self/limits') ?? '');
  if (!match) return undefined;
  return match[1] === 'unlimited' ? Infinity : Number(match[1]);
}

/** The effective user id of the process reading (/proc/self/status), or undefined. */
export function readEffectiveUid(sysroot: Sysroot): number | undefined {
  const match = /^Uid:\s+\d+\s+(\d+)/m.exec(sysroot.readText('/proc/self/status') ?? '');
  return match ? Number(match[1]) : undefined;
}
