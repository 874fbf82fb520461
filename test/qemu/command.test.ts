import t from 'tap';
import type { ResolvedFirmware } from '../../lib/qemu/arg.js';
import { buildCommand } from '../../lib/qemu/command.js';
import { buildInput, words } from '../fixtures/build-input.js';

const firmware: ResolvedFirmware = {
  code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
  vars: '/var/lib/boot-vm/vm_VARS.fd',
  varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.fd',
  secureBoot: false,
  smm: false,
  source: 'firmware.code',
};

t.test('every option in the fixed order, extraArgs last', async (t) => {
  const input = buildInput(
    {
      extraArgs: ['-S'],
      daemonize: true,
      vga: 'std',
      display: 'gtk',
      network: [{ mac: '52:54:00:12:34:56', bridge: { name: 'br0' } }],
      cdroms: [{ path: '/iso/win.iso', bootIndex: 2 }],
      disks: [{ path: '/vm/win.img', bootIndex: 1 }],
      passthrough: [{ host: '01:00.0' }],
      power: { s3: false },
      clock: { base: 'localtime', hpet: false },
      firmware: { type: 'ovmf' },
      memory: { size: '4G', hugepages: '2M', lock: true },
      cpu: { hyperv: { relaxed: true } },
      pinning: { vcpus: '2-3', scheduler: { policy: 'fifo' }, mode: 'process' },
      machine: { type: 'q35' },
    },
    { name: 'win', version: '7.2', hugepageDir: { path: '/dev/hugepages', note: 'mem-path ← the host\'s hugetlbfs mount with pagesize=2M' }, firmware },
  );
  const { wrappers, qemu } = buildCommand(input, 'version ← --qemu-version');
  const args = [...wrappers, ...qemu];
  t.strictSame(input.diagnostics.errors, []);
  t.strictSame(wrappers.map((arg) => arg.words[0]), ['chrt', 'taskset'], 'the wrappers, apart from QEMU');
  t.strictSame(words(args), [
    'chrt', '-f', '1',
    'taskset', '-c', '2-3',
    'qemu-system-x86_64',
    '-name', 'guest=win,debug-threads=on',
    '-nodefaults',
    '-no-user-config',
    '-machine', 'q35,accel=kvm,vmport=off,dump-guest-core=off,hpet=off,memory-backend=mem',
    '-cpu', 'host,hv-relaxed=on',
    '-smp', '2,sockets=1,cores=2,threads=1',
    '-m', '4G',
    '-object', 'memory-backend-file,id=mem,size=4G,mem-path=/dev/hugepages',
    '-overcommit', 'mem-lock=on',
    '-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd',
    '-drive', 'if=pflash,format=raw,unit=1,file=/var/lib/boot-vm/vm_VARS.fd',
    '-rtc', 'base=localtime',
    '-global', 'ICH9-LPC.disable_s3=1',
    '-device', 'pcie-root-port,id=rp1,bus=pcie.0,chassis=1,port=0x10,addr=0x2',
    '-device', 'vfio-pci,host=0000:01:00.0,id=hostdev0,bus=rp1,addr=0x0.0x0',
    '-drive', 'file=/vm/win.img,if=none,id=drive-disk0,format=raw',
    '-device', 'virtio-blk-pci,drive=drive-disk0,id=disk0,bootindex=1',
    '-drive', 'file=/iso/win.iso,if=none,id=drive-cd0,media=cdrom,format=raw,readonly=on',
    '-device', 'ide-cd,bus=ide.0,drive=drive-cd0,id=cd0,bootindex=2',
    '-netdev', 'bridge,id=net0,br=br0',
    '-device', 'virtio-net-pci,netdev=net0,id=nic0,mac=52:54:00:12:34:56',
    '-display', 'gtk',
    '-vga', 'std',
    '-pidfile', '/run/boot-vm/win.pid',
    '-chardev', 'socket,id=qmp,path=/run/boot-vm/win.qmp,server=on,wait=off',
    '-mon', 'chardev=qmp,mode=control',
    '-daemonize',
    '-S',
  ]);
  t.strictSame(args.find((arg) => arg.words[0] === 'qemu-system-x86_64'), { words: ['qemu-system-x86_64'], from: ['qemu.binary'], notes: ['version ← --qemu-version'] });
});

t.test('IO threads come just before the disks; the user QEMU runs as after the control options, before extraArgs', async (t) => {
  const input = buildInput({ iothreads: 1, disks: [{ path: '/vm/win.img', iothread: 0 }], network: [{ user: {} }], host: { runAs: 'qemu' }, daemonize: true, extraArgs: ['-boot', 'menu=on'] }, { name: 'win', version: '7.2' });
  const options = words(buildCommand(input, '').qemu).filter((word) => word.startsWith('-'));
  t.strictSame(input.diagnostics.errors, []);
  t.strictSame(options.slice(options.indexOf('-m')), ['-m', '-object', '-drive', '-device', '-netdev', '-device', '-display', '-vga', '-pidfile', '-chardev', '-mon', '-daemonize', '-runas', '-boot']);
});

t.test('the smallest profile: the binary first, no wrappers, -nodefaults and -no-user-config early', async (t) => {
  const input = buildInput({ qemu: { binary: '/opt/qemu/bin/qemu-system-x86_64' } }, { name: 'min' });
  const command = buildCommand(input, '');
  t.strictSame(command.wrappers, []);
  t.strictSame(words(command.qemu), [
    '/opt/qemu/bin/qemu-system-x86_64',
    '-name', 'guest=min,debug-threads=on',
    '-nodefaults',
    '-no-user-config',
    '-machine', 'q35,accel=kvm,vmport=off,dump-guest-core=off',
    '-cpu', 'host',
    '-smp', '1,sockets=1,cores=1,threads=1',
    '-m', '1G',
    '-display', 'none',
    '-vga', 'none',
    '-pidfile', '/run/boot-vm/min.pid',
    '-chardev', 'socket,id=qmp,path=/run/boot-vm/min.qmp,server=on,wait=off',
    '-mon', 'chardev=qmp,mode=control',
  ]);
  t.strictSame(input.diagnostics.errors, []);
});

t.test('before 5.0 the memory backend is attached by -numa right after -object', async (t) => {
  const input = buildInput({ memory: { size: '2G', backend: 'memfd' } }, { version: '4.2' });
  const argv = words(buildCommand(input, '').qemu);
  t.equal(argv[argv.indexOf('-machine') + 1], 'q35,accel=kvm,vmport=off,dump-guest-core=off');
  t.strictSame(argv.slice(argv.indexOf('-m'), argv.indexOf('-m') + 6), ['-m', '2G', '-object', 'memory-backend-memfd,id=mem,size=2G', '-numa', 'node,nodeid=0,memdev=mem']);
});

t.test('the command checks boot positions and collects every builder\'s problems', async (t) => {
  const input = buildInput({ disks: [{ path: '/vm/a.img', bootIndex: 1 }], network: [{ bootIndex: 1 }], pinning: { vcpus: [2, 2] }, cpu: { flags: ['kvm'] } });
  buildCommand(input, '');
  t.strictSame(input.diagnostics.errors, [
    { key: 'network[0].bootIndex', message: 'boot position 1 is already taken by disks[0].bootIndex' },
    { key: 'pinning.vcpus[1]', message: "host CPU 2 is already vCPU 0's; each vCPU needs its own host CPU" },
    { key: 'cpu.flags[0]', message: 'hide KVM with cpu.hidden: true, not cpu.flags' },
  ]);
});
