/** A plan as text: the runnable shell command, the explained command, or JSON. */
import type { Arg } from '../qemu/arg.js';
import { shellQuote } from '../qemu/shell-quote.js';
import type { Plan } from './plan.js';
import { renderSteps } from './render-steps.js';
import { wrapperWords } from './step.js';

const OPTION_INDENT = '    ';

function commandLines(plan: Plan): { text: string; arg: Arg }[] {
  return plan.args.map((arg, i) => ({ text: (i > plan.wrappers ? OPTION_INDENT : '') + arg.words.map(shellQuote).join(' '), arg }));
}

/** The command as started: the launch steps' wrappers, then one option per line with `\` continuations. */
export function renderCommand(plan: Plan): string {
  const wrappers = wrapperWords(plan.steps);
  const lines = [...(wrappers.length > 0 ? [wrappers.map(shellQuote).join(' ')] : []), ...commandLines(plan).map((line) => line.text)];
  return lines.join(' \\\n') + '\n';
}

/**
 * The whole plan as the blog's scripts would have it: host steps (`# n phase: title`, their lines,
 * `# undo:` lines), the command under a `# QEMU` line, then the steps that run once QEMU has started.
 */
export function renderShell(plan: Plan): string {
  if (plan.steps.length === 0) return renderCommand(plan);
  const before = plan.steps.filter((step) => step.phase !== 'running' && step.phase !== 'stop');
  const after = plan.steps.filter((step) => step.phase === 'running' || step.phase === 'stop');
  const lines = [
    `# ${plan.profile}: ${plan.steps.length} host step${plan.steps.length > 1 ? 's' : ''} on ${plan.sysroot}; each change is undone, in reverse, when QEMU exits`,
    ...renderSteps(before, plan.sysroot),
    '# QEMU',
    renderCommand(plan).trimEnd(),
    ...renderSteps(after, plan.sysroot),
  ];
  return lines.join('\n') + '\n';
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
