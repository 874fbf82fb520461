import { UsageError } from '../errors.js';

/** A `--timeout`-style option: whole or fractional seconds, 0 or more, as milliseconds. */
export function parseSeconds(option: string, text: string): number {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0) throw new UsageError(`${option}: expected a number of seconds, got "${text}"`);
  return Math.round(seconds * 1000);
}
