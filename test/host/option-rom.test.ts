// The option ROM parser on built ROMs (the hard cases: a vendor header, a truncated image, bad
// PCIR pointers, a bad checksum, an empty file, a chain that runs off the end, a 64 MiB random
// file), the dump's enable/read/disable order on a recording RomIo, and `vfio-rom dump`'s
// refusals and file writing on fake host trees.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { nodeRomIo, readDeviceRom, RomDumpError, type RomIo } from '../../lib/apply/rom-dump.js';
import { romDump, romInfo, RomRefusal } from '../../lib/cli/vfio-rom.js';
import { BootVmError, UsageError } from '../../lib/errors.js';
import { findFirstImage, MAX_ROM_BYTES, parseRom, readRom, strippedRom } from '../../lib/host/option-rom.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import { buildRomImage, concatRom, corruptRom, gpuRom, PCIR_OFFSET, setUint16, vendorHeader } from '../fixtures/build-rom.js';
import { tree } from '../fixtures/trees.js';

const GPU = gpuRom(0x10de, 0x1b81);

t.test('a built legacy + EFI chain: every field, uefi, no problem', async (t) => {
  const report = parseRom(GPU);
  t.same(report.problems, []);
  t.equal(report.header, 0);
  t.equal(report.uefi, true);
  t.same(report.images, [
    { offset: 0, length: 2048, pcirOffset: PCIR_OFFSET, vendor: 0x10de, device: 0x1b81, classCode: 0x030000, pcirRevision: 3, codeRevision: 1, codeType: 0, last: false, checksumOk: true, efi: null },
    { offset: 2048, length: 1024, pcirOffset: PCIR_OFFSET, vendor: 0x10de, device: 0x1b81, classCode: 0x030000, pcirRevision: 3, codeRevision: 1, codeType: 3, last: true, checksumOk: null, efi: { signatureOk: true, subsystem: 11, machine: 0x8664, compressed: false } },
  ]);
  t.equal(parseRom(gpuRom(0x1002, 0x73bf, { efi: false })).uefi, false, 'a legacy image alone does not boot under OVMF');
  const ia32 = concatRom(buildRomImage({ vendor: 1, device: 2, last: false }), buildRomImage({ vendor: 1, device: 2, efi: { machine: 0x014c, subsystem: 11 } }));
  t.equal(parseRom(ia32).uefi, false, 'an IA-32 EFI image does not either');
});

t.test('a vendor header: reported with its size, uefi false; strip cuts exactly it and the rest parses clean', async (t) => {
  const rom = concatRom(vendorHeader(0x600), GPU);
  const report = parseRom(rom);
  t.equal(report.header, 0x600);
  t.equal(report.uefi, false, 'the firmware looks at offset 0, where the header is');
  t.same(report.problems, ['a vendor header of 1536 bytes before the first image: cut it off with vfio-rom.mjs strip']);
  t.same(report.images.map((image) => image.offset), [0x600, 0x600 + 2048]);
  t.equal(findFirstImage(rom), 0x600);
  const stripped = strippedRom(concatRom(rom, new Uint8Array(100).fill(0xff)))!;
  t.equal(stripped.cut, 0x600);
  t.same(Buffer.from(stripped.bytes), Buffer.from(GPU), 'exactly the chain: the header and the padding after it gone');
  t.same(parseRom(stripped.bytes).problems, []);
  t.equal(parseRom(stripped.bytes).uefi, true);
  // A 0x55AA inside the header whose PCIR is not sane is skipped.
  const decoy = concatRom(corruptRom(vendorHeader(0x200), 0x10, [0x55, 0xaa]), GPU);
  t.equal(parseRom(decoy).header, 0x200);
  t.equal(strippedRom(randomLike(4096, 0)), undefined, 'no image at all: nothing to strip');
});

t.test('a truncated image: read as far as it goes, reported cut off', async (t) => {
  const report = parseRom(GPU.subarray(0, 2048 + 600));
  t.equal(report.images.length, 2);
  t.equal(report.uefi, true, 'its header still says EFI x64');
  t.same(report.problems, ['the image at 0x800 is cut off: 1024 bytes long, the file ends after 600']);
  t.match(parseRom(GPU.subarray(0, 20)).problems, ['the image at 0x0: the image header is cut off']);
});

