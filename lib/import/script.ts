/**
 * Reads a shell script or pasted command line that starts QEMU, without running a shell: the QEMU
 * command with variables and arrays expanded, the wrappers in front of it (sudo, taskset, chrt,
 * nice…), and the script's other commands, handed to importHostSteps.
 */
import { parseCpuList, parseCpuMask } from '../cpu-list.js';
import { InputError } from '../errors.js';
import { importHostSteps, type HostCommand, type HostImport, type ImportNote } from './host-steps.js';
import { plainText, promptCandidates, QEMU_WORD, readShell, type Part, type RawWord, type SimpleCommand } from './shell-words.js';

export type { HostImport, ImportNote } from './host-steps.js';

export interface Word {
  text: string;
  /** 1-based line in the input: where the word is written (an array element: where the element is). */
  line: number;
}

export interface ScriptCommand {
  /** qemu-system-x86_64, or a path/variable-expanded path to it. */
  binary: Word;
  /** Every word after the binary: variables and arrays expanded, quotes removed, split key=value lists joined. */
  args: Word[];
  /** From `taskset -c LIST`, `-ac LIST`, or a hex mask; CPUs sorted, each once. */
  taskset?: { cpus: number[]; line: number };
  chrt?: { policy: 'rr' | 'fifo' | 'other' | 'batch' | 'idle'; priority: number; line: number };
  nice?: { value: number; line: number };
  /** `sudo [-u user]` in front: QEMU ran as root, or as that user (host.runAs). */
  sudo?: { user?: string; line: number };
  /** `VAR=value qemu…` or `env VAR=value qemu…` (also warned about: a profile has no environment). */
  env?: { name: string; value: string; line: number }[];
  /** `numactl OPTIONS` in front, its options as written (also warned about). */
  numactl?: { args: string[]; line: number };
}

export interface ParsedScript {
  command: ScriptCommand;
  /** The script's other lines that are host steps. */
  host: HostImport;
  /** Things the user must check, by line; host.warnings included. */
  warnings: ImportNote[];
  /** What was understood and dropped on purpose, by line; host.notes included. */
  notes: ImportNote[];
}

/**
 * Reads `text` (the contents of `file`). Throws InputError with file and line when there is no
 * QEMU command or the text cannot be read as shell (unterminated quote, array or substitution).
 *
 * A line starting with `$ ` (or `user@host:~$ `, `[root@host ~]# `) is a pasted prompt. One
 * starting with `# ` is a comment, except when it is a prompt (lib/import/shell-words.ts
 * promptCandidates): it continues with a backslash onto an uncommented line, or the script has no
 * QEMU command otherwise and this line's command (after sudo/taskset/chrt…) is one.
 */
export function parseScript(text: string, file: string): ParsedScript {
  let run = interpret(text, file, false);
  if (run.qemu.length === 0) {
    const retry = interpret(text, file, true);
    if (retry.qemu.length > 0) run = retry;
  }
  const last = run.qemu[run.qemu.length - 1];
  if (!last) {
    // `$QEMU -m 4G` with QEMU set outside the script: say so.
    const unset = run.warnings.find((note) => note.message.includes(' is not set in the script'));
    const hint = unset ? `; ${unset.message.slice(0, unset.message.indexOf(' is not set') + ' is not set in the script'.length)} (line ${unset.line})` : '';
    throw new InputError([{ file, message: `no QEMU command (qemu-system-… or qemu-kvm) found in it${hint}` }]);
  }
  for (const other of run.qemu.slice(0, -1)) {
    run.warnings.push({ line: other.binary.line, message: `this QEMU command is not imported: a later one (line ${last.binary.line}) is, the last one the script starts` });
  }
  const host = importHostSteps(run.hostCommands);
  return { command: last, host, warnings: byLine([...run.warnings, ...host.warnings]), notes: byLine([...run.notes, ...host.notes]) };
}

/**
 * Reads a script that only prepares the host (the blog's on-boot.sh): its commands through
 * importHostSteps; a QEMU command in it is warned about (parseScript is for those). Notes and
 * warnings include the script-reading ones (prompts, unset variables…).
 */
export function parseHostScript(text: string, file: string): HostImport {
  const run = interpret(text, file, false);
  const host = importHostSteps(run.hostCommands);
  const qemu = run.qemu.map((command): ImportNote => ({ line: command.binary.line, message: 'a QEMU command in a host script is not imported: import it as the VM\'s script' }));
  return { ...host, warnings: byLine([...run.warnings, ...qemu, ...host.warnings]), notes: byLine([...run.notes, ...host.notes]) };
}

