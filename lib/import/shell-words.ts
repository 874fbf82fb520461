/**
 * Splits shell text into simple commands the way bash would read them, without running anything:
 * quotes, backslash continuations, comments, `$VAR`/`${VAR}` references (left for the caller to
 * expand, since only it knows the variables), arrays `name=( … )`, redirections and `; & && || |`.
 * Unsupported constructs are kept as literal text for the caller to warn about, not guessed at.
 */
import { InputError } from '../errors.js';
import type { ImportNote } from './host-steps.js';

/** A piece of one word: literal text, a variable reference, or a command substitution kept as written. */
export type Part =
  | { kind: 'text'; text: string; quoted: boolean }
  | { kind: 'var'; name: string; index?: string; op?: string; operand?: Part[]; quoted: boolean; source: string }
  | { kind: 'subst'; source: string; quoted: boolean };

export interface RawWord {
  parts: Part[];
  line: number;
  start: number;
  end: number;
}

export interface Assignment {
  name: string;
  append: boolean;
  /** A scalar value (`X=…`); absent for an array. */
  value?: RawWord;
  /** An array value (`X=( … )`). */
  elements?: RawWord[];
  line: number;
}

export interface Redirect {
  op: string;
  fd?: number;
  target?: RawWord;
  line: number;
}

export type Terminator = ';' | '&' | '&&' | '||' | '|' | '|&' | 'newline' | 'eof' | '(' | ')';

export interface SimpleCommand {
  /** Assignments before the command word, or the arguments of export/declare/local/readonly/typeset. */
  assignments: Assignment[];
  words: RawWord[];
  redirects: Redirect[];
  /** Heredoc bodies' first lines, for a warning. */
  heredocs: number[];
  terminator: Terminator;
  line: number;
  start: number;
  end: number;
}

export interface ShellText {
  commands: SimpleCommand[];
  notes: ImportNote[];
  /** The text read (prompts blanked out), for the commands' source text. */
  source: string;
}

const DECLARATION = new Set(['export', 'declare', 'typeset', 'local', 'readonly']);
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)(\+?)=/;
const META = new Set([' ', '\t', '\n', ';', '&', '|', '(', ')', '<', '>']);
// A backslash with only blanks after it to the end of the line: bash reads an escaped blank and
// ends the command there, but in a pasted command it is always a continuation that lost its newline.
const TRAILING_BLANKS_CONTINUATION = /^\\[ \t]+(\n|$)/;

type Token =
  | { type: 'word'; word: RawWord }
  | { type: 'op'; op: Terminator; line: number; start: number; end: number }
  | { type: 'redirect'; op: string; fd?: number; line: number; start: number; end: number }
  | { type: 'array'; name: string; append: boolean; elements: RawWord[]; line: number; start: number; end: number };

class Lexer {
  private pos = 0;
  private readonly lineStarts: number[] = [0];
  readonly tokens: Token[] = [];
  readonly notes: ImportNote[] = [];
  private pendingHeredocs: { delimiter: string; stripTabs: boolean }[] = [];

  constructor(
    private readonly src: string,
    private readonly file: string,
  ) {
    for (let i = 0; i < src.length; i++) if (src[i] === '\n') this.lineStarts.push(i + 1);
  }

  lineAt(offset: number): number {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  }

  private fail(offset: number, message: string): never {
    throw new InputError([{ file: this.file, line: this.lineAt(offset), message }]);
  }

  /** Skips a continuation at pos if there is one; true when it did. */
  private continuation(): boolean {
    const { src } = this;
    if (src[this.pos] !== '\\') return false;
    if (src[this.pos + 1] === '\n') {
      this.pos += 2;
      return true;
    }
    const blanks = TRAILING_BLANKS_CONTINUATION.exec(src.slice(this.pos, this.pos + 200));
    if (blanks) {
      this.notes.push({ line: this.lineAt(this.pos), message: 'a backslash followed by blanks is read as a line continuation' });
      this.pos += blanks[0].length;
      return true;
    }
    return false;
  }

