/** A plan as text: the runnable shell command, the explained command, or JSON. */
import type { Arg } from '../qemu/arg.js';
import { shellQuote } from '../qemu/shell-quote.js';
import type { Plan } from './plan.js';

const OPTION_INDENT = '    ';

function commandLines(plan: Plan): { text: string; arg: Arg }[] {
  return plan.args.map((arg, i) => ({ text: (i > plan.wrappers ? OPTION_INDENT : '') + arg.words.map(shellQuote).join(' '), arg }));
}

/** One option per line with `\` continuations, like the blog's boot script; pastes into a shell as is. */
export function renderShell(plan: Plan): string {
  return commandLines(plan).map((line) => line.text).join(' \\\n') + '\n';
}

/**
 * Each option with the profile keys it came from (marked `(default)` when the profile leaves them
 * out, or with the base file that set them), and the rules that added or changed it.
 */
export function renderExplain(plan: Plan): string {
  const bases = plan.files.slice(0, -1).reverse();
  const out = [`# ${plan.profile}: ${plan.file}${bases.length > 0 ? ` (extends ${bases.join(', ')})` : ''}, planned for QEMU ${plan.qemuVersion}`];
  for (const { text, arg } of commandLines(plan)) {
    const keys = arg.from.map((key) => (plan.keyOrigins[key] ? `${key} (${plan.keyOrigins[key]})` : key));
    out.push(keys.length > 0 ? `${text}  ← ${keys.join(', ')}` : text);
    const indent = text.slice(0, text.length - text.trimStart().length) + OPTION_INDENT;
    for (const note of arg.notes) out.push(`${indent}↳ ${note}`);
  }
  return out.join('\n') + '\n';
}

/** `{"profile", "qemuVersion", "argv", "steps"}`; with `explain`, each option's keys and notes too. */
export function renderJson(plan: Plan, explain: boolean): string {
  const json = {
    profile: plan.profile,
    qemuVersion: plan.qemuVersion,
    argv: plan.argv,
    steps: plan.steps,
    ...(explain ? { explain: plan.args.map(({ words, from, notes }) => ({ words, from, notes })) } : {}),
  };
  return JSON.stringify(json, null, 2) + '\n';
}
