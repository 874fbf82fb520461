/**
 * Parsed profile files, cached one JSON file per profile file under
 * `$XDG_CACHE_HOME/boot-vm/profiles/`. An entry is used only while the profile file and the
 * compiled parser are exactly as they were (path, size, mtime, inode), so an edited profile or
 * a rebuilt boot-vm is always parsed afresh. Writing is best effort.
 */
import { mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, fileStamp } from '../cache.js';
import { ProfileError } from '../errors.js';
import { fnv1a32 } from '../hash.js';
import { PARSER_FILE, parseYaml, type ParsedYaml } from './parse-yaml.js';

/**
 * What the parse depends on besides the file: the compiled parser. Every `npm install` rebuilds
 * it (prepare), so a new yaml package or parser changes this key too. (Resolving the yaml
 * package itself here would cost more than the cache saves.)
 */
const parserKey = () => fileStamp(PARSER_FILE);

export const profileCacheDir = (env: NodeJS.ProcessEnv) => join(cacheDir(env), 'profiles');

/** JSON keeps strings, finite numbers, booleans, null, arrays and plain mappings exactly. */
function isJsonExact(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every(isJsonExact);
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value).every(isJsonExact);
  return false;
}

interface Entry {
  key: string;
  parsed: ParsedYaml;
}

/** A profile file's parse, from the cache when the file is unchanged. `shown` is the file as errors name it. */
export function readProfileFile(file: string, shown: string, env: NodeJS.ProcessEnv): ParsedYaml {
  let key: string;
  try {
    key = `${fileStamp(realpathSync(file))}|${parserKey()}`;
  } catch (error) {
    throw new ProfileError([{ file: shown, message: `cannot read the profile: ${(error as Error).message}` }]);
  }
  const cacheFile = join(profileCacheDir(env), `${fnv1a32(key.slice(0, key.indexOf(':'))).toString(16)}.json`);
  try {
    const entry = JSON.parse(readFileSync(cacheFile, 'utf8')) as Entry;
    if (entry.key === key) return entry.parsed;
  } catch {
    // no entry, or an unreadable one: parse
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ProfileError([{ file: shown, message: `cannot read the profile: ${(error as Error).message}` }]);
  }
  const parsed = parseYaml(text, shown);
  if (isJsonExact(parsed.data)) {
    try {
      mkdirSync(profileCacheDir(env), { recursive: true });
      writeFileSync(`${cacheFile}.${process.pid}.tmp`, JSON.stringify({ key, parsed } satisfies Entry));
      renameSync(`${cacheFile}.${process.pid}.tmp`, cacheFile);
    } catch {
      // ignore: the cache only saves time
    }
  }
  return parsed;
}