  run(): Token[] {
    const { src } = this;
    while (this.pos < src.length) {
      const c = src[this.pos]!;
      if (c === ' ' || c === '\t' || c === '\r') this.pos++;
      else if (this.continuation()) continue;
      else if (c === '#') while (this.pos < src.length && src[this.pos] !== '\n') this.pos++;
      else if (c === '\n') {
        this.op('newline', 1);
        this.readHeredocBodies();
      } else if (/^[<>]\(/.test(src.slice(this.pos, this.pos + 2))) {
        // Process substitution, `>(tee log)`: a word that names a pipe; kept as written.
        const start = this.pos;
        this.pos = this.matchParen(this.pos + 1);
        this.tokens.push({ type: 'word', word: { parts: [{ kind: 'subst', source: src.slice(start, this.pos), quoted: false }], line: this.lineAt(start), start, end: this.pos } });
      } else if (this.readOperator()) continue;
      else this.readWordOrArray();
    }
    return this.tokens;
  }

  private op(op: Terminator, length: number): void {
    this.tokens.push({ type: 'op', op, line: this.lineAt(this.pos), start: this.pos, end: this.pos + length });
    this.pos += length;
  }

  private readOperator(): boolean {
    const rest = this.src.slice(this.pos, this.pos + 3);
    for (const op of ['&&', '||', '|&', ';', '&', '|', '(', ')'] as const) {
      if (op === '&' && rest.startsWith('&>')) continue;
      if (rest.startsWith(op)) {
        this.op(op, op.length);
        return true;
      }
    }
    const redirect = /^(&>>|&>|>>|>&|>\||<<<|<<-|<<|<&|<>|>|<)/.exec(rest);
    if (!redirect) return false;
    this.redirect(redirect[1]!, undefined, this.pos);
    return true;
  }

  private redirect(op: string, fd: number | undefined, start: number): void {
    this.pos += op.length;
    this.tokens.push({ type: 'redirect', op, fd, line: this.lineAt(start), start, end: this.pos });
    if (op === '<<' || op === '<<-') {
      while (this.src[this.pos] === ' ' || this.src[this.pos] === '\t') this.pos++;
      const word = this.readWord();
      const delimiter = word.parts.map((part) => (part.kind === 'text' ? part.text : part.source)).join('');
      this.tokens.push({ type: 'word', word });
      this.pendingHeredocs.push({ delimiter, stripTabs: op === '<<-' });
    }
  }

  /** After the newline that ends a line with `<<EOF`: skips the body up to the delimiter line. */
  private readHeredocBodies(): void {
    for (const { delimiter, stripTabs } of this.pendingHeredocs) {
      const opened = this.pos;
      for (;;) {
        if (this.pos >= this.src.length) this.fail(opened, `the heredoc ending with ${delimiter} is not closed`);
        const end = this.src.indexOf('\n', this.pos);
        const lineText = this.src.slice(this.pos, end < 0 ? undefined : end);
        this.pos = end < 0 ? this.src.length : end + 1;
        if ((stripTabs ? lineText.replace(/^\t+/, '') : lineText) === delimiter) break;
      }
    }
    this.pendingHeredocs = [];
  }

  private readWordOrArray(): void {
    const start = this.pos;
    const word = this.readWord();
    const only = word.parts.length === 1 ? word.parts[0] : undefined;
    const assignment = only?.kind === 'text' && !only.quoted ? /^([A-Za-z_][A-Za-z0-9_]*)(\+?)=$/.exec(only.text) : null;
    if (assignment && this.src[this.pos] === '(') {
      this.pos++;
      const elements = this.readArrayElements(start);
      this.tokens.push({ type: 'array', name: assignment[1]!, append: assignment[2] === '+', elements, line: word.line, start, end: this.pos });
      return;
    }
    // `2>&1`, `2> log`: digits right before a redirection are its file descriptor.
    if (only?.kind === 'text' && !only.quoted && /^\d+$/.test(only.text) && (this.src[this.pos] === '>' || this.src[this.pos] === '<')) {
      const redirect = /^(>>|>&|>\||<&|<>|>|<)/.exec(this.src.slice(this.pos, this.pos + 2))!;
      this.redirect(redirect[1]!, Number(only.text), start);
      return;
    }
    if (word.parts.length === 0) this.fail(start, `cannot read ${JSON.stringify(this.src[start])} here`);
    this.tokens.push({ type: 'word', word });
  }

  private readArrayElements(opened: number): RawWord[] {
    const { src } = this;
    const elements: RawWord[] = [];
    for (;;) {
      if (this.pos >= src.length) this.fail(opened, 'the array opened here is not closed with )');
      const c = src[this.pos]!;
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') this.pos++;
      else if (this.continuation()) continue;
      else if (c === '#') while (this.pos < src.length && src[this.pos] !== '\n') this.pos++;
      else if (c === ')') {
        this.pos++;
        return elements;
      } else {
        const word = this.readWord();
        if (word.parts.length === 0) this.fail(this.pos, `cannot read ${JSON.stringify(c)} inside an array`);
        elements.push(word);
      }
    }
  }

  private readWord(): RawWord {
    const { src } = this;
    const start = this.pos;
    const parts: Part[] = [];
    const text = (t: string, quoted: boolean) => {
      const last = parts[parts.length - 1];
      if (last?.kind === 'text' && last.quoted === quoted) last.text += t;
      else parts.push({ kind: 'text', text: t, quoted });
    };
    while (this.pos < src.length) {
      const c = src[this.pos]!;
      if (META.has(c) || c === '\r') break;
      if (c === '\\') {
        if (TRAILING_BLANKS_CONTINUATION.test(src.slice(this.pos, this.pos + 200))) break;
        if (src[this.pos + 1] === '\n') {
          this.pos += 2;
          continue;
        }
        if (this.pos + 1 < src.length) text(src[this.pos + 1]!, true);
        this.pos += 2;
      } else if (c === "'") {
        const end = src.indexOf("'", this.pos + 1);
        if (end < 0) this.fail(this.pos, "unterminated ' quote");
        text(src.slice(this.pos + 1, end), true);
        this.pos = end + 1;
      } else if (c === '"') {
        this.readDoubleQuoted(parts, text);
      } else if (c === '$' && src[this.pos + 1] === "'") {
        this.readAnsiQuoted(text);
      } else if (c === '$' || c === '`') {
        const part = this.readDollar(false);
        if (part) parts.push(part);
        else text('$', false);
      } else {
        text(c, false);
        this.pos++;
      }
    }
    return { parts, line: this.lineAt(start), start, end: this.pos };
  }

  private readDoubleQuoted(parts: Part[], text: (t: string, quoted: boolean) => void): void {
    const { src } = this;
    const opened = this.pos;
    this.pos++;
    const size = () => `${parts.length} ${(parts[parts.length - 1] as { text?: string } | undefined)?.text?.length}`;
    const before = size();
    for (;;) {
      if (this.pos >= src.length) this.fail(opened, 'unterminated " quote');
      const c = src[this.pos]!;
      if (c === '"') {
        this.pos++;
        // An empty "" still makes a word.
        if (size() === before) text('', true);
        return;
      }
      if (c === '\\' && '$`"\\\n'.includes(src[this.pos + 1] ?? '')) {
        if (src[this.pos + 1] !== '\n') text(src[this.pos + 1]!, true);
        this.pos += 2;
      } else if (c === '$' || c === '`') {
        const part = this.readDollar(true);
        if (part) parts.push(part);
        else text('$', true);
      } else {
        text(c, true);
        this.pos++;
      }
    }
  }

  private readAnsiQuoted(text: (t: string, quoted: boolean) => void): void {
    const { src } = this;
    const opened = this.pos;
    this.pos += 2;
    const escapes: Record<string, string> = { n: '\n', t: '\t', '\\': '\\', "'": "'", '"': '"', e: '\x1b', a: '\x07', r: '\r', '0': '\0' };
    for (;;) {
      if (this.pos >= src.length) this.fail(opened, "unterminated $' quote");
      const c = src[this.pos]!;
      if (c === "'") {
        this.pos++;
        return;
      }
      if (c === '\\' && this.pos + 1 < src.length) {
        const next = src[this.pos + 1]!;
        text(escapes[next] ?? `\\${next}`, true);
        this.pos += 2;
      } else {
        text(c, true);
        this.pos++;
      }
    }
  }

  /** `$NAME`, `${NAME…}`, `$(…)`, `` `…` ``, `$1`, `$@`; undefined for a lone `$` (consumed). */
  private readDollar(quoted: boolean): Part | undefined {
    const { src } = this;
    const start = this.pos;
    if (src[start] === '`') {
      let i = start + 1;
      while (i < src.length && src[i] !== '`') i += src[i] === '\\' ? 2 : 1;
      if (i >= src.length) this.fail(start, 'unterminated ` command substitution');
      this.pos = i + 1;
      return { kind: 'subst', source: src.slice(start, this.pos), quoted };
    }
    const next = src[start + 1];
    if (next === '(') {
      this.pos = this.matchParen(start + 1);
      return { kind: 'subst', source: src.slice(start, this.pos), quoted };
    }
    if (next === '{') return this.readBraced(quoted);
    const name = /^([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])/.exec(src.slice(start + 1, start + 200));
    if (!name) {
      this.pos++;
      return undefined;
    }
    this.pos = start + 1 + name[1]!.length;
    return { kind: 'var', name: name[1]!, quoted, source: src.slice(start, this.pos) };
  }

  /** Offset just after the `)` matching the `(` at `open`, skipping quoted text. */
  private matchParen(open: number): number {
    const { src } = this;
    let depth = 0;
    for (let i = open; i < src.length; i++) {
      const c = src[i]!;
      if (c === '\\') i++;
      else if (c === "'") {
        i = src.indexOf("'", i + 1);
        if (i < 0) break;
      } else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) return i + 1;
    }
    return this.fail(open - 1, `unterminated ${this.src.slice(open - 1, open + 1)} substitution`);
  }

