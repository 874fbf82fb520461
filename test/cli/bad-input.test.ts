// Bad input through the real CLI: each case prints exactly its file:line:col: key: message
// line(s) on stderr, nothing on stdout, exits 2, shows no stack trace, and leaves the fake host
// it was planned against untouched.
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { bootVm } from '../fixtures/cli.js';
import { hostRoot, writeTree } from '../fixtures/helpers.js';

interface Case {
  name: string;
  /** Files of the case's directory; the profile under test is x.yaml. */
  files: Record<string, string>;
  /** Extra arguments; `--qemu-version 7.2` is added unless the case gives one. */
  args?: string[];
  /** Plan against this fake host (strict: what it lacks is an error). */
  host?: string;
  stderr: string[];
}

const GPU = 'passthrough:\n  - { host: "01:00.0", vga: true }\n';

const CASES: Case[] = [
  { name: 'YAML: items at different columns', files: { 'x.yaml': 'memory:\n  size: 8G\n lock: true\n' }, stderr: ['x.yaml:3:1: invalid YAML: All mapping items must start at the same column'] },
  { name: 'YAML: duplicate key', files: { 'x.yaml': 'memory: { size: 8G }\nmemory: { size: 4G }\n' }, stderr: ['x.yaml:2:1: invalid YAML: Map keys must be unique'] },
  { name: 'YAML: unclosed flow mapping', files: { 'x.yaml': 'memory: { size: 8G\ncpu: {}\n' }, stderr: ['x.yaml:2:1: invalid YAML: Flow map in block collection must be sufficiently indented and end with a }'] },
  { name: 'YAML: empty file', files: { 'x.yaml': '# nothing yet\n' }, stderr: ['x.yaml:1:1: the profile is empty'] },
  { name: 'YAML: a list at the top', files: { 'x.yaml': '- memory\n' }, stderr: ['x.yaml:1:1: expected a mapping of profile keys at the top level'] },
  { name: 'unknown top-level key', files: { 'x.yaml': 'memory: { size: 8G }\nmemroy: { lock: true }\n' }, stderr: ['x.yaml:2:1: memroy: unknown key; did you mean memory?'] },
  { name: 'unknown nested key in QEMU spelling', files: { 'x.yaml': 'memory: { size: 8G }\nmachine:\n  dump_guest_core: true\n' }, stderr: ['x.yaml:3:3: machine.dump_guest_core: unknown key; did you mean dumpGuestCore?'] },
  { name: 'unknown Hyper-V flag', files: { 'x.yaml': 'memory: { size: 8G }\ncpu:\n  hyperv: { stimerDirekt: true }\n' }, stderr: ['x.yaml:3:13: cpu.hyperv.stimerDirekt: unknown key; did you mean stimerDirect?'] },
  { name: 'size as a bare number', files: { 'x.yaml': 'memory: { size: 8192 }\n' }, stderr: ['x.yaml:1:17: memory.size: expected a size like 8G'] },
  { name: 'missing memory.size', files: { 'x.yaml': 'memory: { lock: true }\n' }, stderr: ['x.yaml:1:1: memory.size: required key is missing'] },
  { name: 'wrong type: cores as text', files: { 'x.yaml': 'memory: { size: 8G }\ncpu: { cores: two }\n' }, stderr: ['x.yaml:2:15: cpu.cores: expected a number of cores from 1 to 1024'] },
  { name: 'wrong type: YAML 1.1 yes is not a boolean', files: { 'x.yaml': 'memory: { size: 8G }\nmachine: { vmport: yes }\n' }, stderr: ['x.yaml:2:20: machine.vmport: expected true or false'] },
  { name: 'QEMU version written as a number', files: { 'x.yaml': 'qemu: { version: 7.2 }\nmemory: { size: 8G }\n' }, args: [], stderr: ['x.yaml:1:18: qemu.version: expected a version like "7.2" (quoted)'] },
  { name: 'hugepage size neither 2M nor 1G', files: { 'x.yaml': 'memory: { size: 8G, hugepages: 4M }\n' }, stderr: ['x.yaml:1:32: memory.hugepages: expected 2M, 1G or false'] },
  { name: 'memory not a whole number of huge pages', files: { 'x.yaml': 'memory: { size: 1536M, hugepages: 1G }\n' }, host: 'lab', stderr: ['x.yaml:1:17: memory.size: 1536M is not a whole number of 1G huge pages'] },
  { name: 'spinlocks below 0xfff', files: { 'x.yaml': 'memory: { size: 8G }\ncpu:\n  hyperv: { spinlocks: 0x100 }\n' }, stderr: ['x.yaml:3:24: cpu.hyperv.spinlocks: expected a retry count of at least 0xfff (4095)'] },
  { name: 'vendor id longer than 12 characters', files: { 'x.yaml': 'memory: { size: 8G }\ncpu:\n  hyperv: { vendorId: NotMicrosoftHv }\n' }, stderr: ['x.yaml:3:23: cpu.hyperv.vendorId: expected up to 12 printable characters (no comma or space)'] },
  { name: 'a Hyper-V dependency turned off', files: { 'x.yaml': 'memory: { size: 8G }\ncpu:\n  hyperv: { stimer: true, vpindex: false }\n' }, stderr: ['x.yaml:3:36: cpu.hyperv.vpindex: hv-stimer (cpu.hyperv.stimer) needs hv-vpindex (through hv-synic); remove the false or turn stimer off'] },
  { name: 'a Hyper-V flag the QEMU version lacks', files: { 'x.yaml': 'memory: { size: 8G }\ncpu:\n  hyperv: { stimerDirect: true }\n' }, args: ['--qemu-version', '4.0'], stderr: ['x.yaml:3:27: cpu.hyperv.stimerDirect: QEMU 4.0 lacks hv-stimer-direct (added in 4.1)'] },
  { name: 'a QEMU older than boot-vm supports', files: { 'x.yaml': 'qemu: { version: "2.8" }\nmemory: { size: 8G }\n' }, args: [], stderr: ['x.yaml:1:18: qemu.version: QEMU 2.8 is older than 2.12, the oldest boot-vm plans for'] },
  { name: 'flags that belong under cpu.hyperv', files: { 'x.yaml': 'memory: { size: 8G }\ncpu: { flags: [hv-relaxed] }\n' }, stderr: ['x.yaml:2:16: cpu.flags[0]: set Hyper-V flags under cpu.hyperv, not cpu.flags (hv-relaxed)'] },
  { name: 'the host CPU model without KVM', files: { 'x.yaml': 'memory: { size: 8G }\nmachine: { accel: tcg }\n' }, stderr: ['x.yaml:1:1: cpu.model: the host model needs machine.accel: kvm; under tcg use max'] },
  { name: 'vCPU count differs from the topology', files: { 'x.yaml': 'memory: { size: 8G }\ncpu: { cores: 4 }\npinning: { vcpus: [2, 3] }\n' }, stderr: ['x.yaml:2:15: cpu.cores: the topology gives 1 × 4 × 1 = 4 vCPUs but pinning.vcpus lists 2 host CPUs'] },
  { name: 'pinned vCPUs that cannot fill whole cores', files: { 'x.yaml': 'memory: { size: 8G }\ncpu: { threads: 2 }\npinning: { vcpus: [1, 2, 3] }\n' }, stderr: ['x.yaml:3:19: pinning.vcpus: 3 pinned vCPUs cannot be split into 1 socket(s) × 2 thread(s); set cpu.cores, cpu.sockets and cpu.threads to match'] },
  { name: 'one host CPU for two vCPUs', files: { 'x.yaml': 'memory: { size: 8G }\npinning: { vcpus: [2, 2] }\n' }, stderr: ['x.yaml:2:23: pinning.vcpus[1]: host CPU 2 is already vCPU 0\'s; each vCPU needs its own host CPU'] },
  { name: 'pin to a CPU the host lacks', files: { 'x.yaml': 'memory: { size: 8G }\npinning: { vcpus: [3, 7] }\n' }, host: 'z77-i5-2500', stderr: ['x.yaml:2:19: pinning.vcpus: host CPU 7 does not exist here (this host has 0-3)'] },
  { name: 'IO thread CPUs in process mode', files: { 'x.yaml': 'memory: { size: 8G }\npinning: { vcpus: [2], iothreads: [1], mode: process }\n' }, stderr: ['x.yaml:2:35: pinning.iothreads: needs mode: threads; in process mode every thread shares one mask'] },
  { name: 'real-time priority 0', files: { 'x.yaml': 'memory: { size: 8G }\npinning:\n  vcpus: [2]\n  scheduler: { policy: rr, priority: 0 }\n' }, stderr: ['x.yaml:4:38: pinning.scheduler.priority: rr needs a priority from 1 to 99'] },
  { name: 'bad PCI address: bus without leading zero', files: { 'x.yaml': 'memory: { size: 8G }\npassthrough:\n  - { host: "1:00.0" }\n' }, stderr: ['x.yaml:3:13: passthrough[0].host: expected a PCI address like "01:00.0" or "0000:01:00.0"'] },
  { name: 'bad PCI address: slot above 1f', files: { 'x.yaml': 'memory: { size: 8G }\npassthrough:\n  - { host: "01:20.0" }\n' }, stderr: ['x.yaml:3:13: passthrough[0].host: expected a PCI address like "01:00.0" or "0000:01:00.0"'] },
  { name: 'the same device twice in two spellings', files: { 'x.yaml': 'memory: { size: 8G }\npassthrough:\n  - { host: "01:00.0" }\n  - { host: "0000:01:00.0" }\n' }, stderr: ['x.yaml:4:13: passthrough[1].host: duplicate device: passthrough[0] already passes 0000:01:00.0'] },
  { name: 'two guest VGA devices', files: { 'x.yaml': `memory: { size: 8G }\n${GPU}  - { host: "02:00.0", vga: true }\n` }, stderr: ['x.yaml:4:29: passthrough[1].vga: only one device can be the guest\'s VGA; passthrough[0] already is'] },
  { name: 'a device the host lacks', files: { 'x.yaml': 'memory: { size: 8G }\npassthrough:\n  - { host: "05:00.0" }\n' }, host: 'z77-i5-2500', stderr: ['x.yaml:3:13: passthrough[0].host: no PCI device 0000:05:00.0 on this host'] },
  { name: 'VGA on a USB controller', files: { 'x.yaml': 'memory: { size: 8G }\npassthrough:\n  - { host: "00:14.0", vga: true }\n' }, host: 'z77-i5-2500', stderr: ['x.yaml:3:29: passthrough[0].vga: 0000:00:14.0 is not a display controller (class 0x0c0330); only a GPU can be the guest\'s VGA'] },
  { name: 'a relative disk path', files: { 'x.yaml': 'memory: { size: 8G }\ndisks:\n  - { path: vm/disk.img }\n' }, stderr: ['x.yaml:3:13: disks[0].path: expected an absolute path'] },
  { name: 'native AIO without O_DIRECT', files: { 'x.yaml': 'memory: { size: 8G }\ndisks:\n  - { path: /vm/disk0.img, aio: native }\n' }, host: 'lab', stderr: ['x.yaml:3:33: disks[0].aio: native AIO needs O_DIRECT: set cache to none or directsync'] },
  { name: 'the same disk twice', files: { 'x.yaml': 'memory: { size: 8G }\ndisks:\n  - { path: /vm/disk0.img }\ncdroms:\n  - { path: /vm/disk0.img }\n' }, host: 'lab', stderr: ['x.yaml:5:13: cdroms[0].path: duplicate device: disks[0].path already uses /vm/disk0.img'] },
  { name: 'more SATA devices than ports', files: { 'x.yaml': `memory: { size: 8G }\ndisks:\n${[0, 1, 3, 4, 5, 6].map((i) => `  - { path: /vm/disk${i}.img, bus: sata }\n`).join('')}cdroms:\n  - { path: /vm/install.iso }\n` }, host: 'lab', stderr: ['x.yaml:10:5: cdroms[0]: the Q35 chipset has 6 SATA ports and they are all taken'] },
  { name: 'one boot position twice', files: { 'x.yaml': 'memory: { size: 8G }\ndisks:\n  - { path: /vm/disk0.img, bootIndex: 1 }\ncdroms:\n  - { path: /vm/install.iso, bootIndex: 1 }\n' }, host: 'lab', stderr: ['x.yaml:5:41: cdroms[0].bootIndex: boot position 1 is already taken by disks[0].bootIndex'] },
  { name: 'a disk on an IO thread that does not exist', files: { 'x.yaml': 'memory: { size: 8G }\niothreads: 1\ndisks:\n  - { path: /vm/disk0.img, iothread: 1 }\n' }, host: 'lab', stderr: ['x.yaml:4:38: disks[0].iothread: there are only 1 IO threads (iothreads: 1)'] },
  { name: 'an IO thread for a SATA disk', files: { 'x.yaml': 'memory: { size: 8G }\niothreads: 1\ndisks:\n  - { path: /vm/disk0.img, bus: sata, iothread: 0 }\n' }, host: 'lab', stderr: ['x.yaml:4:49: disks[0].iothread: only virtio disks take an IO thread (this one is on sata)'] },
  { name: 'runAs a user the host lacks', files: { 'x.yaml': 'memory: { size: 8G }\nhost: { runAs: libvirt-qemu }\n' }, host: 'lab', stderr: [`x.yaml:2:16: host.runAs: no user libvirt-qemu in ${hostRoot('lab')}/etc/passwd`] },
  { name: 'runAs with the pidfile beside the journals', files: { 'x.yaml': 'memory: { size: 8G }\npidfile: /run/boot-vm/x.pid\nhost: { runAs: qemu }\n' }, host: 'lab', stderr: ["x.yaml:2:10: pidfile: with host.runAs, /run/boot-vm would be given to qemu for the run, and it holds the journals, which stay root's; put the pidfile in a directory of its own, or leave pidfile out (then it goes in /run/boot-vm/<name>/)"] },
  { name: 'a multicast MAC address', files: { 'x.yaml': 'memory: { size: 8G }\nnetwork:\n  - { mac: "01:00:5e:00:00:01" }\n' }, stderr: ['x.yaml:3:12: network[0].mac: a multicast address (odd first byte) cannot be a card\'s address'] },
  { name: 'the same MAC on two cards', files: { 'x.yaml': 'memory: { size: 8G }\nnetwork:\n  - { mac: "52:54:00:00:00:01" }\n  - { mac: "52:54:00:00:00:01" }\n' }, stderr: ['x.yaml:4:12: network[1].mac: duplicate device: network[0] already uses 52:54:00:00:00:01'] },
  { name: 'two network backends on one card', files: { 'x.yaml': 'memory: { size: 8G }\nnetwork:\n  - { tap: {}, user: {} }\n' }, stderr: ['x.yaml:3:5: network[0]: choose one of tap, bridge or user, not tap and user'] },
  { name: 'extends a profile that does not exist', files: { 'x.yaml': 'extends: windows-bsae\nmemory: { size: 8G }\n' }, stderr: [`x.yaml:1:10: extends: no profile named "windows-bsae" (looked in <dir>, <dir>/profiles, /etc/boot-vm/profiles)`] },
  { name: 'extends in a cycle', files: { 'x.yaml': 'extends: y\nmemory: { size: 8G }\n', 'y.yaml': 'extends: x\n' }, stderr: ['y.yaml:1:10: extends: extends forms a cycle: x.yaml → y.yaml → x.yaml'] },
  { name: 'an error in a base file points into the base', files: { 'x.yaml': 'extends: base\nmemory: { size: 8G }\n', 'base.yaml': 'clock:\n  hpet: off\n' }, stderr: ['base.yaml:2:9: clock.hpet: expected true or false'] },
  { name: 'a list where a mapping belongs', files: { 'x.yaml': 'memory: { size: 8G }\nmachine: [q35]\n' }, stderr: ['x.yaml:2:10: machine: expected a mapping of keys'] },
  { name: 'a CPU range written high-low', files: { 'x.yaml': 'memory: { size: 8G }\npinning: { vcpus: "3-1" }\n' }, stderr: ['x.yaml:2:19: pinning.vcpus: expected a CPU list like [2, 3] or "2-3,6", or auto'] },
  { name: 'every problem at once, in file order', files: { 'x.yaml': 'memory: { size: 8 }\ncpu: { threads: 9 }\nvga: cirrus\n' }, stderr: ['x.yaml:1:17: memory.size: expected a size like 8G', 'x.yaml:2:17: cpu.threads: expected a number of threads per core from 1 to 8', 'x.yaml:3:6: vga: expected none, std, virtio or qxl'] },
  { name: 'an unknown option', files: { 'x.yaml': 'memory: { size: 8G }\n' }, args: ['--qemu-version', '7.2', '--sysrot', '/'], stderr: ['unknown option --sysrot; did you mean --sysroot? (see --help)'] },
  { name: 'a malformed --qemu-version', files: { 'x.yaml': 'memory: { size: 8G }\n' }, args: ['--qemu-version', 'seven'], stderr: ['--qemu-version: expected a version like 7.2, got "seven"'] },
  { name: 'two profiles at once', files: { 'x.yaml': 'memory: { size: 8G }\n' }, args: ['--qemu-version', '7.2', 'nosuch'], stderr: ['one profile at a time, got x.yaml, nosuch'] },
  { name: 'host: a list where the host settings belong', files: { 'x.yaml': 'memory: { size: 8G }\nhost: [modules]\n' }, stderr: ['x.yaml:2:7: host: expected a mapping of keys'] },
  { name: 'host: a misspelt setting', files: { 'x.yaml': 'memory: { size: 8G }\nhost:\n  irqAfinity: false\n' }, stderr: ['x.yaml:3:3: host.irqAfinity: unknown key; did you mean irqAffinity?'] },
  { name: 'host: YAML 1.1 yes for a switch', files: { 'x.yaml': 'memory: { size: 8G }\nhost:\n  modules: yes\n' }, stderr: ['x.yaml:3:12: host.modules: expected true or false'] },
  { name: 'host: an unknown bind method', files: { 'x.yaml': 'memory: { size: 8G }\nhost: { bindMethod: unbind }\n' }, stderr: ['x.yaml:2:21: host.bindMethod: expected driver-override or new-id'] },
  { name: 'host: unbindConsoles neither auto nor a boolean', files: { 'x.yaml': 'memory: { size: 8G }\nhost: { unbindConsoles: yes }\n' }, stderr: ['x.yaml:2:25: host.unbindConsoles: expected auto, true or false'] },
  { name: 'host: an unknown shield method', files: { 'x.yaml': 'memory: { size: 8G }\nhost: { shield: cpuset }\n' }, stderr: ['x.yaml:2:17: host.shield: expected true, false, systemd or cgroup'] },
  { name: 'host: governor true', files: { 'x.yaml': 'memory: { size: 8G }\nhost: { governor: true }\n' }, stderr: ['x.yaml:2:19: host.governor: expected a governor name like performance, or false'] },
  { name: 'host: an empty sysctl mapping', files: { 'x.yaml': 'memory: { size: 8G }\nhost:\n  sysctl: {}\n' }, stderr: ['x.yaml:3:11: host.sysctl: expected at least one sysctl'] },
  { name: 'host: a sysctl value on two lines', files: { 'x.yaml': 'memory: { size: 8G }\nhost:\n  sysctl: { vm.stat_interval: "1\\n2" }\n' }, stderr: ['x.yaml:3:31: host.sysctl.vm.stat_interval: expected a one-line value'] },
  { name: 'host: a sysctl value that is a list', files: { 'x.yaml': 'memory: { size: 8G }\nhost:\n  sysctl: { vm.stat_interval: [1] }\n' }, stderr: ['x.yaml:3:31: host.sysctl.vm.stat_interval: expected a value'] },
  { name: 'host: writebackCpus written high-low', files: { 'x.yaml': 'memory: { size: 8G }\nhost:\n  writebackCpus: "3-1"\n' }, stderr: ['x.yaml:3:18: host.writebackCpus: expected a CPU list like [2, 3] or "2-3,6"'] },
  { name: 'host: steps as a mapping', files: { 'x.yaml': 'memory: { size: 8G }\nhost:\n  steps: { run: [a] }\n' }, stderr: ['x.yaml:3:10: host.steps: expected a list of steps'] },
  { name: 'host: a step that is a shell line', files: { 'x.yaml': 'memory: { size: 8G }\nhost:\n  steps:\n    - echo hi\n' }, stderr: ['x.yaml:4:7: host.steps[0]: expected one of { write: { path, value } }, { sysctl: { key: value } } or { run: [command…], undo: [command…] }'] },
  { name: 'host: a step writing a relative path', files: { 'x.yaml': 'memory: { size: 8G }\nhost:\n  steps:\n    - write: { path: sys/x, value: 1 }\n' }, stderr: ['x.yaml:4:22: host.steps[0].write.path: expected an absolute path'] },
  { name: 'host: a step running an empty command', files: { 'x.yaml': 'memory: { size: 8G }\nhost:\n  steps:\n    - run: []\n' }, stderr: ['x.yaml:4:12: host.steps[0].run: expected a command as a list of words'] },
  { name: 'host: a shield without pinning', files: { 'x.yaml': 'memory: { size: 8G }\nhost: { shield: true }\n' }, host: 'lab', stderr: ['x.yaml:2:17: host.shield: shielding needs pinning.vcpus or pinning.cpus: it keeps the host off the vCPUs’ CPUs'] },
  { name: 'host: IRQ affinity without pinning', files: { 'x.yaml': 'memory: { size: 8G }\nhost: { irqAffinity: true }\n' }, host: 'lab', stderr: ['x.yaml:2:22: host.irqAffinity: IRQ affinity needs pinning.vcpus or pinning.cpus: it sends the devices’ IRQs to the vCPUs’ CPUs'] },
  { name: 'host: vCPUs on every CPU leave the host no CPU to shield or send IRQs to', files: { 'x.yaml': 'memory: { size: 8G }\npinning: { vcpus: [0, 1, 2, 3] }\nhost: { shield: true, irqAffinity: true }\n' }, host: 'z77-i5-2500', stderr: ['x.yaml:3:17: host.shield: the vCPUs take every online CPU (0-3); leave the host at least one', 'x.yaml:3:36: host.irqAffinity: the vCPUs take every online CPU (0-3); leave the host at least one'] },
  { name: 'an IOMMU group shared with a device on a host driver', files: { 'x.yaml': 'memory: { size: 8G }\npassthrough:\n  - { host: "03:00.1" }\n' }, host: 'lab', stderr: ["x.yaml:3:13: passthrough[0].host: 0000:03:00.1's IOMMU group also holds 0000:03:00.2 (xhci_hcd), not in the profile; pass it too, or unbind it from its driver, or move the card to another slot"] },
];