t.test('bad PCIR pointers: outside the file, into the header, at no PCIR', async (t) => {
  t.same(parseRom(setUint16(GPU, 0x18, 0xfff0)).problems, ['the image at 0x0: its PCIR pointer 0xfff0 points outside the file']);
  t.same(parseRom(setUint16(GPU, 0x18, 0)).problems, ['the image at 0x0: its PCIR pointer 0x0000 points into its own header: no PCI data structure (an ISA ROM has none)']);
  const report = parseRom(setUint16(GPU, 0x18, 0x100));
  t.same(report.images, []);
  t.same(report.problems, ['the image at 0x0: no PCIR signature at its PCIR pointer 0x0100']);
  t.same(parseRom(setUint16(GPU, 2048 + 0x18, 0x100)).problems, ['the image at 0x800: no PCIR signature at its PCIR pointer 0x0100'], 'the second image');
});

t.test('a bad checksum on a legacy image; EFI images are not summed', async (t) => {
  const report = parseRom(corruptRom(GPU, 0x100, [GPU[0x100]! ^ 1]));
  t.equal(report.images[0]!.checksumOk, false);
  t.same(report.problems, ['the image at 0x0 (x86 PC-AT) has a bad checksum: its bytes do not sum to 0']);
  t.same(parseRom(corruptRom(GPU, 2048 + 0x100, [1])).problems, [], 'a changed byte in the EFI image');
  t.same(parseRom(corruptRom(GPU, 2048 + 4, [0])).problems, ['the image at 0x800 is an EFI image without the EFI signature 0x0EF1']);
});

t.test('an empty file, and chains that run off the end or would not move forward', async (t) => {
  t.same(parseRom(new Uint8Array(0)), { images: [], header: 0, uefi: false, problems: ['the file is empty'] });
  const notLast = buildRomImage({ vendor: 1, device: 2, last: false });
  t.same(parseRom(notLast).problems, ['the chain goes on past the end of the file (512 bytes) without an image marked last']);
  t.same(parseRom(concatRom(notLast, new Uint8Array(512))).problems, ['the image at 0x200 has no 0x55AA signature']);
  // A length of 0 would point the chain back at the same image forever.
  const zero = setUint16(notLast, PCIR_OFFSET + 0x10, 0);
  t.same(parseRom(zero).problems, ['the image at 0x0: its PCIR gives an image length of 0']);
  t.same(parseRom(concatRom(notLast, zero)).problems, ['the image at 0x200: its PCIR gives an image length of 0']);
  // The longest chain the length field allows, of images that each claim 0xffff units, ends past the end at once.
  const huge = setUint16(notLast, PCIR_OFFSET + 0x10, 0xffff);
  t.match(parseRom(huge).problems, [/^the image at 0x0 is cut off: 33553920 bytes long/]);
});

