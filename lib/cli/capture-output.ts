/**
 * Writes a host capture: as a directory tree, or as a .tar.gz (POSIX pax, written here so that
 * capturing spawns nothing), both holding the host paths without their leading slash.
 */
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { UsageError } from '../errors.js';
import type { Capture, CaptureEntry } from '../host/capture.js';

const BLOCK = 512;

/** Every entry with the directories above it, parents first. */
function entries(capture: Capture): [string, CaptureEntry][] {
  const all = new Map<string, CaptureEntry>(capture);
  for (const path of capture.keys()) {
    for (let dir = dirname(path); dir !== '/' && !all.has(dir); dir = dirname(dir)) all.set(dir, { kind: 'dir' });
  }
  return [...all].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Writes the capture as a new directory `out`, and returns the bytes written. With no capture,
 * only checks that `out` can be one (missing or empty), so a bad --out fails before any work.
 */
export function writeCaptureDir(capture: Capture | undefined, out: string): number {
  if (existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length > 0)) throw new UsageError(`--out: ${out} exists and is not an empty directory`);
  if (!capture) return 0;
  let bytes = 0;
  mkdirSync(out, { recursive: true });
  for (const [path, entry] of entries(capture)) {
    const at = join(out, path);
    if (entry.kind === 'dir') mkdirSync(at, { recursive: true });
    else if (entry.kind === 'link') symlinkSync(entry.target, at);
    else if (entry.kind === 'file') {
      writeFileSync(at, entry.data);
      bytes += entry.data.length;
    } else {
      writeFileSync(at, '');
      if (entry.size > 0) truncateSync(at, entry.size);
    }
  }
  return bytes;
}

function octal(header: Buffer, offset: number, length: number, value: number): void {
  header.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'ascii');
}

function header(name: string, type: string, size: number, mode: number, linkname = ''): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'utf8');
  octal(block, 100, 8, mode);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, size);
  octal(block, 136, 12, 0);
  block.write(type, 156, 1, 'ascii');
  block.write(linkname, 157, 100, 'utf8');
  block.write('ustar\x0000', 257, 8, 'ascii');
  block.write('root', 265, 32, 'ascii');
  block.write('root', 297, 32, 'ascii');
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return block;
}

const padded = (data: Buffer) => (data.length % BLOCK === 0 ? [data] : [data, Buffer.alloc(BLOCK - (data.length % BLOCK))]);

/** A pax record, `<length> key=value\n`, whose length counts itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

/** Writes the capture as a gzipped tar at `out`; returns its size in bytes. */
export function writeCaptureTarGz(capture: Capture, out: string): number {
  const blocks: Buffer[] = [];
  for (const [path, entry] of entries(capture)) {
    const name = path.slice(1) + (entry.kind === 'dir' ? '/' : '');
    const target = entry.kind === 'link' ? entry.target : '';
    // Names and link targets past ustar's 100 bytes go in a pax header before the entry.
    const pax = [...(Buffer.byteLength(name) > 100 ? [paxRecord('path', name)] : []), ...(Buffer.byteLength(target) > 100 ? [paxRecord('linkpath', target)] : [])].join('');
    if (pax !== '') {
      const data = Buffer.from(pax);
      blocks.push(header('PaxHeader', 'x', data.length, 0o644), ...padded(data));
    }
    const short = Buffer.from(name).subarray(0, 100).toString('utf8');
    if (entry.kind === 'dir') blocks.push(header(short, '5', 0, 0o755));
    else if (entry.kind === 'link') blocks.push(header(short, '2', 0, 0o777, Buffer.from(target).subarray(0, 100).toString('utf8')));
    else {
      const data = entry.kind === 'file' ? entry.data : Buffer.alloc(entry.size);
      blocks.push(header(short, '0', data.length, 0o644), ...padded(data));
    }
  }
  blocks.push(Buffer.alloc(2 * BLOCK));
  const packed = gzipSync(Buffer.concat(blocks), { level: 9 });
  writeFileSync(out, packed);
  return packed.length;
}

/** One line: what was written, how big, how long it took. */
export function captureSummary(capture: Capture, out: string, bytes: number, ms: number): string {
  const counts = { file: 0, link: 0, dir: 0 };
  for (const entry of capture.values()) counts[entry.kind === 'sparse' ? 'file' : entry.kind]++;
  const size = bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} kB`;
  return `capture-host: wrote ${out} (${counts.file} files, ${counts.link} links, ${counts.dir} directories; ${size}) in ${(ms / 1000).toFixed(1)}s`;
}
