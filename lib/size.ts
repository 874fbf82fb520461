const UNITS = { K: 1n << 10n, M: 1n << 20n, G: 1n << 30n, T: 1n << 40n } as const;
type Unit = keyof typeof UNITS;

/** Sizes as written in profiles: a whole number and a binary unit, e.g. `8G`, `8192M`, `16GiB`. */
export const SIZE_PATTERN = /^([1-9][0-9]*)\s*([KMGT])(?:i?B)?$/;

/** Parses `8G` into bytes; undefined when the text is not a size. */
export function parseSize(text: string): number | undefined {
  const match = SIZE_PATTERN.exec(text);
  if (!match) return undefined;
  const bytes = BigInt(match[1]!) * UNITS[match[2] as Unit];
  return bytes <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(bytes) : undefined;
}

/** Formats bytes with the largest unit that divides them exactly, as QEMU reads it: `8G`, `1536M`. */
export function formatSize(bytes: number): string {
  for (const unit of ['T', 'G', 'M', 'K'] as const) {
    const scale = Number(UNITS[unit]);
    if (bytes >= scale && bytes % scale === 0) return `${bytes / scale}${unit}`;
  }
  return String(bytes);
}

/** The smallest power of two that is at least `value` (exact for every safe integer, unlike Math.log2). */
export function powerOfTwoAtLeast(value: number): number {
  let power = 1;
  while (power < value) power *= 2;
  return power;
}
