/**
 * Reads a profile: finds the file, parses the YAML keeping every key's line and column,
 * merges `extends` bases underneath, validates against the schema, and reports every problem
 * as `file:line:col: key: message`.
 */
import { realpathSync } from 'node:fs';
import { dirname, relative, sep } from 'node:path';
import * as v from 'valibot';
import { ProfileError, byLocation, type Problem } from '../errors.js';
import { extendsSearchPath, findProfile, profileSearchPath, vmNameOfFile } from './find.js';
import { formatKeyPath, parentKeyPath, type KeyPath } from './key-path.js';
import { readProfileFile } from './parse-cache.js';
import { profileSchema, type Profile } from './schema.js';
import { suggestKey } from './suggest.js';
import { unwrapSchema } from './schema-walk.js';

export interface Position {
  file: string;
  line: number;
  column: number;
}

/** Where one key of the merged profile was written. */
interface Origin {
  key?: Position;
  value: Position;
}

type Data = { [key: string]: unknown };
type Origins = Map<string, Origin>;

export interface LoadedProfile {
  /** The VM's name: the profile's file name without its extension. */
  name: string;
  /** The profile file, relative to the working directory when inside it. */
  file: string;
  /** The working directory the files are shown relative to. */
  cwd: string;
  /** Every file read, the profile last and its bases before it. */
  files: string[];
  profile: Profile;
  /** Where a key (`passthrough[0].host`) was written; falls back to its closest written parent. */
  locate(key: string): Omit<Problem, 'message'>;
  /** Where exactly this key was written, or undefined when it takes a default. */
  written(key: string): Position | undefined;
}

export interface LoadOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
}

interface ParsedFile {
  data: Data;
  origins: Origins;
  extends?: { reference: string; where: Position };
}

/** Loads a profile by name or path; throws `ProfileError` listing every problem found. */
export function loadProfile(reference: string, options: LoadOptions): LoadedProfile {
  const searchPath = profileSearchPath(options.cwd, options.env);
  const display = (file: string) => {
    const rel = relative(options.cwd, file);
    return rel.startsWith('..' + sep) || rel === '..' || rel.startsWith(sep) ? file : rel;
  };
  const file = findProfile(reference, searchPath, options.cwd, {});
  const chain = readChain(file, searchPath, display, options.env);
  let data: Data = {};
  const origins: Origins = new Map();
  for (const parsed of chain) data = mergeInto(data, origins, parsed.data, parsed.origins, []);
  delete data.extends;
  const topFile = display(file);
  const locate = (key: string): Omit<Problem, 'message'> => {
    for (let path = key; ; path = parentKeyPath(path)) {
      const origin = origins.get(path);
      if (origin) {
        const position = path === key ? origin.value : (origin.key ?? origin.value);
        return { ...position, key };
      }
      if (path === '') return { file: topFile, line: 1, column: 1, key };
    }
  };
  // Every problem once: all keys are checked, but a value stops at its first failed check.
  const result = v.safeParse(profileSchema, data, { abortEarly: false, abortPipeEarly: true });
  if (!result.success) {
    throw new ProfileError(result.issues.map((issue) => describeIssue(issue, origins, locate)).sort(byLocation));
  }
  return {
    name: vmNameOfFile(file),
    file: topFile,
    cwd: options.cwd,
    files: chain.map((parsed) => parsed.file),
    profile: result.output,
    locate,
    written: (key) => origins.get(key)?.value,
  };
}

/** Reads a profile and its `extends` bases; returns them base first. */
function readChain(file: string, searchPath: readonly string[], display: (file: string) => string, env: NodeJS.ProcessEnv): (ParsedFile & { file: string })[] {
  const chain: (ParsedFile & { file: string })[] = [];
  const seen: string[] = [];
  for (let current: string | undefined = file; current !== undefined; ) {
    const real = realpathSync(current);
    const shown = display(current);
    if (seen.includes(real)) {
      const cycle = [...chain.map((parsed) => parsed.file), shown].join(' → ');
      const where = chain[chain.length - 1]!.extends!.where;
      throw new ProfileError([{ ...where, key: 'extends', message: `extends forms a cycle: ${cycle}` }]);
    }
    seen.push(real);
    const parsed = parseProfileFile(current, shown, env);
    chain.push({ ...parsed, file: shown });
    current = parsed.extends
      ? findProfile(parsed.extends.reference, extendsSearchPath(current, searchPath), dirname(current), { ...parsed.extends.where, key: 'extends' })
      : undefined;
  }
  return chain.reverse();
}

