// The option mapping on its own: QEMU words → profile keys, notes, modernised spellings and
// extraArgs, without the script reader (the words are given as the reader hands them over).
import t from 'tap';
import { importQemuOptions } from '../../lib/import/qemu-options.js';
import { groupOptions } from '../../lib/import/qemu-props.js';
import { parseOptionValue, splitProps } from '../../lib/qemu/props.js';
import type { ScriptCommand } from '../../lib/import/script.js';

const command = (line: string, extra: Partial<ScriptCommand> = {}): ScriptCommand => ({
  binary: { text: 'qemu-system-x86_64', line: 1 },
  args: line.split(' ').filter((text) => text !== '').map((text) => ({ text, line: 1 })),
  ...extra,
});

const base = '-nodefaults -machine q35,accel=kvm -m 1G';
const imported = (line: string, extra: Partial<ScriptCommand> = {}) => importQemuOptions(command(`${base} ${line}`, extra)).draft;
const extraOf = (line: string) => imported(line).extra.map((arg) => arg.words.join(' '));

t.test('QemuOpts syntax: doubled commas, bare keys, implied first values', async (t) => {
  t.strictSame(splitProps('file=/a,,b,if=virtio,readonly'), [{ key: 'file', value: '/a,b' }, { key: 'if', value: 'virtio' }, { key: 'readonly' }]);
  const parsed = parseOptionValue('vfio-pci,host=01:00.0,x-vga=on', 'driver');
  t.equal(parsed.head, 'vfio-pci');
  t.strictSame(parsed.order, ['host', 'x-vga']);
  t.equal(parseOptionValue('type=q35,accel=kvm', 'type').head, 'q35');
  t.strictSame(
    groupOptions(['-enable-kvm', '-m', '8192', '-no-hpet', '-k', 'de'].map((text) => ({ text, line: 1 }))).map((option) => option.words),
    [['-enable-kvm'], ['-m', '8192'], ['-no-hpet'], ['-k', 'de']],
  );
});

t.test('both Hyper-V spellings become cpu.hyperv, and the underscores are listed as modernised', async (t) => {
  const draft = imported('-cpu host,hv_relaxed,hv-vapic=on,hv_spinlocks=0x1fff,hv-stimer-direct,hv_vendor_id=abc,hv-time=off');
  t.strictSame(draft.get(['cpu', 'hyperv']), { relaxed: true, vapic: true, spinlocks: 0x1fff, stimerDirect: true, vendorId: 'abc', time: false });
  t.match(draft.modernised.map((note) => note.message), [/^hv_relaxed, hv_spinlocks, hv_vendor_id → hv-relaxed, hv-spinlocks, hv-vendor-id/]);
});

t.test('a value the schema refuses is kept as a QEMU argument, with a warning', async (t) => {
  const draft = imported('-cpu host,hv_vendor_id=far-too-long-for-it,hv-enforce-cpuid');
  t.equal(draft.get(['cpu', 'hyperv', 'vendorId']), undefined);
  t.strictSame(draft.extra.map((arg) => arg.words.join(' ')), ['-global host-x86_64-cpu.hv-vendor-id=far-too-long-for-it', '-global host-x86_64-cpu.hv-enforce-cpuid=on']);
  t.match(draft.warnings.map((note) => note.message), [/cpu\.hyperv\.vendorId cannot take "far-too-long-for-it"/]);
});

t.test('-smp forms: a count alone is cores, as QEMU 7.2 reads it', async (t) => {
  t.strictSame(imported('-smp 4').get(['cpu']), { model: 'qemu64', sockets: 1, cores: 4, threads: 1 });
  t.strictSame(imported('-smp cpus=16,sockets=2,threads=2').get(['cpu']), { model: 'qemu64', sockets: 2, cores: 4, threads: 2 });
  t.strictSame(extraOf('-smp 4,maxcpus=8'), ['-smp maxcpus=8']);
});

t.test('-m forms: MiB by default, units, and hot-plug kept verbatim', async (t) => {
  t.equal(importQemuOptions(command('-m 8192')).draft.get(['memory', 'size']), '8G');
  t.equal(importQemuOptions(command('-m size=1536M')).draft.get(['memory', 'size']), '1536M');
  t.strictSame(importQemuOptions(command('-m 16G,slots=2,maxmem=64G')).draft.extra.map((arg) => arg.words.join(' ')), ['-m slots=2,maxmem=64G']);
});

t.test('memory: -realtime, -overcommit, -mem-path and a backend object', async (t) => {
  const old = imported('-realtime mlock=on -mem-path /dev/hugepages1G -mem-prealloc');
  t.strictSame(old.get(['memory']), { size: '1G', lock: true, hugepages: '1G', path: '/dev/hugepages1G', prealloc: true });
  t.match(old.modernised.map((note) => note.message), [/-realtime mlock=on → -overcommit mem-lock=on/, /-mem-path/, /-mem-prealloc/]);
  const backend = imported('-object memory-backend-file,id=m,size=1G,mem-path=/dev/hugepages,share=on,host-nodes=0,policy=bind -numa node,memdev=m');
  t.strictSame(backend.get(['memory']), { size: '1G', hugepages: '2M', path: '/dev/hugepages', share: true });
  t.match(backend.warnings.map((note) => note.message), [/host-nodes=0: boot-vm binds guest memory/, /policy=bind/]);
});