  private readBraced(quoted: boolean): Part {
    const { src } = this;
    const start = this.pos;
    const close = this.matchBrace(start + 1);
    const inner = src.slice(start + 2, close);
    const source = src.slice(start, close + 1);
    const match = /^([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])(?:\[([^\]]+)\])?(?:(:?[-=+?])([\s\S]*))?$/.exec(inner);
    if (!match) {
      // ${#x}, ${x%…}, ${x/…}: not followed; kept as written for the caller to warn about.
      this.pos = close + 1;
      return { kind: 'subst', source, quoted };
    }
    let operand: Part[] | undefined;
    if (match[3] !== undefined) {
      const operandStart = start + 2 + inner.length - match[4]!.length;
      this.pos = operandStart;
      operand = this.readOperand(close, quoted);
    }
    this.pos = close + 1;
    return { kind: 'var', name: match[1]!, index: match[2], op: match[3], operand, quoted, source };
  }

  private matchBrace(open: number): number {
    const { src } = this;
    let depth = 0;
    for (let i = open; i < src.length; i++) {
      const c = src[i]!;
      if (c === '\\') i++;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) return i;
    }
    return this.fail(open - 1, 'unterminated ${ variable reference');
  }

  /** The word after `:-` in `${X:-word}`, up to `end`. */
  private readOperand(end: number, quoted: boolean): Part[] {
    const { src } = this;
    const parts: Part[] = [];
    const text = (t: string, q: boolean) => {
      const last = parts[parts.length - 1];
      if (last?.kind === 'text' && last.quoted === q) last.text += t;
      else parts.push({ kind: 'text', text: t, quoted: q });
    };
    while (this.pos < end) {
      const c = src[this.pos]!;
      if (c === '\\' && this.pos + 1 < end) {
        text(src[this.pos + 1]!, true);
        this.pos += 2;
      } else if (c === "'" && !quoted) {
        const close = src.indexOf("'", this.pos + 1);
        text(src.slice(this.pos + 1, close), true);
        this.pos = close + 1;
      } else if (c === '"') {
        this.pos++;
      } else if (c === '$' || c === '`') {
        const part = this.readDollar(quoted);
        if (part) parts.push(part);
        else text('$', quoted);
      } else {
        text(c, quoted);
        this.pos++;
      }
    }
    return parts;
  }
}

