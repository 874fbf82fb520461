/**
 * The names an ES module exports, read from its text without running it: planning never runs user
 * code, and a dry-run must say which hooks a launch would run. A small tokenizer skips comments,
 * strings, template literals (with their `${}`) and regular expressions, and reads the `export`
 * declarations at the top level. What cannot be known without running the module (`export * from`,
 * a destructured `export const { a } = …`) is returned as `unreadable`, with its line.
 */

export interface ModuleExports {
  names: Set<string>;
  /** The first export whose names the text does not give. */
  unreadable?: { line: number; text: string };
}

interface Token {
  kind: 'word' | 'punct' | 'string' | 'other';
  value: string;
  /** Brace depth at the token: 0 is the module's top level. */
  depth: number;
  line: number;
}

// After these a `/` starts a regular expression, not a division.
const BEFORE_REGEX = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'instanceof', 'yield', 'await']);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const templates: number[] = [];
  let depth = 0;
  let line = 1;
  let i = 0;
  const push = (kind: Token['kind'], value: string) => tokens.push({ kind, value, depth, line });
  const advanceTo = (end: number) => {
    for (; i < end && i < source.length; i++) if (source[i] === '\n') line++;
  };
  /** From just after a backtick or a template's closing `}`: to the closing backtick, or into a `${`. */
  const templatePart = () => {
    while (i < source.length) {
      const c = source[i];
      if (c === '\\') advanceTo(i + 2);
      else if (c === '`') {
        i++;
        push('string', '`');
        return;
      } else if (c === '$' && source[i + 1] === '{') {
        i += 2;
        templates.push(depth);
        depth++;
        return;
      } else advanceTo(i + 1);
    }
  };
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\n' || /\s/.test(c)) advanceTo(i + 1);
    else if (c === '/' && source[i + 1] === '/') advanceTo(source.indexOf('\n', i) < 0 ? source.length : source.indexOf('\n', i));
    else if (c === '/' && source[i + 1] === '*') advanceTo(source.indexOf('*/', i + 2) < 0 ? source.length : source.indexOf('*/', i + 2) + 2);
    else if (c === "'" || c === '"') {
      const start = i++;
      while (i < source.length && source[i] !== c && source[i] !== '\n') advanceTo(source[i] === '\\' ? i + 2 : i + 1);
      i++;
      push('string', source.slice(start + 1, i - 1));
    } else if (c === '`') {
      i++;
      templatePart();
    } else if (c === '}' && templates.length > 0 && templates[templates.length - 1] === depth - 1) {
      templates.pop();
      depth--;
      i++;
      templatePart();
    } else if (c === '/' && isRegexStart(tokens[tokens.length - 1])) {
      let inClass = false;
      for (i++; i < source.length && source[i] !== '\n'; i++) {
        if (source[i] === '\\') i++;
        else if (source[i] === '[') inClass = true;
        else if (source[i] === ']') inClass = false;
        else if (source[i] === '/' && !inClass) break;
      }
      for (i++; i < source.length && /[\w$]/.test(source[i]!); i++);
      push('other', 'regex');
    } else if (/[\p{L}_$]/u.test(c)) {
      const start = i;
      while (i < source.length && /[\p{L}\p{N}_$]/u.test(source[i]!)) i++;
      push('word', source.slice(start, i));
    } else if (/\d/.test(c)) {
      while (i < source.length && /[\w.]/.test(source[i]!)) i++;
      push('other', 'number');
    } else {
      if (c === '{') {
        push('punct', c);
        depth++;
      } else if (c === '}') {
        depth--;
        push('punct', c);
      } else push('punct', c);
      i++;
    }
  }
  return tokens;
}

function isRegexStart(previous: Token | undefined): boolean {
  if (!previous) return true;
  if (previous.kind === 'word') return BEFORE_REGEX.has(previous.value);
  if (previous.kind === 'punct') return !')]}'.includes(previous.value);
  return false;
}

/** The names `source` exports at its top level (`default` included when it has one). */
export function readModuleExports(source: string): ModuleExports {
  const tokens = tokenize(source);
  const names = new Set<string>();
  let unreadable: ModuleExports['unreadable'];
  const cannotRead = (token: Token, text: string) => (unreadable ??= { line: token.line, text });
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind !== 'word' || token.value !== 'export' || token.depth !== 0 || tokens[i - 1]?.value === '.') continue;
    const at = (k: number) => tokens[i + k];
    let k = 1;
    const first = at(k);
    if (!first) break;
    if (first.value === 'default') names.add('default');
    else if (first.value === 'async' || first.value === 'function' || first.value === 'class') {
      if (first.value === 'async') k++;
      k++;
      if (at(k)?.value === '*') k++;
      const name = at(k);
      if (name?.kind === 'word') names.add(name.value);
    } else if (first.value === 'const' || first.value === 'let' || first.value === 'var') {
      const name = at(k + 1);
      if (name?.kind === 'word') names.add(name.value);
      else cannotRead(first, `export ${first.value} ${name?.value ?? ''}…`);
    } else if (first.value === '*') {
      if (at(k + 1)?.value === 'as' && at(k + 2)) names.add(at(k + 2)!.value);
      else cannotRead(first, 'export * from …');
    } else if (first.value === '{') {
      for (k++; at(k) && at(k)!.value !== '}'; k++) {
        const local = at(k)!;
        if (local.value === ',') continue;
        if (at(k + 1)?.value === 'as' && at(k + 2)) {
          names.add(at(k + 2)!.value);
          k += 2;
        } else names.add(local.value);
      }
    }
  }
  return { names, ...(unreadable ? { unreadable } : {}) };
}
