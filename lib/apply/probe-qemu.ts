/**
 * Finds the QEMU binary and asks it its version. It spawns QEMU and writes a cache, so it is
 * apply code: planning never calls it itself, the CLI hands it to the plan, which asks only
 * when neither --qemu-version nor qemu.version says. The answer is cached per binary (path,
 * size, mtime, inode) so a dry-run does not pay for a QEMU start every time.
 */
import { accessSync, constants, mkdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { cacheDir, fileStamp } from '../cache.js';
import { parseQemuVersion, parseQemuVersionOutput, type DetectedVersion } from '../qemu/version.js';

/** The binary's absolute path, searching PATH for a bare name; undefined when not found. */
export function findExecutable(binary: string, env: NodeJS.ProcessEnv): string | undefined {
  const candidates = binary.includes('/') ? [binary] : (env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, binary));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

const cacheFile = (env: NodeJS.ProcessEnv) => join(cacheDir(env), 'qemu-versions.json');

function readCache(file: string): Record<string, string> {
  try {
    const cache: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return typeof cache === 'object' && cache !== null && !Array.isArray(cache) ? (cache as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** Best effort: a read-only home only costs the next run a QEMU start. */
function writeCache(file: string, cache: Record<string, string>): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(cache, null, 2) + '\n');
    renameSync(`${file}.tmp`, file);
  } catch {
    // ignore: the cache is an optimisation
  }
}

/** Runs `<binary> --version` (or reads the cached answer for this exact binary). */
export function detectQemuVersion(binary: string, env: NodeJS.ProcessEnv): DetectedVersion {
  const path = findExecutable(binary, env);
  if (path === undefined) return { problem: `${binary} was not found${binary.includes('/') ? '' : ' on PATH'}` };
  const real = realpathSync(path);
  const key = fileStamp(real);
  const file = cacheFile(env);
  const cache = readCache(file);
  const cached = cache[key] === undefined ? undefined : parseQemuVersion(cache[key]);
  if (cached) return { version: cached, path };
  let output: string;
  try {
    // Loaded here, on a cache miss only: importing child_process costs a dry-run ~10 ms.
    const { execFileSync } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
    output = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    return { problem: `${path} --version failed: ${(error as Error).message.split('\n')[0]}` };
  }
  const version = parseQemuVersionOutput(output);
  if (!version) return { problem: `cannot read a version from ${path} --version: ${output.split('\n')[0]}` };
  // Entries for earlier builds of the same binary are stale: drop them.
  const kept = Object.fromEntries(Object.entries(cache).filter(([entry]) => !entry.startsWith(`${real}:`)));
  writeCache(file, { ...kept, [key]: `${version.major}.${version.minor}` });
  return { version, path };
}
