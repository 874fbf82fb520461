/** `export <vm> --format F`: the profile's plan, as the dry-run makes it, in another tool's form. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ExportError, UsageError } from '../errors.js';
import type { ExportContext, Warn } from '../export/context.js';
import { libvirtDomain } from '../export/libvirt.js';
import { shellScript } from '../export/shell.js';
import { systemdUnit } from '../export/systemd.js';
import type { Plan } from '../plan/plan.js';
import type { LoadedProfile } from '../profile/load.js';
import { planProfile } from './plan-profile.js';
import { writeOutput } from './write-output.js';

export { default as minimist } from 'minimist';
export { runCli, unknownOption } from './run.js';
export { UsageError } from '../errors.js';

type Exporter = (plan: Plan, warn: Warn, context: ExportContext) => string;

/** Each format and what makes it; the formats --format takes are these keys. */
const FORMATS: Record<string, Exporter> = {
  libvirt: (plan, warn) => libvirtDomain(plan, warn),
  systemd: (plan, warn, context) => systemdUnit(plan, context, warn),
  shell: (plan, warn) => shellScript(plan, warn),
};

/** --help's paragraph for each format, shown for those FORMATS has. */
const FORMAT_HELP: Record<string, string> = {
  libvirt: `libvirt  a libvirt domain (virsh define FILE) meaning the same VM; what libvirt cannot say
           goes in <qemu:override> or <qemu:commandline>, each with a comment`,
  systemd: `systemd  a service running boot-vm <vm> in the foreground (ExecStart is this checkout's
           boot-vm.mjs); stopping it stops the guest as Ctrl-C does. Its first line names its file:
           copy it there, then systemctl daemon-reload and systemctl start boot-vm-<vm>`,
  shell: `shell    a bash script of the dry-run for a machine without Node: each host step with its
           undo, QEMU, and the undos in reverse when it exits (also on failure and Ctrl-C);
           ROOT=DIR rehearses it on a copy of a host tree`,
};

const formatList = () => Object.keys(FORMATS).join(', ');

export const EXPORT_USAGE = `Usage: export <vm> --format ${Object.keys(FORMATS).join('|')} [--out FILE] [options]

Plans the profile as boot-vm <vm> --dry-run does (same host checks and warnings) and writes the
plan in another tool's form. <vm> is a profile name or a path, as boot-vm takes it. Changes nothing
on the host. What a format cannot say as boot-vm does is a warning on stderr.

${Object.keys(FORMATS)
  .map((format) => `  ${FORMAT_HELP[format] ?? format}`)
  .join('\n')}

      --format F         one of ${formatList()}
      --out FILE         write to FILE (made beside it, then renamed) instead of stdout
      --sysroot DIR      plan for the host tree under DIR; what it lacks is then an error
      --qemu-version X.Y plan for this QEMU version instead of asking the binary
      --qemu-binary PATH use this QEMU binary instead of the profile's qemu.binary (the
                         systemd unit passes it on to boot-vm)
  -h, --help             show this help

Exit status: 0 written, 2 bad input (profile, arguments, or a host that does not fit).
`;

export interface ExportOptions {
  profile: string;
  format?: string;
  out?: string;
  sysroot?: string;
  qemuVersion?: string;
  qemuBinary?: string;
}

export interface ExportResult {
  stdout: string;
  /** Warnings and notes, one line each, for stderr. */
  stderr: string[];
}

/** `bootVm`: this checkout's boot-vm.mjs, which the systemd unit runs. */
export function exportPlan(options: ExportOptions, cwd: string, env: NodeJS.ProcessEnv, bootVm: string): ExportResult {
  if (options.format === undefined) throw new UsageError(`which format? --format ${formatList()}`);
  const exporter = FORMATS[options.format];
  if (!exporter) throw new UsageError(`--format: unknown format "${options.format}"; known: ${formatList()}`);
  const out = options.out === undefined ? undefined : resolve(cwd, options.out);
  if (out !== undefined && existsSync(out) && statSync(out).isDirectory()) throw new UsageError(`--out: ${options.out} is a directory; name the file to write`);
  const { plan, loaded, warnings } = planProfile({ ...options, strict: options.sysroot !== undefined, launching: false }, cwd, env);
  const stderr = [...warnings];
  const file = resolve(cwd, plan.file);
  const checkout = dirname(bootVm);
  const context: ExportContext = {
    bootVm,
    profileArg: file === join(checkout, 'profiles', `${plan.profile}.yaml`) ? plan.profile : file,
    ...(options.qemuBinary ? { qemuBinary: resolve(cwd, options.qemuBinary) } : {}),
    nodeDir: dirname(process.execPath),
  };
  const text = located(loaded, () => exporter(plan, (message) => stderr.push(`warning: ${message}`), context));
  if (out === undefined) return { stdout: text, stderr };
  writeOutput(out, text, { mode: options.format === 'shell' ? 0o755 : 0o644, replace: true });
  return { stdout: '', stderr: [...stderr, `wrote ${options.out}`] };
}

/** An exporter knows the key it cannot write; the profile knows the file and line it was written at. */
function located<T>(loaded: LoadedProfile, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (!(error instanceof ExportError)) throw error;
    throw new ExportError(error.problems.map((problem) => (problem.key ? { ...problem, ...loaded.locate(problem.key) } : problem)));
  }
}