/** Groups tokens into simple commands. */
function toCommands(tokens: Token[], file: string): SimpleCommand[] {
  const commands: SimpleCommand[] = [];
  let current: SimpleCommand | undefined;
  const open = (line: number, start: number): SimpleCommand => (current ??= { assignments: [], words: [], redirects: [], heredocs: [], terminator: 'eof', line, start, end: start });
  const close = (terminator: Terminator) => {
    if (current) {
      current.terminator = terminator;
      commands.push(current);
    }
    current = undefined;
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.type === 'op') {
      close(token.op);
      continue;
    }
    const command = open(token.type === 'word' ? token.word.line : token.line, token.type === 'word' ? token.word.start : token.start);
    const declaring = command.words.length > 0 && DECLARATION.has(plainText(command.words[0]!) ?? '');
    if (token.type === 'array') {
      if (command.words.length > 0 && !declaring) throw new InputError([{ file, line: token.line, message: `an array assignment ${token.name}=( … ) cannot be an argument` }]);
      command.assignments.push({ name: token.name, append: token.append, elements: token.elements, line: token.line });
      command.end = token.end;
    } else if (token.type === 'redirect') {
      const next = tokens[i + 1];
      const target = next?.type === 'word' ? next.word : undefined;
      if (target) i++;
      else if (token.op !== '>&' || token.fd === undefined) throw new InputError([{ file, line: token.line, message: `${token.op} needs a file name after it` }]);
      command.redirects.push({ op: token.op, fd: token.fd, target, line: token.line });
      if (token.op === '<<' || token.op === '<<-') command.heredocs.push(token.line);
      command.end = target?.end ?? token.end;
    } else {
      const first = token.word.parts[0];
      const assignment = first?.kind === 'text' && !first.quoted ? ASSIGNMENT.exec(first.text) : null;
      if (assignment && (command.words.length === 0 || declaring)) {
        // The value is the rest of the word: the first part minus `NAME=`, then the other parts.
        const rest: Part[] = [{ ...first!, text: (first as { text: string }).text.slice(assignment[0].length) } as Part, ...token.word.parts.slice(1)];
        command.assignments.push({ name: assignment[1]!, append: assignment[2] === '+', value: { ...token.word, parts: rest }, line: token.word.line });
      } else command.words.push(token.word);
      command.end = token.word.end;
    }
  }
  close('eof');
  return commands;
}