t.test('drives: if=virtio, plain (IDE, on Q35 the AHCI: sata), if=none with its device; unknown properties as -set', async (t) => {
  const draft = imported('-drive file=/a.img,if=virtio,format=raw -drive file=/b.img,format=raw -drive file=/c.iso,media=cdrom -drive file=/d.img,if=none,id=x,format=qcow2,werror=stop -device virtio-blk-pci,drive=x,bootindex=3,logical_block_size=4096');
  t.strictSame(draft.get(['disks']), [
    { path: '/a.img', format: 'raw', bus: 'virtio' },
    { path: '/b.img', format: 'raw', bus: 'sata' },
    { path: '/d.img', format: 'qcow2', bus: 'virtio', bootIndex: 3 },
  ]);
  t.strictSame(draft.get(['cdroms']), [{ path: '/c.iso' }]);
  t.strictSame(draft.extra.map((arg) => arg.words.join(' ')), ['-set drive.drive-disk2.werror=stop', '-set device.disk2.logical_block_size=4096']);
});

t.test('passthrough: properties to keys, placement to boot-vm, the rest as -set on its id', async (t) => {
  const draft = imported('-device ioh3420,id=rp,chassis=1 -device vfio-pci,host=01:00.0,bus=rp,addr=0.0,multifunction=on,x-vga=on,romfile=/r.rom,x-pci-sub-vendor-id=4318,x-pci-sub-device-id=0x1b81,display=off');
  t.strictSame(draft.get(['passthrough']), [{ host: '01:00.0', vga: true, romfile: '/r.rom', subsystemVendor: 0x10de, subsystemDevice: 0x1b81 }]);
  t.strictSame(draft.extra.map((arg) => arg.words.join(' ')), ['-set device.hostdev0.display=off']);
  t.match(draft.modernised.map((note) => note.message), [/ioh3420 → pcie-root-port/]);
  t.match(draft.notes.map((note) => note.message), [/-nodefaults/, /bus=, addr=, multifunction= of the vfio-pci devices \(line 1\): boot-vm places each card/, /boot-vm gives each passed card a pcie-root-port/]);
});

t.test('pinning: taskset is a set shared by all threads; chrt and nice are the scheduler', async (t) => {
  const rt = imported('-smp 4', { taskset: { cpus: [2, 3, 6, 7], line: 1 }, chrt: { policy: 'fifo', priority: 10, line: 1 } });
  t.strictSame(rt.get(['pinning']), { cpus: '2-3,6-7', mode: 'process', scheduler: { policy: 'fifo', priority: 10 } });
  const niced = imported('', { taskset: { cpus: [1], line: 1 }, nice: { value: -10, line: 1 } });
  t.strictSame(niced.get(['pinning', 'scheduler']), { policy: 'other', nice: -10 });
  const plain = imported('', { taskset: { cpus: [1], line: 1 } });
  t.strictSame(plain.get(['pinning', 'scheduler']), { policy: 'other', nice: 0 }, 'as it ran, not boot-vm\'s nice -20');
  const alone = imported('', { chrt: { policy: 'rr', priority: 1, line: 1 } });
  t.equal(alone.get(['pinning']), undefined);
  t.match(alone.warnings.map((note) => note.message), [/chrt --rr 1 without taskset/]);
});

t.test("what QEMU gives without -nodefaults, -machine or -cpu is said", async (t) => {
  const draft = importQemuOptions(command('-m 1G')).draft;
  t.equal(draft.get(['vga']), 'std');
  t.strictSame(draft.get(['network']), [{ model: 'e1000e', user: {} }]);
  t.equal(draft.get(['cpu', 'model']), 'qemu64');
  t.match(draft.warnings.map((note) => note.message), [/no -machine: QEMU's default is the i440FX/, /no -enable-kvm/]);
});

t.test('network: -netdev + -device, -nic, and -net pairs', async (t) => {
  const draft = imported('-netdev tap,id=a,ifname=tap0,script=/up,downscript=no,vhost=on,queues=4 -device virtio-net-pci,netdev=a,mac=52:54:00:00:00:01,bootindex=2 -nic bridge,br=br1,model=e1000 -net nic,model=rtl8139 -net user');
  t.strictSame(draft.get(['network']), [
    { model: 'virtio', mac: '52:54:00:00:00:01', bootIndex: 2, tap: { ifname: 'tap0', script: '/up', downscript: false, vhost: true } },
    { model: 'e1000', bridge: { name: 'br1' } },
    { model: 'rtl8139', user: {} },
  ]);
  t.strictSame(draft.extra.map((arg) => arg.words.join(' ')), ['-set netdev.net0.queues=4']);
});

t.test('anything not understood is kept in order, verbatim', async (t) => {
  t.strictSame(extraOf('-k de -device usb-tablet -usb -machine q35,usb=on -S'), ['-machine usb=on', '-k de', '-device usb-tablet', '-usb', '-S']);
});

t.test('a device property its key cannot take stays on the device', async (t) => {
  const draft = imported('-device vfio-pci,host=01:00.0,romfile=vbios.rom -drive file=/a.img,if=virtio,format=raw,serial=has,,comma');
  t.strictSame(draft.get(['passthrough']), [{ host: '01:00.0' }]);
  t.strictSame(draft.get(['disks']), [{ path: '/a.img', format: 'raw', bus: 'virtio' }]);
  t.strictSame(draft.extra.map((arg) => arg.words.join(' ')), ['-set device.hostdev0.romfile=vbios.rom', '-set drive.drive-disk0.serial=has,comma']);
  t.match(draft.warnings.map((note) => note.message), [/romfile=vbios\.rom: not a value for passthrough\.romfile \(expected an absolute path\)/, /serial=has,comma: not a value for disks\.serial/]);
});

t.test('a VGA card given as a device is the vga key', async (t) => {
  const draft = imported('-device virtio-vga,id=video0 -device qxl-vga,ram_size=67108864');
  t.equal(draft.get(['vga']), 'virtio');
  t.strictSame(draft.extra.map((arg) => arg.words.join(' ')), ['-device qxl-vga,ram_size=67108864']);
});
