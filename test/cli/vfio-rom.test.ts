// vfio-rom's command line (lib/cli/vfio-rom.ts in-process, scripts/vfio-rom.mjs spawned for its
// exit codes and output): `info --json` on the ROMs Debian ships (ipxe-qemu's network boot ROMs,
// seabios' VGA BIOSes) against values read from their bytes here; info and strip on built ROMs
// with a vendor header; dump on a fake host's plain `rom` file; one-line errors for bad input.
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { vfioRom } from '../../lib/cli/vfio-rom.js';
import { BootVmError } from '../../lib/errors.js';
import { concatRom, gpuRom, vendorHeader } from '../fixtures/build-rom.js';
import { runCli, type CliResult } from '../fixtures/cli.js';
import { tree } from '../fixtures/trees.js';

/** What scripts/vfio-rom.mjs prints and exits with, without a process per run (runCli's handling of boot-vm's errors). */
function run(args: string[]): CliResult {
  try {
    const output = vfioRom(args);
    return { status: output.exitCode, stdout: output.stdout, stderr: '' };
  } catch (error) {
    if (!(error instanceof BootVmError)) throw error;
    return { status: error.exitCode, stdout: '', stderr: error.lines().map((line) => `${line}\n`).join('') };
  }
}

const script = (args: string[]) => runCli('scripts/vfio-rom.mjs', args);

t.test('the script prints and exits as the library says', async (t) => {
  for (const args of [['info', '/usr/lib/ipxe/qemu/efi-e1000.rom', '--json'], ['strip', '/usr/share/seabios/vgabios-isavga.bin', '/nonexistent/out.rom'], ['info'], ['--help']]) {
    t.same(script(args), run(args), args.join(' '));
  }
});

/** The image chain read from the bytes at the offsets the PCI Firmware Specification gives, without lib/. */
function imagesOf(bytes: Buffer) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const images = [];
  for (let offset = 0; ; ) {
    if (view.getUint16(offset, false) !== 0x55aa) throw new Error(`no 0x55AA at ${offset}`);
    const pcirOffset = view.getUint16(offset + 0x18, true);
    const pcir = offset + pcirOffset;
    if (bytes.toString('latin1', pcir, pcir + 4) !== 'PCIR') throw new Error(`no PCIR at ${pcir}`);
    const length = view.getUint16(pcir + 0x10, true) * 512;
    const codeType = view.getUint8(pcir + 0x14);
    const last = (view.getUint8(pcir + 0x15) & 0x80) !== 0;
    let sum = 0;
    for (const byte of bytes.subarray(offset, offset + length)) sum += byte;
    images.push({
      offset,
      length,
      pcirOffset,
      vendor: view.getUint16(pcir + 4, true),
      device: view.getUint16(pcir + 6, true),
      // Revision at 0x0c, then the class code's three bytes, programming interface first.
      classCode: view.getUint32(pcir + 0x0c, true) >>> 8,
      pcirRevision: view.getUint8(pcir + 0x0c),
      codeRevision: view.getUint16(pcir + 0x12, true),
      codeType,
      last,
      checksumOk: codeType === 3 ? null : sum % 256 === 0,
      efi: codeType === 3 ? { signatureOk: view.getUint32(offset + 4, true) === 0x0ef1, subsystem: view.getUint16(offset + 8, true), machine: view.getUint16(offset + 0x0a, true), compressed: view.getUint16(offset + 0x0c, true) !== 0 } : null,
    });
    if (last) return images;
    offset += length;
  }
}

// ipxe-qemu and seabios (.ci/run installs both): what each holds, as their builds say.
const REAL = [
  { file: '/usr/lib/ipxe/qemu/efi-e1000.rom', ids: [0x8086, 0x100e], classCode: 0x020000, codeTypes: [0, 3], uefi: true },
  { file: '/usr/lib/ipxe/qemu/efi-virtio.rom', ids: [0x1af4, 0x1041], classCode: 0x020000, codeTypes: [0, 3], uefi: true },
  { file: '/usr/lib/ipxe/qemu/pxe-rtl8139.rom', ids: [0x10ec, 0x8139], classCode: 0x020000, codeTypes: [0], uefi: false },
  { file: '/usr/share/seabios/vgabios-stdvga.bin', ids: [0x1234, 0x1111], classCode: 0x030000, codeTypes: [0], uefi: false },
  { file: '/usr/share/seabios/vgabios-qxl.bin', ids: [0x1b36, 0x0100], classCode: 0x030000, codeTypes: [0], uefi: false },
];