/** The text of a word made of literal text only, else undefined. */
export function plainText(word: RawWord): string | undefined {
  let text = '';
  for (const part of word.parts) {
    if (part.kind !== 'text') return undefined;
    text += part.text;
  }
  return text;
}

export interface ReadOptions {
  /** 0-based line numbers whose leading `# ` is a prompt, not a comment. */
  promptLines?: Set<number>;
}

/** Reads shell text into simple commands; throws InputError naming file and line when it cannot. */
export function readShell(text: string, file: string, options: ReadOptions = {}): ShellText {
  const notes: ImportNote[] = [];
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  // After a prompted line, a terminal shows `> ` (PS2) before each continuation line.
  let prompted = false;
  const blanked = lines.map((line, i) => {
    const continued = prompted && /\\[ \t]*$/.test(lines[i - 1] ?? '');
    const prompt = continued ? (/^\s*> /.exec(line)?.[0].length ?? 0) : promptLength(line, options.promptLines?.has(i) ?? false);
    if (!continued) prompted = prompt > 0;
    if (prompt === 0) return line;
    const what = continued ? 'continuation prompt' : 'prompt';
    notes.push({ line: i + 1, message: `the ${what} ${JSON.stringify(line.slice(0, prompt).trim())} before the command is dropped` });
    return ' '.repeat(prompt) + line.slice(prompt);
  });
  const source = blanked.join('\n');
  const lexer = new Lexer(source, file);
  const tokens = lexer.run();
  return { commands: toCommands(tokens, file), notes: [...notes, ...lexer.notes], source };
}

// `$ cmd`, `user@host:~$ cmd`, `[root@host ~]# cmd`: never shell of their own. A bare `# ` is, a comment,
// unless the caller says that line is a prompt (see promptCandidates).
const USER_PROMPT = /^\s*(?:\[[^\]\n]*\]|[A-Za-z0-9._-]+@[A-Za-z0-9._-]+:[^\s#$]*)[#$] /;
const DOLLAR_PROMPT = /^\s*\$ /;

function promptLength(line: string, hashIsPrompt: boolean): number {
  const match = DOLLAR_PROMPT.exec(line) ?? USER_PROMPT.exec(line) ?? (hashIsPrompt ? /^\s*# /.exec(line) : null);
  return match ? match[0].length : 0;
}

const QEMU_WORD = /(^|\/)(qemu-system-[A-Za-z0-9_.-]+|qemu-kvm)$/;
const WRAPPERS = new Set(['sudo', 'doas', 'exec', 'env', 'taskset', 'chrt', 'nice', 'numactl', 'nohup', 'time', 'ionice', 'prlimit', 'setsid']);

/**
 * Lines starting `# ` that are prompts rather than comments, 0-based. Such a line is a prompt when
 * (1) it ends with a backslash continuation and the next line is a command line (neither blank nor
 * a comment): a comment cannot continue onto an uncommented line, so the `#` was a root prompt; or
 * (2) `qemuWanted` (the script has no QEMU command otherwise) and its first word, after wrappers
 * like sudo/taskset/chrt and their options, is a QEMU binary.
 */
export function promptCandidates(text: string, qemuWanted: boolean): Set<number> {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const prompts = new Set<number>();
  lines.forEach((line, i) => {
    const match = /^\s*# (.*)$/.exec(line);
    if (!match) return;
    const next = lines[i + 1];
    if (/\\[ \t]*$/.test(line) && next !== undefined && next.trim() !== '' && !next.trim().startsWith('#')) prompts.add(i);
    else if (qemuWanted && startsWithQemu(match[1]!)) prompts.add(i);
  });
  return prompts;
}

function startsWithQemu(rest: string): boolean {
  for (const word of rest.trim().split(/\s+/)) {
    const bare = word.replace(/^["']|["']$/g, '');
    if (QEMU_WORD.test(bare)) return true;
    const name = bare.slice(bare.lastIndexOf('/') + 1);
    if (WRAPPERS.has(name) || bare.startsWith('-') || /^[0-9a-fA-Fx,-]+$/.test(bare) || /^[A-Za-z_]\w*=/.test(bare)) continue;
    return false;
  }
  return false;
}

export { QEMU_WORD };