/** Sorted by line (stable), each once: a loop body reads the same line once per value. */
function byLine(notes: ImportNote[]): ImportNote[] {
  const seen = new Set<string>();
  return notes
    .filter((note) => {
      const key = `${note.line}\0${note.message}`;
      return !seen.has(key) && Boolean(seen.add(key));
    })
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

interface Run {
  qemu: ScriptCommand[];
  hostCommands: HostCommand[];
  warnings: ImportNote[];
  notes: ImportNote[];
}

function interpret(text: string, file: string, hashPrompts: boolean): Run {
  const shell = readShell(text, file, { promptLines: promptCandidates(text, hashPrompts) });
  const interpreter = new Interpreter(file, shell.source);
  interpreter.notes.push(...shell.notes);
  interpreter.runCommands(shell.commands, 0);
  return interpreter;
}

/** A command's first word after `then`, `do`, `else`, `{`, `!`: `for`, `while`, `done`… */
function leadingKeyword(command: SimpleCommand): string | undefined {
  for (const word of command.words) {
    const text = plainText(word);
    if (text === undefined || !OPENING_KEYWORDS.has(text)) return text;
  }
  return undefined;
}

/**
 * `name() {` or `function name [()] {` at commands[start]: its name, where its body starts, and the
 * index of the closing `}` (the body runs up to it, the `}` itself skipped as a closing keyword).
 */
function functionDefinition(commands: SimpleCommand[], start: number): { name: string; bodyStart: number; end: number } | undefined {
  const head = commands[start]!;
  const words = head.words.map(plainText);
  let name: string | undefined;
  let braceInHead = false;
  if (words[0] === 'function' && words[1] !== undefined) {
    name = words[1];
    braceInHead = words[2] === '{';
  } else if (words.length === 1 && head.terminator === '(') name = words[0];
  if (name === undefined || !/^[A-Za-z_][A-Za-z0-9_:.-]*$/.test(name)) return undefined;
  const bodyStart = start + 1;
  const opening = commands[bodyStart]?.words[0];
  if (!braceInHead && (opening === undefined || plainText(opening) !== '{')) return undefined;
  let depth = braceInHead ? 1 : 0;
  for (let i = bodyStart; i < commands.length; i++) {
    const first = commands[i]!.words[0];
    const text = first ? plainText(first) : undefined;
    if (text === '{') depth++;
    else if (text === '}' && --depth === 0) return { name, bodyStart, end: i };
  }
  return undefined;
}

/** Index of the `done` closing the loop that commands[start] opens (commands.length when missing). */
function matchingDone(commands: SimpleCommand[], start: number): number {
  let depth = 1;
  for (let i = start + 1; i < commands.length; i++) {
    const keyword = leadingKeyword(commands[i]!);
    if (keyword === 'for' || keyword === 'while' || keyword === 'until' || keyword === 'select') depth++;
    else if (keyword === 'done' && --depth === 0) return i;
  }
  return commands.length;
}

const OPENING_KEYWORDS = new Set(['then', 'do', 'else', '{', '!']);
const CONDITION_KEYWORDS = new Set(['if', 'elif', 'while', 'until']);
const CLOSING_KEYWORDS = new Set(['fi', 'done', 'esac', '}']);
const UNFOLLOWED_KEYWORDS = new Set(['select', 'function']);
const DECLARATIONS = new Set(['export', 'declare', 'typeset', 'local', 'readonly']);
// Not a VM start: asking QEMU about itself.
const QUERY_ARGS = /^(--?version|--?help|-h|help|\?)$/;
// Wrappers boot-vm has no setting for: dropped with a warning. Any other command that merely names a
// QEMU binary (`ls -l /usr/bin/qemu-kvm`, `apt install …`) is not QEMU's.
const FOREIGN_WRAPPERS = new Set(['systemd-run', 'cgexec', 'runuser', 'schedtool', 'stdbuf', 'unbuffer', 'firejail', 'setpriv', 'capsh', 'sg', 'flock', 'timeout', 'systemd-inhibit', 'cpulimit', 'strace', 'valgrind', 'gdb']);

class Interpreter implements Run {
  readonly vars = new Map<string, Word[]>();
  readonly qemu: ScriptCommand[] = [];
  readonly hostCommands: HostCommand[] = [];
  readonly warnings: ImportNote[] = [];
  readonly notes: ImportNote[] = [];
  private readonly warnedVars = new Set<string>();
  private readonly functions = new Map<string, SimpleCommand[]>();
  private callDepth = 0;
  private caseDepth = 0;

  constructor(
    private readonly file: string,
    private readonly source: string,
  ) {}

  /** `lineOffset`: added to lines of commands read from a `sh -c '…'` string (which starts on that line, 1-based, minus one). */
  runCommands(commands: SimpleCommand[], lineOffset: number, text?: string): void {
    let pipeline: SimpleCommand[] = [];
    for (let i = 0; i < commands.length; i++) {
      const command = commands[i]!;
      const definition = pipeline.length === 0 ? functionDefinition(commands, i) : undefined;
      if (definition) {
        this.functions.set(definition.name, commands.slice(definition.bodyStart, definition.end));
        i = definition.end;
        continue;
      }
      if (pipeline.length === 0 && leadingKeyword(command) === 'for') {
        const end = matchingDone(commands, i);
        this.runFor(command, commands.slice(i + 1, end), lineOffset, text);
        i = end;
        continue;
      }
      pipeline.push(command);
      if (command.terminator !== '|' && command.terminator !== '|&') {
        this.runPipeline(pipeline, lineOffset, text);
        pipeline = [];
      }
    }
    if (pipeline.length > 0) this.runPipeline(pipeline, lineOffset, text);
  }

  /** Reads a function's body where it is called, with $1… $@ $# set to its arguments. */
  private call(body: SimpleCommand[], args: Word[], lineOffset: number, line: number): void {
    if (this.callDepth >= 8) {
      this.warnings.push({ line, message: 'functions call each other more than 8 deep: this call is not followed' });
      return;
    }
    const positional = ['@', '#', ...Array.from({ length: 9 }, (_, i) => String(i + 1))];
    const saved = positional.map((name) => this.vars.get(name));
    positional.forEach((name) => this.vars.delete(name));
    args.forEach((arg, i) => this.vars.set(String(i + 1), [arg]));
    this.vars.set('@', args);
    this.vars.set('#', [{ text: String(args.length), line }]);
    this.callDepth++;
    try {
      this.runCommands(body, lineOffset);
    } finally {
      this.callDepth--;
      positional.forEach((name, i) => (saved[i] ? this.vars.set(name, saved[i]!) : this.vars.delete(name)));
    }
  }

  /** `for VAR in WORDS…; do BODY; done`: the body read once per word (globs are not expanded: a word with `*` is one value). */
  private runFor(head: SimpleCommand, body: SimpleCommand[], lineOffset: number, outerText: string | undefined): void {
    const words = head.words.slice(head.words.findIndex((word) => plainText(word) === 'for'));
    const name = words[1] ? plainText(words[1]) : undefined;
    const line = head.line + lineOffset;
    if (name === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || words[2] === undefined || plainText(words[2]) !== 'in') {
      this.warnings.push({ line, message: `${this.sourceText(head.start, head.end)}: only \`for NAME in WORDS\` loops are followed; the commands in this one are read once, with its variable unset` });
      this.runCommands(body, lineOffset, outerText);
      return;
    }
    const values = words.slice(3).flatMap((word) => this.expand(word, lineOffset, true));
    for (const value of values) {
      this.vars.set(name, [value]);
      this.runCommands(body, lineOffset, outerText);
    }
  }

  private runPipeline(pipeline: SimpleCommand[], lineOffset: number, outerText: string | undefined): void {
    const first = pipeline[0]!;
    const line = first.line + lineOffset;
    const text = outerText ?? this.sourceText(first.start, pipeline[pipeline.length - 1]!.end);
    const expanded: { words: Word[]; command: SimpleCommand; env: ScriptCommand['env'] }[] = [];
    for (const command of pipeline) {
      if (command.heredocs.length > 0) this.warnings.push({ line: command.line + lineOffset, message: 'a heredoc is not read: its text is skipped' });
      if (command.terminator === '(') {
        this.warnings.push({ line: command.line + lineOffset, message: `${text}: a subshell is not followed: the commands in it are read as if they ran once, where they are written` });
        continue;
      }
      let words = command.words;
      let keyword = words[0] ? plainText(words[0]) : undefined;
      while (keyword !== undefined && (OPENING_KEYWORDS.has(keyword) || CONDITION_KEYWORDS.has(keyword))) {
        if (keyword === 'if' || keyword === 'elif') this.warnings.push({ line: command.line + lineOffset, message: `${keyword}: conditions are not evaluated; every branch is read as if it ran` });
        else if (CONDITION_KEYWORDS.has(keyword)) this.warnings.push({ line: command.line + lineOffset, message: `${keyword}: the loop's condition is not evaluated; its body is read once` });
        words = words.slice(1);
        keyword = words[0] ? plainText(words[0]) : undefined;
      }
      if (keyword === 'esac') this.caseDepth = Math.max(0, this.caseDepth - 1);
      if (keyword !== undefined && CLOSING_KEYWORDS.has(keyword) && words.length === 1) continue;
      // `start)` in a case: a pattern, not a command.
      if (this.caseDepth > 0 && command.terminator === ')' && words.length === 1 && command.assignments.length === 0) continue;
      const body = keyword !== undefined ? this.functions.get(keyword) : undefined;
      if (body) {
        this.call(body, words.slice(1).flatMap((word) => this.expand(word, lineOffset, true)), lineOffset, command.line + lineOffset);
        continue;
      }
      if (keyword === 'case') {
        this.caseDepth++;
        this.warnings.push({ line: command.line + lineOffset, message: `${text}: the case is not evaluated; every branch is read as if it ran` });
        continue;
      }
      if (keyword !== undefined && UNFOLLOWED_KEYWORDS.has(keyword)) {
        this.warnings.push({ line: command.line + lineOffset, message: `${text}: a ${keyword} is not followed; the commands in it are read once, with its variable unset` });
        continue;
      }
      if (keyword !== undefined && DECLARATIONS.has(keyword)) {
        for (const assignment of command.assignments) this.assign(assignment, lineOffset);
        continue;
      }
      if (words.length === 0) {
        for (const assignment of command.assignments) this.assign(assignment, lineOffset);
        continue;
      }
      const env = command.assignments.map((assignment) => ({ name: assignment.name, value: assignment.value ? this.expand(assignment.value, lineOffset, false).map((word) => word.text).join(' ') : '', line: assignment.line + lineOffset }));
      expanded.push({ words: words.flatMap((word) => this.expand(word, lineOffset, true)), command, env });
    }
    if (expanded.length === 0) return;
    const qemuAt = expanded.findIndex(({ words }) => words.some((word) => QEMU_WORD.test(word.text)));
    if (qemuAt >= 0) {
      const { words, env } = expanded[qemuAt]!;
      const found = this.readQemuCommand(words, env ?? []);
      if (found) {
        this.noteQemuPlumbing(expanded.map((entry) => entry.command), qemuAt, lineOffset);
        this.qemu.push(found);
        return;
      }
      if (found === null) return;
    }
    this.hostPipeline(expanded, line, text, lineOffset);
  }

  /** A command as written, continuations joined, for messages and comments. */
  private sourceText(start: number, end: number): string {
    return this.source.slice(start, end).replace(/\\[ \t]*\n/g, ' ').replace(/\s+/g, ' ').trim();
  }

  private assign(assignment: SimpleCommand['assignments'][number], lineOffset: number): void {
    const line = assignment.line + lineOffset;
    const values = assignment.elements
      ? assignment.elements.flatMap((element) => this.expand(element, lineOffset, true))
      : [{ text: this.expand(assignment.value!, lineOffset, false).map((word) => word.text).join(' '), line }];
    const old = this.vars.get(assignment.name);
    if (!assignment.append || !old) this.vars.set(assignment.name, values);
    else if (assignment.elements) this.vars.set(assignment.name, [...old, ...values]);
    else this.vars.set(assignment.name, [{ text: (old[0]?.text ?? '') + values[0]!.text, line: old[0]?.line ?? line }, ...old.slice(1)]);
  }

  /** Expands one word into fields; `split`: split unquoted expansions on blanks, as bash does outside assignments. */
  expand(word: RawWord, lineOffset: number, split: boolean): Word[] {
    const fields: Word[] = [];
    let current: Word | undefined;
    const line = word.line + lineOffset;
    const append = (text: string, at = line) => {
      if (current) current.text += text;
      else current = { text, line: at };
    };
    const endField = () => {
      if (current) fields.push(current);
      current = undefined;
    };
    const pieces = (values: Word[], quoted: boolean, separate: boolean) => {
      values.forEach((value, i) => {
        if (i > 0 && (separate || (split && !quoted))) endField();
        else if (i > 0) append(' ');
        if (quoted || !split) append(value.text, value.line);
        else {
          const words = value.text.split(/[ \t\n]+/);
          words.forEach((piece, j) => {
            if (j > 0) endField();
            if (piece !== '') append(piece, value.line);
          });
        }
      });
    };
    const expandParts = (parts: Part[]) => {
      for (const part of parts) {
        if (part.kind === 'text') append(part.text);
        else if (part.kind === 'subst') {
          // `$(which qemu-system-x86_64)`: the program's name is as good as its path here.
          const which = /^(?:\$\(|`)\s*(?:which|command -v|type -P)\s+([A-Za-z0-9_./-]+)\s*(?:\)|`)$/.exec(part.source);
          const arithmetic = /^\$\(\(([\s\S]*)\)\)$/.exec(part.source);
          const value = arithmetic ? this.arithmetic(arithmetic[1]!) : undefined;
          if (value !== undefined) append(String(value));
          else if (which) {
            this.notes.push({ line, message: `${part.source} is read as ${which[1]}` });
            append(which[1]!);
          } else {
            this.warnings.push({ line, message: `${part.source} is not run: kept as written` });
            append(part.source);
          }
        } else {
          const values = this.lookup(part, line, lineOffset);
          if (values === undefined) append(part.source);
          else if (values === 'operand') expandParts(part.operand ?? []);
          else pieces(values, part.quoted, (part.index === '@' || part.name === '@') && part.quoted);
          // "$EMPTY" still makes an empty word; "${EMPTY[@]}" and "$@" without arguments make none.
          if (part.quoted && current === undefined && !((part.index === '@' || part.name === '@') && Array.isArray(values) && values.length === 0)) append('');
        }
      }
    };
    expandParts(word.parts);
    endField();
    return fields;
  }

  /** A variable's values; 'operand' when `${X:-word}` takes its word; undefined (and a warning) when unset. */
  private lookup(part: Extract<Part, { kind: 'var' }>, line: number, lineOffset: number): Word[] | 'operand' | undefined {
    const stored = this.vars.get(part.name);
    const all = part.index === '@' || part.index === '*' || part.name === '@' || part.name === '*';
    const picked = stored === undefined ? undefined : all ? stored : [stored[Number(part.index ?? 0)]].filter((value): value is Word => value !== undefined);
    // Array elements keep the lines they are written on; a plain $X is where it is used.
    const values = part.index === undefined && !all ? picked?.map((value) => ({ text: value.text, line })) : picked;
    const empty = values === undefined || values.every((value) => value.text === '');
    switch (part.op) {
      case ':-':
        return empty ? 'operand' : values;
      case '-':
        return values === undefined ? 'operand' : values;
      case ':=':
      case '=':
        if (part.op === ':=' ? empty : values === undefined) {
          const assigned = (part.operand ?? []).map((p) => (p.kind === 'text' ? p.text : this.lookupText(p, line, lineOffset))).join('');
          this.vars.set(part.name, [{ text: assigned, line }]);
          return 'operand';
        }
        return values;
      case ':+':
        return empty ? [] : 'operand';
      case '+':
        return values === undefined ? [] : 'operand';
      default:
        if (values !== undefined) return values;
        if (!this.warnedVars.has(part.name)) {
          this.warnedVars.add(part.name);
          this.warnings.push({ line, message: `$${part.name} is not set in the script: ${part.source} is kept as written` });
        }
        return undefined;
    }
  }

  /** `$(( … ))` over integers and the script's variables: + - * / % and parentheses; undefined when it is anything else. */
  private arithmetic(expression: string): number | undefined {
    const tokens = expression.match(/\d+|[A-Za-z_][A-Za-z0-9_]*|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|[-+*/%()]|\S/g) ?? [];
    let i = 0;
    const operand = (): number | undefined => {
      const token = tokens[i++];
      if (token === undefined) return undefined;
      if (token === '(') {
        const inner = sum();
        return tokens[i++] === ')' ? inner : undefined;
      }
      if (token === '-' || token === '+') {
        const value = operand();
        return value === undefined ? undefined : token === '-' ? -value : value;
      }
      if (/^\d+$/.test(token)) return Number(token);
      const name = /^\$?\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(token)?.[1];
      const text = name === undefined ? undefined : this.vars.get(name)?.[0]?.text;
      return text !== undefined && /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : undefined;
    };
    const product = (): number | undefined => {
      let value = operand();
      while (value !== undefined && (tokens[i] === '*' || tokens[i] === '/' || tokens[i] === '%')) {
        const op = tokens[i++];
        const right = operand();
        if (right === undefined || (op !== '*' && right === 0)) return undefined;
        value = op === '*' ? value * right : op === '/' ? Math.trunc(value / right) : value % right;
      }
      return value;
    };
    const sum = (): number | undefined => {
      let value = product();
      while (value !== undefined && (tokens[i] === '+' || tokens[i] === '-')) {
        const op = tokens[i++];
        const right = product();
        if (right === undefined) return undefined;
        value = op === '+' ? value + right : value - right;
      }
      return value;
    };
    const value = sum();
    return i === tokens.length ? value : undefined;
  }

  private lookupText(part: Part, line: number, lineOffset: number): string {
    if (part.kind !== 'var') return part.kind === 'text' ? part.text : part.source;
    const values = this.lookup(part, line, lineOffset);
    return Array.isArray(values) ? values.map((value) => value.text).join(' ') : part.source;
  }

  /**
   * The QEMU command in `words` after its wrappers; null when the command only asks QEMU about
   * itself (`--version`, `-device help`), undefined when the wrappers hide no QEMU binary.
   */
  private readQemuCommand(words: Word[], env: NonNullable<ScriptCommand['env']>): ScriptCommand | null | undefined {
    const command: Partial<ScriptCommand> = {};
    if (env.length > 0) command.env = [...env];
    let i = 0;
    while (i < words.length && !QEMU_WORD.test(words[i]!.text)) {
      const word = words[i]!;
      const next = this.readWrapper(words, i, command);
      if (next === undefined) {
        if (!FOREIGN_WRAPPERS.has(basename(word.text))) return undefined;
        const end = words.findIndex((w, j) => j > i && QEMU_WORD.test(w.text));
        if (end < 0) return undefined;
        this.warnings.push({ line: word.line, message: `${words.slice(i, end).map((w) => w.text).join(' ')} in front of QEMU is not understood: dropped` });
        i = end;
        break;
      }
      i = next;
    }
    if (i >= words.length) return undefined;
    const binary = words[i]!;
    const args = joinSplitLists(words.slice(i + 1), this.warnings);
    if (args.length <= 2 && args.some((arg) => QUERY_ARGS.test(arg.text))) {
      this.notes.push({ line: binary.line, message: `${binary.text} ${args.map((arg) => arg.text).join(' ')} only asks QEMU about itself: not the VM's command` });
      return null;
    }
    for (const { name, value, line: at } of command.env ?? []) this.warnings.push({ line: at, message: `QEMU's environment ${name}=${value} is not part of a profile: dropped` });
    return { ...command, binary, args } as ScriptCommand;
  }

  /** Reads the wrapper at words[i] into `command`; the index after it, or undefined when it is not one. */
  private readWrapper(words: Word[], i: number, command: Partial<ScriptCommand>): number | undefined {
    const word = words[i]!;
    const name = basename(word.text);
    const args = words.slice(i + 1).map((w) => w.text);
    const at = word.line;
    switch (name) {
      case 'sudo':
      case 'doas': {
        const { user, used } = readSudo(args);
        command.sudo = user === undefined ? { line: at } : { user, line: at };
        this.notes.push({ line: at, message: `${[name, ...args.slice(0, used)].join(' ')} is dropped: boot-vm runs as root${user ? `, QEMU as ${user} with host.runAs` : ''}` });
        return i + 1 + used;
      }
      case 'exec': {
        let used = 0;
        while (/^-[cl]+$/.test(args[used] ?? '') || args[used] === '-a') used += args[used] === '-a' ? 2 : 1;
        this.notes.push({ line: at, message: 'exec is dropped: boot-vm starts QEMU and waits for it' });
        return i + 1 + used;
      }
      case 'env': {
        let used = 0;
        for (; used < args.length; used++) {
          const arg = args[used]!;
          const assignment = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(arg);
          if (assignment) (command.env ??= []).push({ name: assignment[1]!, value: assignment[2]!, line: words[i + 1 + used]!.line });
          else if (arg === '-u' || arg === '-C') used++;
          else if (!arg.startsWith('-')) break;
        }
        return i + 1 + used;
      }
      case 'nohup':
      case 'setsid':
      case 'time':
        this.notes.push({ line: at, message: `${name} is dropped: boot-vm runs QEMU itself` });
        return i + 1 + (name === 'time' ? countLeading(args, /^-/) : 0);
      case 'prlimit': {
        const used = countLeading(args, /^-/);
        this.notes.push({ line: at, message: `${['prlimit', ...args.slice(0, used)].join(' ')} is dropped: boot-vm raises the locked-memory limit itself (host.memlock)` });
        return i + 1 + used;
      }
      case 'taskset':
        return this.readTaskset(words, i, command);
      case 'chrt':
        return this.readChrt(words, i, command);
      case 'nice':
        return this.readNice(words, i, command);
      case 'numactl': {
        let used = 0;
        while (used < args.length && args[used]!.startsWith('-')) {
          const arg = args[used]!;
          const takesValue = /^-[NmCipPw]$/.test(arg) || /^--(cpunodebind|membind|physcpubind|interleave|preferred|preferred-many|weighted-interleave|cpubind)$/.test(arg);
          used += takesValue ? 2 : 1;
        }
        command.numactl = { args: args.slice(0, used), line: at };
        this.warnings.push({ line: at, message: `numactl ${args.slice(0, used).join(' ')} is not imported: set pinning and memory's NUMA binding in the profile instead` });
        return i + 1 + used;
      }
      case 'ionice': {
        let used = 0;
        while (used < args.length && args[used]!.startsWith('-')) used += /^-[cn]$/.test(args[used]!) ? 2 : 1;
        this.warnings.push({ line: at, message: `ionice ${args.slice(0, used).join(' ')} is not imported: a profile has no I/O priority` });
        return i + 1 + used;
      }
      default:
        return undefined;
    }
  }

  private fail(line: number, message: string): never {
    throw new InputError([{ file: this.file, line, message }]);
  }

  private readTaskset(words: Word[], i: number, command: Partial<ScriptCommand>): number {
    const at = words[i]!.line;
    let list = false;
    let j = i + 1;
    for (; j < words.length; j++) {
      const arg = words[j]!.text;
      if (arg === '--cpu-list') list = true;
      else if (arg === '--all-tasks') continue;
      else if (/^-[ac]+$/.test(arg)) list ||= arg.includes('c');
      else if (arg === '-p' || arg === '--pid') this.fail(at, 'taskset -p changes a running process: expected taskset in front of the QEMU command');
      else break;
    }
    const spec = words[j]?.text;
    if (spec === undefined) this.fail(at, 'taskset needs a CPU list or mask');
    const cpus = list ? parseStridedCpuList(spec) : parseCpuMask(spec);
    if (!cpus || cpus.length === 0) this.fail(at, list ? `taskset: cannot read the CPU list ${spec}, expected one like 2-5,8` : `taskset: cannot read the CPU mask ${spec}, expected one like 0xf0`);
    command.taskset = { cpus: [...new Set(cpus)].sort((a, b) => a - b), line: at };
    return j + 1;
  }

  private readChrt(words: Word[], i: number, command: Partial<ScriptCommand>): number {
    const at = words[i]!.line;
    const letters: Record<string, NonNullable<ScriptCommand['chrt']>['policy'] | 'deadline'> = { r: 'rr', f: 'fifo', o: 'other', b: 'batch', i: 'idle', d: 'deadline' };
    let policy: NonNullable<ScriptCommand['chrt']>['policy'] | 'deadline' = 'rr';
    let j = i + 1;
    for (; j < words.length; j++) {
      const arg = words[j]!.text;
      const long = /^--(rr|fifo|other|batch|idle|deadline)$/.exec(arg);
      if (long) policy = long[1] as typeof policy;
      else if (arg === '--all-tasks' || arg === '--reset-on-fork' || arg === '--verbose') continue;
      else if (/^--sched-(runtime|deadline|period)$/.test(arg) || /^-[TPD]$/.test(arg)) j++;
      else if (arg === '-p' || arg === '--pid') this.fail(at, 'chrt -p changes a running process: expected chrt in front of the QEMU command');
      else if (/^-[rfobidaRv]+$/.test(arg)) {
        for (const letter of arg.slice(1)) if (letters[letter]) policy = letters[letter]!;
      } else break;
    }
    const priority = words[j]?.text;
    if (priority === undefined || !/^\d+$/.test(priority)) this.fail(at, `chrt needs a priority, then the command${priority ? `; got ${priority}` : ''}`);
    if (policy === 'deadline') this.warnings.push({ line: at, message: 'chrt --deadline is not imported: a profile has rr, fifo, other, batch or idle' });
    else command.chrt = { policy, priority: Number(priority), line: at };
    return j + 1;
  }

  private readNice(words: Word[], i: number, command: Partial<ScriptCommand>): number {
    const at = words[i]!.line;
    const arg = words[i + 1]?.text ?? '';
    let value = 10;
    let next = i + 1;
    let match: RegExpExecArray | null;
    if ((arg === '-n' || arg === '--adjustment') && words[i + 2]) {
      value = Number(words[i + 2]!.text);
      next = i + 3;
    } else if ((match = /^(?:-n|--adjustment=)([+-]?\d+)$/.exec(arg))) {
      value = Number(match[1]);
      next = i + 2;
    } else if ((match = /^-(-?\d+)$/.exec(arg))) {
      // `nice -10` is +10, `nice --10` is -10.
      value = Number(match[1]);
      next = i + 2;
    }
    if (!Number.isInteger(value)) this.fail(at, `nice: cannot read the adjustment ${words[i + 2]?.text ?? arg}`);
    command.nice = { value, line: at };
    return next;
  }

  /** Notes for what surrounds QEMU's command: other pipeline parts, redirections, `&`. */
  private noteQemuPlumbing(commands: SimpleCommand[], qemuAt: number, lineOffset: number): void {
    const qemu = commands[qemuAt]!;
    const line = qemu.line + lineOffset;
    if (commands.length > 1) {
      const others = commands.filter((_, j) => j !== qemuAt).map((command) => this.sourceText(command.start, command.end));
      this.notes.push({ line, message: `the pipe into ${others.join(' | ')} is dropped: boot-vm logs QEMU's output itself` });
    }
    for (const redirect of qemu.redirects) {
      const target = redirect.target ? this.expand(redirect.target, lineOffset, false).map((word) => word.text).join(' ') : '';
      this.notes.push({ line: redirect.line + lineOffset, message: `the redirection ${redirect.fd ?? ''}${redirect.op}${target} is dropped: boot-vm logs QEMU's output itself` });
    }
    const last = commands[commands.length - 1]!;
    if (last.terminator === '&') this.notes.push({ line, message: '& is dropped: boot-vm runs QEMU in the foreground, or in the background with daemonize: true' });
  }

  /** The script's other commands: `echo X | tee FILE` becomes `echo X > FILE`; `sh -c '…'` is read too. */
  private hostPipeline(expanded: { words: Word[]; command: SimpleCommand }[], line: number, text: string, lineOffset: number): void {
    const texts = (words: Word[]) => words.map((word) => word.text);
    const first = stripSudo(texts(expanded[0]!.words));
    if (expanded.length === 1 && /^(ba|da|z)?sh$/.test(basename(first[0] ?? '')) && first[1] === '-c' && first[2] !== undefined) {
      const inner = readShell(first[2], this.file);
      this.runCommands(inner.commands, line - 1, text);
      return;
    }
    const redirectOf = (command: SimpleCommand) => {
      const out = command.redirects.filter((r) => (r.op === '>' || r.op === '>>' || r.op === '>|') && (r.fd === undefined || r.fd === 1) && r.target);
      const last = out[out.length - 1];
      if (!last) return undefined;
      const path = this.expand(last.target!, lineOffset, false).map((word) => word.text).join(' ');
      return path === '/dev/null' ? undefined : { path, append: last.op === '>>' };
    };
    const tee = expanded.length === 2 ? stripSudo(texts(expanded[1]!.words)) : [];
    if (basename(tee[0] ?? '') === 'tee') {
      const append = tee.slice(1).some((arg) => /^-[a-z]*a/.test(arg) || arg === '--append');
      const files = tee.slice(1).filter((arg) => !arg.startsWith('-'));
      for (const path of files) this.hostCommands.push({ words: first, redirect: { path, append }, line, text });
      if (files.length > 0) return;
    }
    if (first[0]?.startsWith('-')) {
      this.warnings.push({ line, message: `${text}: not imported: it starts with an option, so the line before it probably ended the QEMU command early (a comment line or a missing backslash)` });
      return;
    }
    if (expanded.length > 1) {
      // What a pipeline does is what its last command does with the text: `echo x | socat …` is socat's.
      this.hostCommands.push({ words: stripSudo(texts(expanded[expanded.length - 1]!.words)), line, text });
      return;
    }
    const redirect = redirectOf(expanded[0]!.command);
    this.hostCommands.push(redirect ? { words: first, redirect, line, text } : { words: first, line, text });
  }
}

/** `key=a, b=c` split by a stray space: a word ending in `,` and a next one with `=` (not an option) are joined. */
function joinSplitLists(args: Word[], warnings: ImportNote[]): Word[] {
  const joined: Word[] = [];
  for (const arg of args) {
    const previous = joined[joined.length - 1];
    if (previous && previous.text.endsWith(',') && arg.text.includes('=') && !arg.text.startsWith('-')) {
      warnings.push({ line: arg.line, message: `"${previous.text}" and "${arg.text}" are read as one list, "${previous.text}${arg.text}": a space split it` });
      previous.text += arg.text;
    } else joined.push({ ...arg });
  }
  return joined;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function countLeading(args: string[], pattern: RegExp): number {
  let n = 0;
  while (n < args.length && pattern.test(args[n]!)) n++;
  return n;
}

/** sudo's options: how many words they take, and the user `-u` names. */
function readSudo(args: string[]): { user?: string; used: number } {
  let user: string | undefined;
  let used = 0;
  while (used < args.length) {
    const arg = args[used]!;
    if (arg === '--') return { user, used: used + 1 };
    if (!arg.startsWith('-')) break;
    const long = /^--user=(.*)$/.exec(arg);
    if (long) user = long[1];
    else if (arg === '--user') user = args[++used];
    else if (/^-[A-Za-z]*[ugCDhprtTUR]$/.test(arg)) {
      // The last letter takes the next word: `-u qemu`, `-Eu qemu`.
      if (arg.endsWith('u')) user = args[used + 1];
      used++;
    } else if (/^-[A-Za-z]*u./.test(arg)) user = arg.slice(arg.indexOf('u') + 1);
    used++;
  }
  return { user, used };
}

function stripSudo(words: string[]): string[] {
  if (!['sudo', 'doas'].includes(basename(words[0] ?? ''))) return words;
  return words.slice(1 + readSudo(words.slice(1)).used);
}

/** taskset's CPU list: the kernel's `0-3,8` and util-linux's strides, `0-7:2` (0, 2, 4, 6). */
function parseStridedCpuList(text: string): number[] | undefined {
  const cpus: number[] = [];
  for (const part of text.split(',')) {
    const strided = /^(\d+)-(\d+):(\d+)$/.exec(part);
    if (!strided) {
      const plain = parseCpuList(part);
      if (!plain || plain.length === 0) return undefined;
      cpus.push(...plain);
      continue;
    }
    const [first, last, stride] = strided.slice(1).map(Number) as [number, number, number];
    if (last < first || stride === 0) return undefined;
    for (let cpu = first; cpu <= last; cpu += stride) cpus.push(cpu);
  }
  return cpus;
}