t.test('info --json on the ROMs Debian ships: every field as the bytes say', async (t) => {
  for (const rom of REAL) {
    t.ok(existsSync(rom.file), `${rom.file} is installed (apt-get install ipxe-qemu seabios)`);
    if (!existsSync(rom.file)) continue;
    const bytes = readFileSync(rom.file);
    const result = run(['info', rom.file, '--json']);
    t.equal(result.status, 0, `${rom.file}: no problem`);
    const json = JSON.parse(result.stdout);
    t.same(Object.keys(json), ['images', 'header', 'uefi', 'problems']);
    const images = imagesOf(bytes);
    t.same(json.images, images, `${rom.file}: the images read here`);
    t.same(json, { images, header: 0, uefi: rom.uefi, problems: [] });
    t.same(images.map((image) => image.codeType), rom.codeTypes);
    for (const image of images) t.match(image, { vendor: rom.ids[0], device: rom.ids[1], classCode: rom.classCode });
    t.ok(images.every((image) => image.checksumOk !== false), 'the legacy images sum to 0');
    const efi = images.find((image) => image.efi);
    if (efi) t.same(efi.efi, { signatureOk: true, subsystem: 11, machine: 0x8664, compressed: false }, 'iPXE: an uncompressed x64 boot service driver');
    t.ok(images.at(-1)!.offset + images.at(-1)!.length <= bytes.length);
  }
});

t.test('info as text on a real ROM; an ISA VGA BIOS (no PCIR) is reported, exit 1', async (t) => {
  const text = run(['info', '/usr/lib/ipxe/qemu/efi-e1000.rom']);
  t.equal(text.status, 0);
  t.match(text.stdout, /^image 1 at 0x0\n {2}signature {6}0x55AA\n {2}PCIR {11}at 0x001c \(revision 3\)\n {2}ids {12}8086:100e\n {2}class code {5}0x020000\n/);
  t.match(text.stdout, /\n {2}code type {6}3 \(EFI\)\n {2}last image {5}yes\n/);
  t.match(text.stdout, /\n {2}EFI machine {4}0x8664 \(x64\)\n/);
  t.match(text.stdout, /\nverdict: 2 images \(x86 PC-AT, EFI x64\); boots under OVMF \(an EFI x64 image in the chain at offset 0\)\nproblems: none\n$/);
  const isa = run(['info', '/usr/share/seabios/vgabios-isavga.bin']);
  t.equal(isa.status, 1);
  t.equal(isa.stdout, 'verdict: no option ROM image; OVMF cannot use it\nproblems:\n  - the image at 0x0: its PCIR pointer 0x0000 points into its own header: no PCI data structure (an ISA ROM has none)\n');
});

t.test('a vendor header: info says so (exit 1); strip cuts exactly it, 0644, never over a file without --force', async (t) => {
  const dir = tree(t, {});
  const chain = gpuRom(0x10de, 0x1b81);
  const headered = join(dir, 'nvflash.rom');
  writeFileSync(headered, concatRom(vendorHeader(0x600), chain));
  const info = run(['info', headered]);
  t.equal(info.status, 1);
  t.match(info.stdout, /^vendor header {2}1536 bytes before the first image\nimage 1 at 0x600\n/);
  t.match(info.stdout, /\nverdict: 2 images \(x86 PC-AT, EFI x64\); cannot boot under OVMF: its EFI x64 image is behind a vendor header of 1536 bytes \(strip it\)\nproblems:\n {2}- a vendor header of 1536 bytes before the first image: cut it off with vfio-rom.mjs strip\n$/);

  const out = join(dir, 'gpu.rom');
  const strip = run(['strip', headered, out]);
  t.equal(strip.status, 0, strip.stderr);
  t.equal(strip.stdout, `cut 1536 bytes; the chain ends at 0x1200; wrote 3072 bytes to ${out}\n`);
  t.same(readFileSync(out), Buffer.from(chain));
  t.equal(statSync(out).mode & 0o777, 0o644);
  t.same(JSON.parse(run(['info', out, '--json']).stdout).problems, []);

  writeFileSync(out, 'mine');
  const again = run(['strip', headered, out, '--json']);
  t.equal(again.status, 1);
  t.equal(again.stderr, `vfio-rom: ${out} exists; nothing written (--force overwrites it)\n`);
  t.equal(readFileSync(out, 'utf8'), 'mine');
  const forced = run(['strip', headered, out, '--json', '--force']);
  t.equal(forced.status, 0);
  t.same(JSON.parse(forced.stdout), { cut: 1536, end: 0x1200, bytes: 3072, out });
  t.same(readFileSync(out), Buffer.from(chain));

  const noise = join(dir, 'noise.bin');
  writeFileSync(noise, Buffer.alloc(4096, 0x5a));
  const none = run(['strip', noise, join(dir, 'none.rom')]);
  t.equal(none.status, 1);
  t.equal(none.stderr, `vfio-rom: no valid option ROM image in ${noise} (no 0x55AA with a sane PCIR); nothing written\n`);
  t.notOk(existsSync(join(dir, 'none.rom')));
});

