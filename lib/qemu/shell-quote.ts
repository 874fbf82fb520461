// Characters that never need quoting in POSIX sh (`=` and `,` included: QEMU uses both).
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one word for a POSIX shell so that copy-pasting the line passes it unchanged. */
export function shellQuote(word: string): string {
  if (SAFE.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
