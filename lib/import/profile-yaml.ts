/**
 * The imported profile as YAML: a header saying what was imported from where, keys in the
 * schema's order, and beside each key the argument and line it came from. Nothing in it depends
 * on the date or the machine, so the same script always gives the same file.
 */
import { formatKeyPath } from '../profile/key-path.js';
import type { ExtraArg } from './draft.js';
import { keyOrder } from './schema-check.js';

type Segment = string | number;

export interface ProfileText {
  /** The script's name as given (`boot-mediapc.sh`, or `-` for stdin). */
  file: string;
  data: Record<string, unknown>;
  comments: Record<string, string>;
  extra: ExtraArg[];
  /** One line each, under the header: what the user should know about the file as a whole. */
  headerNotes: string[];
}

interface Line {
  text: string;
  comment?: string;
}

// Numbers written in hex, as the posts and lspci give them.
const HEX_KEYS = new Set(['subsystemVendor', 'subsystemDevice', 'spinlocks']);

/** A scalar as YAML 1.2 reads it back unchanged: strings that could be read as something else are quoted. */
function scalar(value: unknown, key: Segment | undefined): string {
  if (typeof value === 'number') return typeof key === 'string' && HEX_KEYS.has(key) ? `0x${value.toString(16)}` : String(value);
  if (typeof value === 'boolean' || value === null) return String(value);
  const text = String(value);
  // Sizes (8G) read back as strings; CPU lists and addresses are quoted as profiles/README.md asks.
  const plain = (/^[A-Za-z/_.][A-Za-z0-9/_.,+=@%~ ()-]*$/.test(text) && !/ $/.test(text) && !/^(true|false|null|on|off|yes|no|y|n|~)$/i.test(text)) || /^[1-9]\d*[KMGT]$/.test(text);
  return plain ? text : JSON.stringify(text);
}

const isMapping = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The schema's key order for this mapping, then any keys it does not list (sysctl names) as they came. */
function orderedKeys(value: Record<string, unknown>, path: readonly Segment[]): string[] {
  const order = keyOrder(path.map((segment) => (typeof segment === 'number' ? 0 : segment)));
  return [...order.filter((key) => key in value), ...Object.keys(value).filter((key) => !order.includes(key))];
}

function emitMapping(value: Record<string, unknown>, path: readonly Segment[], indent: string, comments: Record<string, string>, lines: Line[], firstPrefix?: string): void {
  orderedKeys(value, path).forEach((key, i) => {
    const child = value[key];
    const childPath = [...path, key];
    const lead = i === 0 && firstPrefix !== undefined ? firstPrefix : indent;
    const comment = comments[formatKeyPath(childPath)];
    const name = /^[A-Za-z0-9_.-]+$/.test(key) ? key : JSON.stringify(key);
    if (isMapping(child) && Object.keys(child).length > 0) {
      lines.push({ text: `${lead}${name}:`, ...(comment ? { comment } : {}) });
      emitMapping(child, childPath, `${indent}  `, comments, lines);
    } else if (Array.isArray(child) && child.length > 0 && child.every((item) => typeof item === 'number')) {
      lines.push({ text: `${lead}${name}: [${child.join(', ')}]`, ...(comment ? { comment } : {}) });
    } else if (Array.isArray(child) && child.length > 0) {
      lines.push({ text: `${lead}${name}:`, ...(comment ? { comment } : {}) });
      emitList(child, childPath, `${indent}  `, comments, lines);
    } else {
      const text = isMapping(child) ? '{}' : Array.isArray(child) ? '[]' : scalar(child, key);
      lines.push({ text: `${lead}${name}: ${text}`, ...(comment ? { comment } : {}) });
    }
  });
}

function emitList(items: unknown[], path: readonly Segment[], indent: string, comments: Record<string, string>, lines: Line[]): void {
  items.forEach((item, i) => {
    const itemPath = [...path, i];
    const comment = comments[formatKeyPath(itemPath)];
    if (isMapping(item)) emitMapping(item, itemPath, `${indent}  `, comments, lines, `${indent}- `);
    else lines.push({ text: `${indent}- ${scalar(item, undefined)}`, ...(comment ? { comment } : {}) });
  });
}

/** Comments line up in one column, unless a line is too long for it. */
function layout(lines: Line[]): string {
  const column = Math.min(44, Math.max(0, ...lines.filter((line) => line.comment !== undefined).map((line) => line.text.length)) + 2);
  return lines.map((line) => (line.comment === undefined ? line.text : `${line.text.padEnd(column - 1)} # ${line.comment}`)).join('\n');
}

export function renderProfileYaml({ file, data, comments, extra, headerNotes }: ProfileText): string {
  const header = [
    '# yaml-language-server: $schema=../profile.schema.json',
    '#',
    `# Imported by scripts/import-qemu.mjs from ${file === '-' ? 'standard input' : file}. Beside each key: the`,
    '# argument of the script it came from, and its line. What boot-vm adds itself was listed',
    '# when it ran; the dry-run of this profile has every device and value of the script.',
    ...headerNotes.map((note) => `# ${note}`),
  ];
  const extraArgs = extra.flatMap((arg) => arg.words);
  const body: Record<string, unknown> = { ...data, ...(extraArgs.length > 0 ? { extraArgs } : {}) };
  const allComments = { ...comments };
  let index = 0;
  for (const arg of extra) {
    allComments[`extraArgs[${index}]`] = `line ${arg.line}`;
    index += arg.words.length;
  }
  if (extraArgs.length > 0) allComments.extraArgs = 'not understood by the import: passed to QEMU as they are, unchecked';
  const lines: Line[] = [];
  emitMapping(body, [], '', allComments, lines);
  return `${header.join('\n')}\n${layout(lines)}\n`;
}