t.test('dump on a fake host: the rom file ends disabled; a dump that does not parse writes nothing', async (t) => {
  // In a tree the rom file is a plain file: '1' replaces its bytes, the read gets "1", then '0' is written last.
  const address = '0000:01:00.0';
  const root = tree(t, { [`sys/devices/pci0000:00/${address}/rom`]: 'a ROM that writes replace', [`sys/devices/pci0000:00/${address}/boot_vga`]: '0\n' });
  mkdirSync(join(root, 'sys/bus/pci/devices'), { recursive: true });
  symlinkSync(`../../../devices/pci0000:00/${address}`, join(root, 'sys/bus/pci/devices', address));
  const out = join(tree(t, {}), 'gpu.rom');
  const result = run(['dump', '01:00.0', out, '--sysroot', root]);
  t.equal(result.status, 1);
  t.equal(result.stderr, "vfio-rom: the ROM read from 0000:01:00.0 (1 byte) holds no image (no option ROM image in it (no 0x55AA signature with a PCIR structure)); nothing written\n");
  t.equal(readFileSync(join(root, 'sys/bus/pci/devices', address, 'rom'), 'utf8'), '0', 'the ROM disabled last');
  t.notOk(existsSync(out));
});

t.test('bad input: one line, exit 2; --help', async (t) => {
  const dir = tree(t, { 'empty.rom': '' });
  t.match(run(['--help']), { status: 0, stdout: /^Usage: vfio-rom dump <pci-address> <file> / });
  const empty = run(['info', join(dir, 'empty.rom'), '--json']);
  t.equal(empty.status, 1, 'an empty file is read: a problem, not bad input');
  t.same(JSON.parse(empty.stdout), { images: [], header: 0, uefi: false, problems: ['the file is empty'] });
  const cases = [
    { args: [], stderr: 'vfio-rom needs a verb: dump, info or strip (see --help)' },
    { args: ['show', 'x.rom'], stderr: 'unknown verb "show": expected dump, info or strip (see --help)' },
    { args: ['info'], stderr: 'info takes <file>, got nothing' },
    { args: ['strip', 'a.rom'], stderr: 'strip takes <in> <out>, got a.rom' },
    { args: ['info', 'a.rom', '--jsn'], stderr: 'unknown option --jsn; did you mean --json? (see --help)' },
    { args: ['info', 'a.rom', '--sysroot', dir], stderr: '--sysroot goes with dump; info reads the file it is given' },
    { args: ['info', join(dir, 'missing.rom')], stderr: `cannot read ${join(dir, 'missing.rom')}: ENOENT (no such file or directory)` },
    { args: ['info', dir], stderr: `cannot read ${dir}: EISDIR (illegal operation on a directory)` },
    { args: ['dump', '01:00', join(dir, 'x.rom'), '--sysroot', dir], stderr: 'dump: expected a PCI address like 01:00.0 or 0000:01:00.0, got "01:00"' },
    { args: ['dump', '01:00.0', join(dir, 'x.rom'), '--sysroot', dir], stderr: `no PCI device 0000:01:00.0 (no ${dir}/sys/bus/pci/devices/0000:01:00.0)` },
    { args: ['dump', '01:00.0', join(dir, 'x.rom'), '--sysroot', join(dir, 'nohost')], stderr: `--sysroot: ${join(dir, 'nohost')} is not a directory` },
  ];
  for (const { args, stderr } of cases) t.same(run(args), { status: 2, stdout: '', stderr: `${stderr}\n` }, args.join(' '));
});