/** A digest of every file and link under a tree, to show a failed run changed nothing. */
function digestTree(root: string): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      hash.update(`${path}\0${stat.mtimeMs}\0`);
      if (stat.isDirectory()) walk(path);
      else if (stat.isSymbolicLink()) hash.update(readlinkSync(path));
      else hash.update(readFileSync(path));
    }
  };
  walk(root);
  return hash.digest('hex');
}

// Each case starts Node and boot-vm; together they outlast tap's default 30 s.
t.setTimeout(240_000);

t.ok(CASES.length >= 25, `${CASES.length} bad-input cases`);

for (const testCase of CASES) {
  t.test(testCase.name, async (t) => {
    const dir = writeTree(testCase.files);
    const args = ['x.yaml', '--dry-run', ...(testCase.args ?? ['--qemu-version', '7.2'])];
    if (testCase.host) args.push('--sysroot', hostRoot(testCase.host));
    const before = testCase.host ? digestTree(hostRoot(testCase.host)) : '';
    const result = bootVm(args, { cwd: dir });
    t.equal(result.stderr, testCase.stderr.map((line) => line.replaceAll('<dir>', dir)).join('\n') + '\n');
    t.equal(result.status, 2, 'exit code 2');
    t.equal(result.stdout, '', 'nothing on stdout');
    t.notMatch(result.stderr, /^\s+at /m, 'no stack trace');
    if (testCase.host) t.equal(digestTree(hostRoot(testCase.host)), before, 'the host tree is untouched');
  });
}