/** Bytes that look random but are the same on every run. */
function randomLike(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed * 2654435761 + 1;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

t.test('a 64 MiB random file: parsed in well under a second, only one ROM`s worth read', async (t) => {
  const noise = randomBytes(64 << 20);
  // Planted: a 0x55AA every 4 KiB, each with a PCIR pointer into more noise.
  for (let at = 0; at < noise.length; at += 4096) noise.set([0x55, 0xaa], at + 1);
  const started = performance.now();
  const report = parseRom(noise);
  const parseMs = performance.now() - started;
  t.ok(parseMs < 1000, `parseRom took ${parseMs.toFixed(0)} ms`);
  t.comment(`parseRom on 64 MiB of noise: ${parseMs.toFixed(1)} ms`);
  t.match(report.problems[0], /^the file is longer than 33553920 bytes/);
  const file = join(tree(t, {}), 'noise.rom');
  writeFileSync(file, noise);
  const read = nodeRomIo.readBytes(file, MAX_ROM_BYTES + 1);
  t.equal(read.length, MAX_ROM_BYTES + 1, 'reading stops one byte past the largest ROM');
  t.equal(read.buffer.byteLength, MAX_ROM_BYTES + 1, 'in one buffer of that size: memory does not follow the file');
  const infoStarted = performance.now();
  const info = romInfo(file, { json: true });
  const infoMs = performance.now() - infoStarted;
  t.ok(infoMs < 1000, `vfio-rom info (read and parse) took ${infoMs.toFixed(0)} ms`);
  t.comment(`vfio-rom info on the 64 MiB file, read and parse: ${infoMs.toFixed(1)} ms`);
  t.equal(info.exitCode, 1);
  t.match(JSON.parse(info.stdout).problems[0], /^the file is longer than 33553920 bytes/);
  t.match(readRom(new Sysroot('/'), file)!.problems[0], /^the file is longer than/, 'the plan`s reader too');
});

/** A RomIo that logs its calls and serves `rom` on read, or throws what `failRead`/`failWrite` say. */
function recordingIo(rom: Uint8Array, fail: { read?: boolean; enable?: boolean; disable?: boolean } = {}) {
  const calls: string[] = [];
  const io: RomIo = {
    write(path, text) {
      calls.push(`write ${text} ${path.slice(path.lastIndexOf('/') + 1)}`);
      if ((text === '1' && fail.enable) || (text === '0' && fail.disable)) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    },
    readBytes(path, maxBytes) {
      calls.push(`read ${path.slice(path.lastIndexOf('/') + 1)} ${maxBytes}`);
      if (fail.read) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
      return Buffer.from(rom);
    },
  };
  return { io, calls };
}

t.test('readDeviceRom: enable, read, disable, in that order; the disable on a failed read too', async (t) => {
  const ok = recordingIo(GPU);
  t.same(Buffer.from(readDeviceRom(ok.io, '/sys/x/rom', 100)), Buffer.from(GPU));
  t.same(ok.calls, ['write 1 rom', 'read rom 100', 'write 0 rom']);
  const failing = recordingIo(GPU, { read: true });
  t.throws(() => readDeviceRom(failing.io, '/sys/x/rom', 100), new RomDumpError('cannot read the ROM (/sys/x/rom): EIO (i/o error); it was disabled again'));
  t.same(failing.calls, ['write 1 rom', 'read rom 100', 'write 0 rom']);
  const both = recordingIo(GPU, { read: true, disable: true });
  t.throws(() => readDeviceRom(both.io, '/sys/x/rom', 100), { message: 'reading it failed (EIO (i/o error)), then disabling the ROM again failed (/sys/x/rom): EIO (i/o error); write 0 to it by hand' });
  const noEnable = recordingIo(GPU, { enable: true });
  t.throws(() => readDeviceRom(noEnable.io, '/sys/x/rom', 100), { message: 'cannot enable the ROM (/sys/x/rom): EIO (i/o error)' });
  t.same(noEnable.calls, ['write 1 rom'], 'nothing read when the ROM could not be enabled');
});

const ADDRESS = '0000:01:00.0';
const DEVICE = `sys/devices/pci0000:00/0000:00:01.0/${ADDRESS}`;

/** A fake host with one GPU at 01:00.0 that has a rom file, its driver, its DRM node and consoles as asked. */
function gpuHost(t: Test, options: { bootVga?: boolean; driver?: string; holder?: boolean; console?: 'fbcon' | 'dummy' | 'efifb' } = {}): string {
  const files: Record<string, string> = {
    [`${DEVICE}/rom`]: '',
    [`${DEVICE}/boot_vga`]: options.bootVga ? '1\n' : '0\n',
    [`${DEVICE}/vendor`]: '0x10de\n',
    'sys/class/vtconsole/vtcon0/name': '(S) dummy device\n',
    'sys/class/vtconsole/vtcon0/bind': options.console === 'dummy' ? '1\n' : '0\n',
    'sys/class/vtconsole/vtcon1/name': '(M) frame buffer device\n',
    'sys/class/vtconsole/vtcon1/bind': options.console === 'fbcon' ? '1\n' : '0\n',
  };
  if (options.driver) files[`sys/bus/pci/drivers/${options.driver}/new_id`] = '';
  if (options.console === 'efifb') files['sys/bus/platform/drivers/efi-framebuffer/efi-framebuffer.0/uevent'] = '';
  if (options.holder) files['proc/4242/comm'] = 'Xorg\n';
  const root = tree(t, files);
  mkdirSync(join(root, 'sys/bus/pci/devices'), { recursive: true });
  symlinkSync(`../../../devices/pci0000:00/0000:00:01.0/${ADDRESS}`, join(root, 'sys/bus/pci/devices', ADDRESS));
  if (options.driver) symlinkSync(`../../../bus/pci/drivers/${options.driver}`, join(root, DEVICE, 'driver'));
  mkdirSync(join(root, 'sys/class/drm/card0'), { recursive: true });
  symlinkSync(`../../../devices/pci0000:00/0000:00:01.0/${ADDRESS}`, join(root, 'sys/class/drm/card0/device'));
  if (options.holder) {
    mkdirSync(join(root, 'proc/4242/fd'), { recursive: true });
    symlinkSync(options.driver === 'nvidia' ? '/dev/nvidia0' : '/dev/dri/card0', join(root, 'proc/4242/fd/7'));
  }
  return root;
}

/** The lines of the BootVmError `body` throws, with its class. */
function refusal(t: Test, body: () => unknown): { lines: string[]; error: unknown } {
  try {
    body();
  } catch (error) {
    if (error instanceof BootVmError) return { lines: error.lines(), error };
    throw error;
  }
  t.fail('expected a refusal');
  return { lines: [], error: undefined };
}

t.test('dump writes the ROM it read to a new file, mode 0644, and never over one without --force', async (t) => {
  const root = gpuHost(t, { driver: 'vfio-pci', holder: true });
  const out = join(tree(t, {}), 'gpu.rom');
  const { io, calls } = recordingIo(GPU);
  const result = romDump('01:00.0', out, { force: false, json: false, sysroot: root }, io);
  t.equal(result.exitCode, 0);
  t.same(calls, [`write 1 rom`, `read rom ${MAX_ROM_BYTES + 1}`, 'write 0 rom'], 'through the sysroot: the fake host`s rom file');
  t.match(result.stdout, /^wrote 3072 bytes of 0000:01:00\.0's ROM to .*gpu\.rom\n/);
  t.match(result.stdout, /\nverdict: 2 images \(x86 PC-AT, EFI x64\); boots under OVMF/);
  t.same(readFileSync(out), Buffer.from(GPU));
  t.equal(statSync(out).mode & 0o777, 0o644);

  const again = recordingIo(gpuRom(0x10de, 0x2204));
  const { lines } = refusal(t, () => romDump('0000:01:00.0', out, { force: false, json: false, sysroot: root }, again.io));
  t.same(lines, [`vfio-rom: ${out} exists; nothing written (--force overwrites it)`]);
  t.same(again.calls, [], 'the device is not touched');
  t.same(readFileSync(out), Buffer.from(GPU), 'the file is kept');

  writeFileSync(out, 'old', { mode: 0o600 });
  const forced = romDump('01:00.0', out, { force: true, json: true, sysroot: root }, again.io);
  t.same(readFileSync(out), Buffer.from(gpuRom(0x10de, 0x2204)), '--force overwrites');
  t.equal(statSync(out).mode & 0o777, 0o644, 'and sets the mode');
  const json = JSON.parse(forced.stdout);
  t.match(json, { address: ADDRESS, file: out, bytes: 3072, rom: { header: 0, uefi: true, problems: [] } });
  t.equal(json.rom.images[0].device, 0x2204);
});

t.test('dump checks the ROM parses before writing, and disables it whatever the read did', async (t) => {
  const root = gpuHost(t, {});
  const out = join(tree(t, {}), 'gpu.rom');
  const blank = recordingIo(new Uint8Array(65536).fill(0xff));
  const { lines } = refusal(t, () => romDump('01:00.0', out, { force: false, json: false, sysroot: root }, blank.io));
  t.same(lines, ["vfio-rom: the ROM read from 0000:01:00.0 (65536 bytes) holds no image (no option ROM image in it (no 0x55AA signature with a PCIR structure)); nothing written"]);
  t.same(blank.calls.at(-1), 'write 0 rom');
  t.notOk(existsSync(out));
  const failing = recordingIo(GPU, { read: true });
  const failed = refusal(t, () => romDump('01:00.0', out, { force: false, json: false, sysroot: root }, failing.io));
  t.ok(failed.error instanceof RomDumpError);
  t.same(failing.calls, ['write 1 rom', `read rom ${MAX_ROM_BYTES + 1}`, 'write 0 rom']);
  t.notOk(existsSync(out));
});

t.test('dump refuses the boot GPU with a console on it, and a GPU in use through its driver', async (t) => {
  const out = join(tree(t, {}), 'gpu.rom');
  const cases = [
    { host: { bootVga: true, console: 'fbcon' as const, driver: 'nvidia' }, want: /^vfio-rom: refusing to dump: 0000:01:00\.0 is the boot GPU and the host's console is on it \(vtcon1 \(M\) frame buffer device\): / },
    { host: { bootVga: true, console: 'efifb' as const }, want: /is the boot GPU and the host's console is on it \(efi-framebuffer\.0\)/ },
    { host: { driver: 'amdgpu', holder: true }, want: /^vfio-rom: refusing to dump: 0000:01:00\.0 is on amdgpu and in use \(Xorg \(pid 4242\) has \/dev\/dri\/card0 open\): stop them, or bind it to vfio-pci first$/ },
    { host: { driver: 'nvidia', holder: true }, want: /is on nvidia and in use \(Xorg \(pid 4242\) has \/dev\/nvidia0 open\)/ },
  ];
  for (const { host, want } of cases) {
    const { io, calls } = recordingIo(GPU);
    const { lines, error } = refusal(t, () => romDump('01:00.0', out, { force: false, json: false, sysroot: gpuHost(t, host) }, io));
    t.ok(error instanceof RomRefusal, JSON.stringify(host));
    t.match(lines[0], want);
    t.same(calls, [], 'the ROM is not touched');
    t.notOk(existsSync(out));
  }
  const both = refusal(t, () => romDump('01:00.0', out, { force: false, json: false, sysroot: gpuHost(t, { bootVga: true, console: 'fbcon', driver: 'i915', holder: true }) }, recordingIo(GPU).io));
  t.equal(both.lines.length, 2, 'every reason, one line each');
  // Safe: the boot GPU with only the dummy console; a second GPU while the console is on the boot one; vfio-pci held (by QEMU); a driver nobody uses; no driver.
  for (const host of [{ bootVga: true, console: 'dummy' as const }, { console: 'fbcon' as const, driver: 'vfio-pci', holder: true }, { driver: 'amdgpu' }, {}]) {
    const file = join(tree(t, {}), 'gpu.rom');
    t.equal(romDump('01:00.0', file, { force: false, json: false, sysroot: gpuHost(t, host) }, recordingIo(GPU).io).exitCode, 0, JSON.stringify(host));
  }
});

t.test('dump: a bad address or a device that is not there is bad input (exit 2)', async (t) => {
  const root = gpuHost(t, {});
  const out = join(tree(t, {}), 'gpu.rom');
  const bad = refusal(t, () => romDump('1:0.0', out, { force: false, json: false, sysroot: root }, recordingIo(GPU).io));
  t.ok(bad.error instanceof UsageError);
  t.same(bad.lines, ['dump: expected a PCI address like 01:00.0 or 0000:01:00.0, got "1:0.0"']);
  const missing = refusal(t, () => romDump('02:00.0', out, { force: false, json: false, sysroot: root }, recordingIo(GPU).io));
  t.equal((missing.error as BootVmError).exitCode, 2);
  t.same(missing.lines, [`no PCI device 0000:02:00.0 (no ${root}/sys/bus/pci/devices/0000:02:00.0)`]);
});