/** One file's data and the position of every key and value in it, from the parse cache or the YAML parser. */
function parseProfileFile(file: string, shown: string, env: NodeJS.ProcessEnv): ParsedFile {
  const { data, origins: written } = readProfileFile(file, shown, env);
  const origins: Origins = new Map();
  for (const [keyPath, { key, value }] of Object.entries(written)) {
    origins.set(keyPath, { ...(key ? { key: { file: shown, ...key } } : {}), value: { file: shown, ...value } });
  }
  const parsed: ParsedFile = { data, origins };
  const reference = data.extends;
  if (reference !== undefined && reference !== null) {
    const where = origins.get('extends')!.value;
    if (typeof reference !== 'string' || reference === '') {
      throw new ProfileError([{ ...where, key: 'extends', message: 'expected the name or .yaml path of a base profile' }]);
    }
    parsed.extends = { reference, where };
  }
  return parsed;
}

const isPlainObject = (value: unknown): value is Data => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Drops `key: null` entries from mappings: with nothing underneath to remove, null just means unset. */
function withoutNulls(value: unknown): unknown {
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== null).map(([key, entry]) => [key, withoutNulls(entry)]));
}

/**
 * Lays `top` over `base`: mappings merge key by key, lists and scalars replace,
 * and `null` removes what the base set. Origins follow the values.
 */
function mergeInto(base: Data, baseOrigins: Origins, top: Data, topOrigins: Origins, path: KeyPath): Data {
  const merged: Data = { ...base };
  for (const [key, value] of Object.entries(top)) {
    const keyPath = [...path, key];
    const name = formatKeyPath(keyPath);
    if (isPlainObject(value) && isPlainObject(merged[key])) {
      merged[key] = mergeInto(merged[key] as Data, baseOrigins, value, topOrigins, keyPath);
      baseOrigins.set(name, topOrigins.get(name)!);
      continue;
    }
    for (const known of [...baseOrigins.keys()]) {
      if (known === name || known.startsWith(name + '.') || known.startsWith(name + '[')) baseOrigins.delete(known);
    }
    if (value === null) {
      delete merged[key];
      continue;
    }
    merged[key] = withoutNulls(value);
    for (const [known, origin] of topOrigins) {
      if (known === name || known.startsWith(name + '.') || known.startsWith(name + '[')) baseOrigins.set(known, origin);
    }
  }
  return merged;
}

type Issue = v.InferIssue<typeof profileSchema>;

function describeIssue(issue: Issue, origins: Origins, locate: LoadedProfile['locate']): Problem {
  const segments = (issue.path ?? []).map((item) => item.key as string | number);
  const key = formatKeyPath(segments);
  if (issue.input === undefined) {
    return { ...locate(key), key, message: 'required key is missing' };
  }
  const last = issue.path?.[issue.path.length - 1];
  // A record's key that fails its own check (host.sysctl) says why itself, at the key.
  if (last?.origin === 'key' && issue.type !== 'strict_object') return { ...(origins.get(key)?.key ?? locate(key)), key, message: issue.message };
  if (last?.origin === 'key') {
    const known = knownKeys(segments.slice(0, -1));
    const suggestion = suggestKey(String(last.key), known);
    const hint = suggestion ? `; did you mean ${suggestion}?` : known.length > 0 ? `; known keys: ${known.join(', ')}` : '';
    const where = origins.get(key)?.key ?? locate(key);
    return { ...where, key, message: `unknown key${hint}` };
  }
  return { ...locate(key), key, message: issue.message };
}

/** The keys the schema allows at a path, for "did you mean" hints. */
function knownKeys(path: KeyPath): string[] {
  let schemas: unknown[] = [profileSchema];
  for (const segment of path) {
    schemas = schemas.flatMap(unwrapSchema).flatMap((schema) => {
      const s = schema as { entries?: Record<string, unknown>; item?: unknown };
      if (typeof segment === 'number') return s.item ? [s.item] : [];
      return s.entries?.[segment] ? [s.entries[segment]] : [];
    });
  }
  return [...new Set(schemas.flatMap(unwrapSchema).flatMap((schema) => Object.keys((schema as { entries?: object }).entries ?? {})))];
}

