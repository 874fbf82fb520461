export type KeyPath = readonly (string | number)[];

/** `['passthrough', 0, 'host']` → `passthrough[0].host`, the form errors and `--explain` show. */
export function formatKeyPath(path: KeyPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? segment : `.${segment}`;
  }
  return text;
}

/** The parent of `a.b[2]` is `a.b`; of `a` is ``. */
export function parentKeyPath(path: string): string {
  const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
  return cut <= 0 ? '' : path.slice(0, cut);
}
