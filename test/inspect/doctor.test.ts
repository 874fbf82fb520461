import { chmodSync, cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { findExecutable } from '../../lib/apply/probe-qemu.js';
import { renderDoctorJson, renderDoctorText, runDoctor, type Check, type DoctorOptions } from '../../lib/inspect/doctor.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import { host, hostRoot, load, REPO } from '../fixtures/helpers.js';
import { QEMU_72_PROBES } from '../fixtures/inspect-run.js';
import { tree } from '../fixtures/trees.js';

/** A copy of a fake host to change, with `remove` deleted and `files` written. */
function hostCopy(t: Test, name: string, files: Record<string, string> = {}, remove: string[] = []): Sysroot {
  const dir = tree(t, {});
  cpSync(hostRoot(name), dir, { recursive: true, verbatimSymlinks: true });
  for (const path of remove) rmSync(join(dir, path), { recursive: true, force: true });
  for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
  return new Sysroot(dir);
}

/** A profile file in a temporary directory. */
function profileFile(t: Test, yaml: string): string {
  return join(tree(t, { 'vm.yaml': yaml }), 'vm.yaml');
}

const doctor = (file: string, sysroot: Sysroot, options: Partial<DoctorOptions> = {}) => runDoctor(load(file), { sysroot, ...QEMU_72_PROBES, ...options });
const find = (checks: Check[], name: string) => checks.filter((item) => item.check === name);
const failures = (checks: Check[]) => checks.filter((item) => item.status === 'fail').map((item) => `${item.check}: ${item.detail}`);

t.test('the blog host passes the blog profile (warnings only)', async (t) => {
  const checks = doctor('profiles/mediapc.yaml', host('z77-i5-2500'));
  t.strictSame(failures(checks), []);
  t.match(renderDoctorText('mediapc', checks), /\nmediapc: 0 fail, 6 warn, \d+ pass\n$/);
  t.equal(JSON.parse(renderDoctorJson('mediapc', checks)).ok, true);
});

t.test('no vmx, no /dev/kvm, no IOMMU: each fails with its fix', async (t) => {
  const sysroot = hostCopy(t, 'z77-i5-2500', { 'proc/cpuinfo': 'vendor_id\t: GenuineIntel\nflags\t\t: fpu sse2\n', 'proc/cmdline': 'root=/dev/sda2 ro\n' }, ['dev/kvm', 'sys/kernel/iommu_groups']);
  const checks = doctor('profiles/mediapc.yaml', sysroot);
  t.match(find(checks, 'CPU virtualization')[0], { status: 'fail', fix: /enable VT-x in the firmware setup/ });
  t.match(find(checks, '/dev/kvm')[0], { status: 'fail', fix: /modprobe kvm_intel/ });
  t.match(find(checks, 'IOMMU')[0], { status: 'fail', fix: /intel_iommu=on iommu=pt/ });
  t.match(find(checks, 'kernel cmdline intel_iommu')[0], { status: 'fail', detail: 'not set' });
  t.strictSame(find(checks, 'interrupt remapping'), [], 'nothing to say about remapping without an IOMMU');
  t.match(find(checks, 'passthrough 01:00.0 IOMMU group')[0], { status: 'fail', detail: 'in no IOMMU group' });
  const json = JSON.parse(renderDoctorJson('mediapc', checks));
  t.equal(json.ok, false);
});

t.test('interrupt remapping off and intel_iommu=off', async (t) => {
  const sysroot = hostCopy(t, 'z77-i5-2500', { 'proc/interrupts': '           CPU0\n  0:         10   IO-APIC   2-edge      timer\n', 'proc/cmdline': 'ro intel_iommu=off\n' });
  const checks = doctor('profiles/mediapc.yaml', sysroot);
  t.match(find(checks, 'interrupt remapping')[0], { status: 'warn', fix: /allow_unsafe_interrupts=1/ });
  t.match(find(checks, 'kernel cmdline intel_iommu')[0], { status: 'fail', fix: 'replace it with intel_iommu=on' });
});

t.test('devices: missing, sharing a group with the host, leaving a function behind', async (t) => {
  const file = profileFile(t, 'memory: { size: 4G }\npassthrough:\n  - host: "01:00.0"\n  - host: "00:14.0"\n  - host: "09:00.0"\n');
  const checks = doctor(file, host('i7-12700k'));
  t.match(find(checks, 'passthrough 01:00.0 IOMMU group')[0], { status: 'fail', detail: /also holds 01:00\.1 \(GA102 High Definition Audio Controller\)/ });
  t.match(find(checks, 'passthrough 00:14.0 IOMMU group')[0], { status: 'fail', detail: /shares the group with the host's 00:14\.2 \(RAM memory\)/ });
  t.match(find(checks, 'passthrough 09:00.0')[0], { status: 'fail', detail: 'no such PCI device on this host' });
  t.match(find(checks, 'passthrough 01:00.0 driver')[0], { status: 'warn', detail: 'nvidia: the host is using it' });
});

t.test('a GPU whose device files are open fails with who holds them', async (t) => {
  const checks = doctor('profiles/workstation-gtx1060.yaml', host('inspur-nf5212m5'));
  t.match(find(checks, 'passthrough 65:00.0 users')[0], { status: 'fail', detail: /Xorg \(pid 1734\) has \/dev\/nvidia0 open/, fix: /stop Xorg/ });
});

t.test('a DRM GPU is matched to its /dev/dri nodes through /sys/class/drm', async (t) => {
  const sysroot = hostCopy(t, 'i7-12700k');
  const { mkdirSync, symlinkSync } = await import('node:fs');
  mkdirSync(join(sysroot.root, 'sys/class/drm/card1'), { recursive: true });
  mkdirSync(join(sysroot.root, 'sys/class/drm/card0'), { recursive: true });
  symlinkSync('../../../bus/pci/devices/0000:00:02.0', join(sysroot.root, 'sys/class/drm/card1/device'));
  symlinkSync('../../../bus/pci/devices/0000:01:00.0', join(sysroot.root, 'sys/class/drm/card0/device'));
  mkdirSync(join(sysroot.root, 'proc/900/fd'), { recursive: true });
  writeFileSync(join(sysroot.root, 'proc/900/comm'), 'gnome-shell\n');
  symlinkSync('/dev/dri/card1', join(sysroot.root, 'proc/900/fd/7'));
  const file = profileFile(t, 'memory: { size: 4G }\npassthrough:\n  - host: "00:02.0"\n');
  t.match(find(doctor(file, sysroot), 'passthrough 00:02.0 users')[0], { status: 'fail', detail: 'gnome-shell (pid 900) has /dev/dri/card1 open' });
  const other = profileFile(t, 'memory: { size: 4G }\npassthrough:\n  - host: "01:00.0"\n  - host: "01:00.1"\n');
  t.match(find(doctor(other, sysroot), 'passthrough 01:00.0 users')[0], { status: 'pass' }, "the nvidia driver's GPU is not held through another card's node");
});

t.test('huge pages: free, allocatable from buddyinfo, fragmented, missing size', async (t) => {
  t.match(find(doctor('profiles/mediapc.yaml', host('z77-i5-2500')), 'huge pages 2M')[0], { status: 'warn', fix: 'boot-vm reserves the 4096 missing pages when it launches and gives them back afterwards' });
  const manual = tree(t, { 'vm.yaml': `extends: ${join(REPO, 'profiles/mediapc.yaml')}\nhost: { hugepages: false }\n` });
  t.match(find(doctor(join(manual, 'vm.yaml'), host('z77-i5-2500')), 'huge pages 2M')[0], { status: 'warn', fix: 'echo 4096 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages before starting the VM' }, 'with host.hugepages off, the user reserves them');
  t.match(find(doctor('test/fixtures/inspect/profiles/hybrid-gaming.yaml', host('i7-12700k')), 'huge pages 2M')[0], { status: 'fail', detail: /memory is too fragmented/ });
  t.match(find(doctor('profiles/workstation-gtx1060.yaml', host('inspur-nf5212m5')), 'huge pages 1G')[0], { status: 'pass', detail: '32 free of 32, 16 needed for 16G' });
  const few = hostCopy(t, 'inspur-nf5212m5', { 'sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages': '4\n' });
  t.match(find(doctor('profiles/workstation-gtx1060.yaml', few), 'huge pages 1G')[0], { status: 'fail', detail: /cannot be allocated after boot/, fix: /default_hugepagesz=1G hugepagesz=1G hugepages=16/ });
  const none = hostCopy(t, 'inspur-nf5212m5', {}, ['sys/kernel/mm/hugepages/hugepages-1048576kB']);
  t.match(find(doctor('profiles/workstation-gtx1060.yaml', none), 'huge pages 1G')[0], { status: 'fail', detail: 'this host has no 1G huge pages' });
});

t.test('RLIMIT_MEMLOCK: enough, root, or too low for a user', async (t) => {
  const user = hostCopy(t, 'z77-i5-2500', { 'proc/self/status': 'Uid:\t1000\t1000\t1000\t1000\n' });
  t.match(find(doctor('profiles/mediapc.yaml', user), 'RLIMIT_MEMLOCK')[0], { status: 'fail', detail: "8M: QEMU cannot pin the guest's 8G for vfio", fix: /ulimit -l unlimited/ });
  const unlimited = hostCopy(t, 'z77-i5-2500', { 'proc/self/status': 'Uid:\t1000\t1000\t1000\t1000\n', 'proc/self/limits': 'Max locked memory         unlimited            unlimited            bytes\n' });
  t.match(find(doctor('profiles/mediapc.yaml', unlimited), 'RLIMIT_MEMLOCK')[0], { status: 'pass', detail: /^unlimited/ });
});

t.test('QEMU: missing, another version than planned, a property it lacks', async (t) => {
  const missing = doctor('profiles/mediapc.yaml', host('z77-i5-2500'), { probeQemuVersion: () => ({ problem: 'qemu-system-x86_64 was not found on PATH' }) });
  t.match(find(missing, 'QEMU')[0], { status: 'fail', detail: 'qemu-system-x86_64 was not found on PATH', fix: /apt install qemu-system-x86/ });
  const other = doctor('profiles/mediapc.yaml', host('z77-i5-2500'), { qemuVersion: { major: 8, minor: 2 } });
  t.match(find(other, 'QEMU version')[0], { status: 'warn', detail: 'the plan is for QEMU 8.2, the binary is 7.2' });
  const old = doctor('profiles/mediapc.yaml', host('z77-i5-2500'), { probeDeviceProperties: () => ({ properties: ['addr', 'host', 'multifunction', 'romfile'] }) });
  t.match(find(old, 'QEMU vfio-pci')[0], { status: 'fail', detail: 'does not know x-pci-sub-device-id, x-pci-sub-vendor-id, x-vga' });
  const broken = doctor('profiles/mediapc.yaml', host('z77-i5-2500'), { probeDeviceProperties: () => ({ problem: 'vfio-pci is not a valid device' }) });
  t.match(find(broken, 'QEMU vfio-pci')[0], { status: 'fail', detail: 'vfio-pci is not a valid device' });
});

t.test('swtpm: looked up on PATH for a profile with tpm; missing fails naming the Debian packages', async (t) => {
  const file = profileFile(t, 'qemu: { version: "7.2" }\nmemory: { size: 1G }\ntpm: true\n');
  const bin = tree(t, { swtpm: '#!/bin/sh\n', swtpm_setup: '#!/bin/sh\n' });
  for (const name of ['swtpm', 'swtpm_setup']) chmodSync(join(bin, name), 0o755);
  const onPath = (PATH: string) => (name: string) => findExecutable(name, { PATH });
  t.match(find(doctor(file, host('lab'), { findProgram: onPath('/nonexistent') }), 'swtpm'), [
    { status: 'fail', detail: 'swtpm and swtpm_setup are not on PATH; install them (Debian: apt install swtpm swtpm-tools)', fix: 'apt install swtpm swtpm-tools (or put them on PATH)' },
  ]);
  t.match(find(doctor(file, host('lab'), { findProgram: onPath(bin) }), 'swtpm'), [{ status: 'pass', detail: `${bin}/swtpm and ${bin}/swtpm_setup` }]);
  t.strictSame(find(doctor('profiles/mediapc.yaml', host('z77-i5-2500'), { findProgram: onPath('/nonexistent') }), 'swtpm'), [], 'no tpm, no check');
});

t.test('OVMF files that are not there fail', async (t) => {
  const sysroot = hostCopy(t, 'inspur-nf5212m5', {}, ['usr/share/OVMF/OVMF_VARS_4M.fd']);
  t.match(find(doctor('profiles/workstation-gtx1060.yaml', sysroot), 'OVMF')[0], { status: 'fail', detail: 'cannot read /usr/share/OVMF/OVMF_VARS_4M.fd' });
  const none = hostCopy(t, 'inspur-nf5212m5', {}, ['usr/share/qemu/firmware']);
  t.match(find(doctor('profiles/workstation-gtx1060.yaml', none), 'OVMF')[0], { status: 'pass' }, "Debian's files, assumed without descriptors, are there");
});

t.test('pinning: CPUs that do not exist or are offline, split siblings', async (t) => {
  const offline = hostCopy(t, 'inspur-nf5212m5', { 'sys/devices/system/cpu/online': '0-9,11-35\n' });
  t.match(find(doctor('profiles/workstation-gtx1060.yaml', offline), 'pinned CPUs')[0], { status: 'fail', detail: '10 are offline', fix: /echo 1 > \/sys\/devices\/system\/cpu\/cpuN\/online/ });
  // 11 and 29 are one core; the sibling of 10, CPU 28, stays with the host.
  const split = profileFile(t, 'memory: { size: 4G }\npinning: { vcpus: [10, 11, 29] }\n');
  const checks = doctor(split, host('inspur-nf5212m5'));
  t.match(find(checks, 'SMT siblings')[0], { status: 'warn', detail: /the siblings of vCPU CPUs 10 stay with the host/ });
  const absent = profileFile(t, 'memory: { size: 4G }\npinning: { vcpus: [70] }\n');
  t.match(find(doctor(absent, host('inspur-nf5212m5')), 'pinned CPUs')[0], { status: 'fail', detail: '70 do not exist' });
});

t.test('pinning: a CPU set all vCPUs share (pinning.cpus) is checked as the guest’s CPUs', async (t) => {
  // The server guide's taskset: 14-17 and their siblings 32-35 are whole cores.
  const shared = doctor(profileFile(t, 'memory: { size: 4G }\ncpu: { cores: 8, threads: 2 }\npinning: { cpus: "14-17,32-35", mode: process }\n'), host('inspur-nf5212m5'));
  t.match(find(shared, 'pinned CPUs')[0], { status: 'pass', detail: '14-17,32-35 exist and are online' });
  t.match(find(shared, 'SMT siblings')[0], { status: 'pass' });
  const half = doctor(profileFile(t, 'memory: { size: 4G }\npinning: { cpus: "14-17", mode: process }\n'), host('inspur-nf5212m5'));
  t.match(find(half, 'SMT siblings')[0], { status: 'warn', detail: /the siblings of vCPU CPUs 14-17 stay with the host/ });
});

t.test('the vCPU scheduler: RT throttling warned, turning it off explained, isolated CPUs make it safe', async (t) => {
  const on = (yaml: string, sysroot = host('inspur-nf5212m5')) => find(doctor(profileFile(t, `memory: { size: 4G }\n${yaml}`), sysroot), 'vCPU scheduler');
  t.match(on('pinning: { vcpus: [10, 28] }\n'), [{ status: 'pass', detail: 'other nice -20: real-time throttling does not apply' }], 'the default');
  t.match(on('pinning: { vcpus: [10, 28], scheduler: { policy: fifo } }\n'), [{ status: 'warn', detail: /SCHED_FIFO vCPU that never idles stalls 50 ms once a second/, fix: /policy: other, nice: -20/ }]);
  const off = 'pinning: { vcpus: [10, 28], scheduler: { policy: fifo } }\nhost: { sysctl: { kernel.sched_rt_runtime_us: -1 } }\n';
  t.match(on(off), [{ status: 'warn', detail: /off while the VM runs \(host.sysctl kernel.sched_rt_runtime_us: -1\).*keeps CPUs 10,28.*safe only on CPUs nothing else needs/, fix: /isolcpus=10,28 nohz_full=10,28/ }]);
  t.match(on(off, hostCopy(t, 'inspur-nf5212m5', { 'proc/cmdline': 'ro isolcpus=domain,managed_irq,10,28 quiet\n' })), [{ status: 'pass', detail: /as isolcpus keeps them$/ }]);
  const global = hostCopy(t, 'inspur-nf5212m5', { 'proc/sys/kernel/sched_rt_runtime_us': '-1\n', 'proc/sys/kernel/sched_rt_period_us': '1000000\n' });
  t.match(on('pinning: { vcpus: [10, 28], scheduler: { policy: rr } }\n', global), [{ status: 'warn', detail: /off on this host \(kernel.sched_rt_runtime_us is -1\)/ }]);
});

t.test('a profile the plan rejects is a FAIL line per problem, and the rest still runs', async (t) => {
  const file = profileFile(t, 'memory: { size: 4G }\npinning: auto\n');
  const checks = doctor(file, host('i7-12700k'));
  t.match(find(checks, 'profile')[0], { status: 'fail', detail: /vm\.yaml:2:10: pinning: auto needs cpu\.cores/ });
  t.match(find(checks, '/dev/kvm')[0], { status: 'pass' });
});

t.test('single-GPU handoff: a hint when the boot GPU is passed with nothing stopped; which modules are loaded and who holds the GPU', async (t) => {
  const hint = find(doctor('profiles/gaming-9900k.yaml', host('i9-9900k')), 'single-GPU handoff');
  t.match(hint, [{ status: 'warn', detail: "0000:01:00.0 is the boot GPU and on nvidia: the host's display runs on it, and host.stopServices is empty", fix: /host\.stopServices: \[display-manager\], host\.unloadModules: \[nvidia_drm, nvidia_modeset, nvidia_uvm, nvidia\]/ }]);
  const sysroot = hostCopy(t, 'i9-9900k');
  const { mkdirSync, symlinkSync } = await import('node:fs');
  for (const module of ['nvidia_drm', 'nvidia_modeset', 'nvidia']) mkdirSync(join(sysroot.root, `sys/module/${module}/holders`), { recursive: true });
  writeFileSync(join(sysroot.root, 'sys/module/nvidia_drm/refcnt'), '0\n');
  writeFileSync(join(sysroot.root, 'sys/module/nvidia_modeset/refcnt'), '1\n');
  writeFileSync(join(sysroot.root, 'sys/module/nvidia/refcnt'), '3\n');
  symlinkSync('../../nvidia_drm', join(sysroot.root, 'sys/module/nvidia_modeset/holders/nvidia_drm'));
  symlinkSync('../../nvidia_modeset', join(sysroot.root, 'sys/module/nvidia/holders/nvidia_modeset'));
  mkdirSync(join(sysroot.root, 'proc/1234/fd'), { recursive: true });
  writeFileSync(join(sysroot.root, 'proc/1234/comm'), 'Xorg\n');
  symlinkSync('/dev/nvidia0', join(sysroot.root, 'proc/1234/fd/9'));
  const base = 'memory: { size: 4G }\npassthrough:\n  - { host: "01:00.0", vga: true }\n  - { host: "01:00.1" }\n';
  const handoff = doctor(profileFile(t, `${base}host: { stopServices: [display-manager], unloadModules: [nvidia_drm, nvidia_modeset, nvidia_uvm, nvidia] }\n`), sysroot);
  t.strictSame(find(handoff, 'single-GPU handoff'), [], 'no hint once the display manager is stopped');
  const detail = 'loaded: nvidia_drm (refcnt 0), nvidia_modeset (used by nvidia_drm, refcnt 1), nvidia (used by nvidia_modeset, refcnt 3); not loaded: nvidia_uvm; held now: Xorg (pid 1234) has /dev/nvidia0 open';
  t.match(find(handoff, 'host.unloadModules'), [{ status: 'warn', detail, fix: /boot-vm stops display-manager first and refuses to unload while these still hold the GPU/ }]);
  t.match(find(handoff, 'passthrough 01:00.0 users'), [{ status: 'warn', fix: /boot-vm stops display-manager first/ }], 'held by what will be stopped: a warning, not a failure');
  const alone = doctor(profileFile(t, `${base}host: { unloadModules: [nvidia_drm, nvidia_modeset, nvidia_uvm, nvidia] }\n`), sysroot);
  t.match(find(alone, 'host.unloadModules'), [{ status: 'fail', detail, fix: 'stop Xorg before the launch: host.stopServices: [display-manager]' }]);
  rmSync(join(sysroot.root, 'proc/1234'), { recursive: true });
  t.match(find(doctor(profileFile(t, `${base}host: { stopServices: [gdm], unloadModules: [nvidia_drm, nvidia_modeset, nvidia_uvm, nvidia] }\n`), sysroot), 'host.unloadModules'), [{ status: 'pass', detail: /^loaded: .*; not loaded: nvidia_uvm$/ }]);
});

t.test('romfile: what it holds when it fits, each problem and the fix when it does not', async (t) => {
  const rom = '/root/Asus.GTX1070.8192.161102-patched.rom';
  const good = host('z77-i5-2500');
  t.match(find(doctor('profiles/mediapc.yaml', good), 'passthrough 01:00.0 romfile'), [{ status: 'pass', detail: `${rom}: x86 PC-AT + EFI x64 (10de:1b81)` }]);
  const headered = hostCopy(t, 'z77-i5-2500');
  writeFileSync(headered.path(rom), Buffer.concat([Buffer.alloc(0x200, 0xff), good.readBytes(rom, 1 << 20)!]));
  t.match(find(doctor('profiles/mediapc.yaml', headered), 'passthrough 01:00.0 romfile'), [
    { status: 'fail', detail: `${rom}: a vendor header of 512 bytes before the first image: cut it off with vfio-rom.mjs strip`, fix: `scripts/vfio-rom.mjs strip ${rom} /root/Asus.GTX1070.8192.161102-patched.stripped.rom, then point romfile at the result` },
  ]);
  const other = hostCopy(t, 'z77-i5-2500');
  writeFileSync(other.path(rom), readFileSync('/usr/lib/ipxe/qemu/pxe-e1000.rom'));
  t.match(find(doctor('profiles/mediapc.yaml', other), 'passthrough 01:00.0 romfile'), [{ status: 'fail', detail: /it is for device 8086:100e, the passed device is 10de:1b81/, fix: /vfio-rom\.mjs dump/ }]);
  const unreadable = hostCopy(t, 'z77-i5-2500', {}, [rom.slice(1)]);
  t.match(find(doctor('profiles/mediapc.yaml', unreadable), 'passthrough 01:00.0 romfile'), [{ status: 'fail', detail: `${rom} cannot be read`, fix: /vfio-rom\.mjs dump 01:00\.0 FILE/ }]);
});
