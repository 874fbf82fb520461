/**
 * Asks a QEMU binary which properties a device type takes (`-device vfio-pci,help`), for doctor.
 * It spawns QEMU, so it is apply code; the answer is cached per binary (path, size, mtime,
 * inode) beside the version cache, as QEMU takes a moment to start.
 */
import { mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { cacheDir, fileStamp } from '../cache.js';
import { findExecutable } from './probe-qemu.js';

export type DeviceProperties = { properties: string[]; path: string } | { problem: string };

type Cache = Record<string, string[]>;

function readCache(file: string): Cache {
  try {
    const cache: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return typeof cache === 'object' && cache !== null && !Array.isArray(cache) ? (cache as Cache) : {};
  } catch {
    return {};
  }
}

/** Best effort: a read-only home only costs the next run a QEMU start. */
function writeCache(file: string, cache: Cache): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(cache, null, 2) + '\n');
    renameSync(`${file}.tmp`, file);
  } catch {
    // ignore: the cache is an optimisation
  }
}

/** Property names from QEMU's help text: lines like `  x-vga=<bool>  - (default: false)`. */
export function parseDeviceHelp(output: string): string[] {
  return [...output.matchAll(/^\s+([A-Za-z0-9_.-]+)=/gm)].map((match) => match[1]!).sort();
}

/** The properties `device` takes in this QEMU binary (from the cache while the binary is unchanged). */
export function probeDeviceProperties(binary: string, device: string, env: NodeJS.ProcessEnv): DeviceProperties {
  const path = findExecutable(binary, env);
  if (path === undefined) return { problem: `${binary} was not found${binary.includes('/') ? '' : ' on PATH'}` };
  const real = realpathSync(path);
  const key = `${fileStamp(real)}:${device}`;
  const file = join(cacheDir(env), 'qemu-device-properties.json');
  const cache = readCache(file);
  if (Array.isArray(cache[key])) return { properties: cache[key], path };
  let output: string;
  try {
    // Loaded here, on a cache miss only: importing child_process costs ~10 ms.
    const { execFileSync } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
    output = execFileSync(path, ['-nodefaults', '-machine', 'none', '-device', `${device},help`], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    return { problem: `${path} -device ${device},help failed: ${(error as Error).message.split('\n')[0]}` };
  }
  const properties = parseDeviceHelp(output);
  if (properties.length === 0) return { problem: `${path} -device ${device},help lists no properties: ${output.split('\n')[0]}` };
  // Entries for earlier builds of the same binary are stale: drop them.
  const kept = Object.fromEntries(Object.entries(cache).filter(([entry]) => !(entry.startsWith(`${real}:`) && entry.endsWith(`:${device}`))));
  writeCache(file, { ...kept, [key]: properties });
  return { properties, path };
}
