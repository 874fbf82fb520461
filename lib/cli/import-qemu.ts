/** `import-qemu <script | ->`: an existing QEMU script or pasted command line → a commented profile. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { describeError } from '../apply/host-io.js';
import { InputError, ProfileError, UsageError } from '../errors.js';
import type { ImportNote } from '../import/host-steps.js';
import { renderProfileYaml } from '../import/profile-yaml.js';
import { importQemuOptions } from '../import/qemu-options.js';
import { parseScript } from '../import/script.js';
import { loadProfile } from '../profile/load.js';
import { writeOutput } from './write-output.js';

export { default as minimist } from 'minimist';
export { runCli, unknownOption } from './run.js';
export { UsageError } from '../errors.js';

export const IMPORT_QEMU_USAGE = `Usage: import-qemu <script | -> [--name VM] [--out FILE.yaml [--force]]

Reads a shell script or a pasted command line that starts QEMU (- reads standard input) and
writes a profile for it, each key commented with the argument and line it came from. Nothing is
run: continuations, comments, variables, bash arrays, a leading "$ " or "# " prompt and the
sudo/chrt/taskset/nice prefixes are read as bash would read them. Host steps in the script
(sysctl writes, console unbinds, vfio binding, huge pages) become host keys.

Options it understands become profile keys; old spellings (-realtime, -no-hpet, -enable-kvm,
ioh3420, hv_x) are written in today's form and listed; what boot-vm adds itself (-name,
-nodefaults, root ports, a pidfile and QMP socket when the script has none) is left to it;
everything else is kept in extraArgs, with one warning listing it. The profile is loaded as
the dry-run loads it before it is written.

      --name VM       the VM's name, which is its profile's file name (default: --out's
                      file name, else the script's -name, else the script's file name)
      --out FILE      write the profile there (atomically; "wrote FILE" on stderr) instead of
                      standard output
      --force         with --out: replace FILE when it exists
  -h, --help          show this help

Warnings, the modernised spellings and notes go to stderr, one per line, as FILE:LINE: …
Exit status: 0 written, 2 bad input (no QEMU command, unreadable script, bad option).
`;

export interface ImportQemuOptions {
  script: string;
  name?: string;
  out?: string;
  force: boolean;
}

export interface ImportQemuOutput {
  stdout: string;
  stderr: string[];
}

const VM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** A VM name from a file name or -name: what a profile file may be called. */
function nameFrom(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const name = text.replace(/\.(sh|bash|txt|cmd)$/, '').replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+|[-.]+$/g, '');
  return VM_NAME.test(name) ? name : undefined;
}

/** The profile must load as the dry-run loads it: anything else is the import's own bug. */
function checkLoads(yaml: string, name: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'boot-vm-import-'));
  try {
    writeFileSync(join(dir, `${name}.yaml`), yaml);
    // The parse cache too goes in the temporary directory: an entry for a file about to be removed would only pile up.
    loadProfile(`${name}.yaml`, { cwd: dir, env: { XDG_CACHE_HOME: dir } });
  } catch (error) {
    if (error instanceof ProfileError) throw new Error(`the imported profile does not validate, which is a bug in the import: ${error.lines().join('; ')}`);
    throw error;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `cwd` resolves the script's and --out's paths; messages show them as given. */
export function importQemu(options: ImportQemuOptions, cwd: string, readStdin: () => string): ImportQemuOutput {
  if (options.name !== undefined && !VM_NAME.test(options.name)) throw new UsageError(`--name: expected letters, digits, dots, dashes or underscores, got "${options.name}"`);
  if (options.force && options.out === undefined) throw new UsageError('--force goes with --out');
  const shown = options.script === '-' ? '-' : options.script;
  let text: string;
  try {
    text = options.script === '-' ? readStdin() : readFileSync(resolve(cwd, options.script), 'utf8');
  } catch (error) {
    throw new InputError([{ file: shown, message: `cannot read the script: ${describeError(error)}` }]);
  }
  const parsed = parseScript(text, shown);
  const { draft, name: qemuName } = importQemuOptions(parsed.command);
  // The script's host steps: its host keys beside the QEMU ones, its huge page size over a guess from a mount's name.
  const hostImport = parsed.host;
  if (Object.keys(hostImport.host).length > 0) draft.data.host = { ...((draft.data.host as Record<string, unknown> | undefined) ?? {}), ...hostImport.host };
  Object.assign(draft.comments, hostImport.comments);
  const memory = draft.data.memory as Record<string, unknown> | undefined;
  if (hostImport.memory.hugepages && memory && (memory.hugepages !== undefined || memory.path !== undefined) && memory.hugepages !== hostImport.memory.hugepages) {
    memory.hugepages = hostImport.memory.hugepages;
    draft.comments['memory.hugepages'] = `${hostImport.memory.hugepages} pages, as the script's host steps reserve them${memory.path ? ` (mounted at ${String(memory.path)})` : ''}`;
  }
  const outName = options.out === undefined ? undefined : basename(options.out).replace(/\.ya?ml$/, '');
  const name = options.name ?? (outName !== undefined && VM_NAME.test(outName) ? outName : undefined) ?? nameFrom(qemuName) ?? nameFrom(options.script === '-' ? undefined : basename(options.script)) ?? 'imported';
  if (draft.extra.length > 0) {
    draft.warn(undefined, `kept verbatim in extraArgs, not checked by boot-vm: ${draft.extra.map((arg) => `${arg.words.join(' ')} (line ${arg.line})`).join('; ')}`);
  }
  const file = options.script === '-' ? '-' : basename(options.script);
  draft.data.description = `Imported from ${file === '-' ? 'standard input' : file} by import-qemu.`;
  const yaml = renderProfileYaml({ file, data: draft.data, comments: draft.comments, extra: draft.extra, headerNotes: [
      ...(options.out === undefined ? [`The VM's name is its file name: save this as profiles/${name}.yaml.`] : []),
      ...(draft.modernised.length > 0 ? ['Old spellings, written here in their current form:', ...[...draft.modernised].sort((a, b) => (a.line ?? 0) - (b.line ?? 0)).map((note) => `  line ${note.line}: ${note.message}`)] : []),
    ],
  });
  checkLoads(yaml, name);
  const where = (note: ImportNote) => (note.line === undefined || note.line === 0 ? `${shown}: ` : `${shown}:${note.line}: `);
  const byLine = (a: ImportNote, b: ImportNote) => (a.line ?? Infinity) - (b.line ?? Infinity);
  const stderr = [
    ...[...parsed.warnings, ...draft.warnings].sort(byLine).map((note) => `${where(note)}warning: ${note.message}`),
    ...[...draft.modernised].sort(byLine).map((note) => `${where(note)}modernised: ${note.message}`),
    ...[...parsed.notes, ...draft.notes].sort(byLine).map((note) => `${where(note)}note: ${note.message}`),
  ];
  if (options.out === undefined) return { stdout: yaml, stderr };
  writeOutput(resolve(cwd, options.out), yaml, { mode: 0o644, replace: options.force, replaceHint: '--force replaces it' });
  return { stdout: '', stderr: [...stderr, `wrote ${options.out}`] };
}
