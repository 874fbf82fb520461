import { existsSync, readdirSync } from 'node:fs';
import { basename, delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { ProfileError, UsageError, type Problem } from '../errors.js';

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const YAML_FILE = /\.ya?ml$/;

/** Where profiles are looked up by name: `./profiles`, then `$BOOT_VM_PROFILES` (colon-separated), then `/etc/boot-vm/profiles`. */
export function profileSearchPath(cwd: string, env: NodeJS.ProcessEnv): string[] {
  const fromEnv = (env.BOOT_VM_PROFILES ?? '').split(delimiter).filter((dir) => dir !== '');
  return [join(cwd, 'profiles'), ...fromEnv.map((dir) => resolve(cwd, dir)), '/etc/boot-vm/profiles'];
}

/**
 * Finds a profile file. A reference ending in `.yaml`/`.yml` is a path (relative to `relativeTo`);
 * anything else is a name looked up in `dirs`, in order, as `<name>.yaml` then `<name>.yml`.
 * `where` locates the reference for error messages (the command line, or an `extends` key).
 */
export function findProfile(reference: string, dirs: readonly string[], relativeTo: string, where: Omit<Problem, 'message'>): string {
  if (YAML_FILE.test(reference)) {
    const file = isAbsolute(reference) ? reference : resolve(relativeTo, reference);
    if (existsSync(file)) return file;
    throw new ProfileError([{ ...where, message: `profile file ${reference} does not exist` }]);
  }
  if (!PROFILE_NAME.test(reference)) {
    throw new ProfileError([{ ...where, message: `"${reference}" is neither a profile name (letters, digits, . _ -) nor a path ending in .yaml` }]);
  }
  for (const dir of dirs) {
    for (const extension of ['.yaml', '.yml']) {
      const file = join(dir, reference + extension);
      if (existsSync(file)) return file;
    }
  }
  throw new ProfileError([{ ...where, message: `no profile named "${reference}" (looked in ${dirs.join(', ')})` }]);
}

/** The VM's name a profile file gives: its file name without `.yaml`/`.yml`. */
export const vmNameOfFile = (file: string) => basename(file).replace(YAML_FILE, '');

/**
 * The VM a profile argument (a name, or a path ending in `.yaml`) stands for, without reading the
 * profile: for commands that need only the name, such as teardown after the profile has changed.
 */
export function vmNameOf(reference: string): string {
  if (YAML_FILE.test(reference)) return vmNameOfFile(reference);
  if (!PROFILE_NAME.test(reference)) throw new UsageError(`"${reference}" is neither a profile name (letters, digits, . _ -) nor a path ending in .yaml`);
  return reference;
}

/** Directories an `extends` name is looked up in: beside the extending file first, then the search path. */
export function extendsSearchPath(file: string, searchPath: readonly string[]): string[] {
  return [dirname(file), ...searchPath.filter((dir) => resolve(dir) !== dirname(file))];
}

/** Every profile on the search path, by name and in path order; of two with one name, the first, which a lookup finds. */
export function listProfiles(dirs: readonly string[]): { name: string; file: string }[] {
  const found = new Map<string, string>();
  for (const dir of dirs) {
    let files: string[];
    try {
      files = readdirSync(dir).filter((file) => YAML_FILE.test(file)).sort();
    } catch {
      continue; // a directory of the search path that does not exist
    }
    for (const file of files) {
      const name = file.replace(YAML_FILE, '');
      if (PROFILE_NAME.test(name) && !found.has(name)) found.set(name, join(dir, file));
    }
  }
  return [...found].map(([name, file]) => ({ name, file }));
}
