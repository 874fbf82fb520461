// importHostSteps: each kind of host line an on-boot script has, to the profile's host key, a note
// (boot-vm does it itself) or a warning (not imported). Commands are given as parseScript hands
// them over: words expanded, `| tee` turned into a redirect.
import t from 'tap';
import { importHostSteps, type HostCommand, type HostImport } from '../../lib/import/host-steps.js';

/** A command from its text (no quotes: parseScript removed them): words split on blanks, `> path` / `>> path` at the end as the redirect. */
function command(text: string, line = 1): HostCommand {
  const redirect = /^(.*?)\s+(>>?)\s*(\S+)$/.exec(text);
  const words = (redirect ? redirect[1]! : text).split(/\s+/);
  return redirect ? { words, redirect: { path: redirect[3]!, append: redirect[2] === '>>' }, line, text } : { words, line, text };
}

const read = (...texts: string[]): HostImport => importHostSteps(texts.map((text, i) => command(text, i + 1)));
const notes = (result: HostImport) => result.notes.map((note) => `${note.line}: ${note.message}`);
const warnings = (result: HostImport) => result.warnings.map((note) => `${note.line}: ${note.message}`);

t.test('sysctl writes', async (t) => {
  const result = read('echo 120 > /proc/sys/vm/stat_interval', 'sysctl -w kernel.watchdog=0', 'sysctl kernel.nmi_watchdog=0', 'sudo sysctl -q -w net.ipv4.conf.br-lan.forwarding=1', 'echo 1  2 > /proc/sys/kernel/sched_foo');
  t.strictSame(result.host, { sysctl: { 'vm.stat_interval': 120, 'kernel.watchdog': 0, 'kernel.nmi_watchdog': 0, 'net.ipv4.conf.br-lan.forwarding': 1, 'kernel.sched_foo': '1 2' } });
  t.strictSame(result.comments, {
    'host.sysctl.vm.stat_interval': 'line 1: echo 120 > /proc/sys/vm/stat_interval',
    'host.sysctl.kernel.watchdog': 'line 2: sysctl -w kernel.watchdog=0',
    'host.sysctl.kernel.nmi_watchdog': 'line 3: sysctl kernel.nmi_watchdog=0',
    'host.sysctl.net.ipv4.conf.br-lan.forwarding': 'line 4: sudo sysctl -q -w net.ipv4.conf.br-lan.forwarding=1',
    'host.sysctl.kernel.sched_foo': 'line 5: echo 1  2 > /proc/sys/kernel/sched_foo',
  });
  t.strictSame([...warnings(result), ...notes(result)], []);

  const other = read('sysctl -p /etc/sysctl.d/90-vm.conf', 'sysctl vm.swappiness', 'sysctl -w vm.swappiness=10', 'sysctl -w vm.swappiness=1', 'sysctl -w Bad.Key=1');
  t.strictSame(other.host, { sysctl: { 'vm.swappiness': 1 } });
  t.strictSame(warnings(other), [
    '1: sysctl -p /etc/sysctl.d/90-vm.conf: not imported: it loads sysctl settings from files; put the ones the VM needs under host.sysctl',
    '4: sysctl -w vm.swappiness=1: vm.swappiness was 10 from an earlier line; 1 is kept',
    '5: sysctl -w Bad.Key=1: not imported: Bad.Key is not a sysctl key like vm.stat_interval',
  ]);
  t.strictSame(notes(other), ['2: sysctl vm.swappiness: only reads settings']);
  t.equal(other.comments['host.sysctl.vm.swappiness'], 'lines 3, 4: sysctl -w vm.swappiness=10; sysctl -w vm.swappiness=1');
});

t.test('huge pages', async (t) => {
  const legacy = read('echo 4096 > /proc/sys/vm/nr_hugepages');
  t.strictSame([legacy.host, legacy.memory], [{ hugepages: true }, { hugepages: '2M' }]);
  t.strictSame(notes(legacy), ["1: echo 4096 > /proc/sys/vm/nr_hugepages: huge pages of the default size, taken as 2M (the kernel's unless default_hugepagesz says otherwise); boot-vm reserves the number the VM needs itself"]);
  t.strictSame(read('sysctl vm.nr_hugepages=8192').memory, { hugepages: '2M' }, 'through sysctl too');
  const gig = read('echo 16 > /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages', 'mount -t hugetlbfs -o pagesize=1G none /dev/hugepages1G', 'umount /dev/hugepages1G', 'mkdir -p /dev/hugepages1G', 'mkdir -p /data/img');
  t.strictSame([gig.host, gig.memory], [{ hugepages: true }, { hugepages: '1G' }]);
  t.strictSame(gig.comments, {
    'memory.hugepages': 'lines 1, 2: echo 16 > /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages; mount -t hugetlbfs -o pagesize=1G none /dev/hugepages1G',
    'host.hugepages': 'lines 1, 2: echo 16 > /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages; mount -t hugetlbfs -o pagesize=1G none /dev/hugepages1G',
  });
  t.strictSame(notes(gig), [
    '1: echo 16 > /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages: boot-vm reserves the number of huge pages the VM needs itself, on the node its memory is bound to',
    '2: mount -t hugetlbfs -o pagesize=1G none /dev/hugepages1G: boot-vm mounts hugetlbfs for the page size when no mount has it',
    '3: umount /dev/hugepages1G: boot-vm unmounts the hugetlbfs it mounted',
    '4: mkdir -p /dev/hugepages1G: boot-vm makes the hugetlbfs mount point itself',
  ]);
  t.strictSame(warnings(gig), ['5: mkdir -p /data/img: not imported: boot-vm makes only the hugetlbfs mount point']);
  t.strictSame(read('echo 512 > /sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages').memory, { hugepages: '2M' }, 'on one node');
  t.strictSame(read('hugeadm --pool-pages-min 1G:8').memory, { hugepages: '1G' }, "libhugetlbfs's hugeadm");
  t.strictSame(read('hugeadm --pool-pages-min 2MB:4096').memory, { hugepages: '2M' });
  t.strictSame(read('hugeadm --pool-pages-min 2097152:4096').memory, { hugepages: '2M' });
  t.strictSame(warnings(read('hugeadm --pool-pages-min 16M:8')), ['1: hugeadm --pool-pages-min 16M:8: not imported: expected hugeadm --pool-pages-min 2M:N or 1G:N']);
  const odd = read('echo 8 > /sys/kernel/mm/hugepages/hugepages-64kB/nr_hugepages', 'echo 3 > /proc/sys/vm/drop_caches', 'echo 1 > /proc/sys/vm/compact_memory');
  t.strictSame([odd.host, odd.memory], [{}, {}]);
  t.strictSame(warnings(odd), ['1: echo 8 > /sys/kernel/mm/hugepages/hugepages-64kB/nr_hugepages: not imported: huge pages of 64 kB; boot-vm takes 2M or 1G']);
  t.strictSame(notes(odd), ['2: echo 3 > /proc/sys/vm/drop_caches: boot-vm compacts memory before it reserves huge pages', '3: echo 1 > /proc/sys/vm/compact_memory: boot-vm compacts memory before it reserves huge pages']);
  const both = read('echo 8 > /proc/sys/vm/nr_hugepages', 'echo 8 > /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages');
  t.strictSame(both.memory, { hugepages: '1G' });
  t.strictSame(warnings(both), ['2: echo 8 > /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages: huge pages of 2M were reserved on an earlier line; 1G is kept']);
});

t.test('KVM, writeback CPUs, consoles', async (t) => {
  t.strictSame(read('echo 1 > /sys/module/kvm/parameters/ignore_msrs').host, { ignoreMsrs: true });
  t.strictSame(read('echo Y > /sys/module/kvm/parameters/ignore_msrs').host, { ignoreMsrs: true });
  t.strictSame(read('echo 0 > /sys/module/kvm/parameters/ignore_msrs').host, { ignoreMsrs: false });
  t.strictSame(warnings(read('echo maybe > /sys/module/kvm/parameters/ignore_msrs')), ['1: echo maybe > /sys/module/kvm/parameters/ignore_msrs: not imported: expected 1/Y or 0/N for ignore_msrs, got maybe']);
  t.strictSame(read('echo 3 > /sys/bus/workqueue/devices/writeback/cpumask').host, { writebackCpus: [0, 1] });
  t.strictSame(read('echo ff,00000001 > /sys/bus/workqueue/devices/writeback/cpumask').host, { writebackCpus: [0, 32, 33, 34, 35, 36, 37, 38, 39] });
  t.strictSame(warnings(read('echo 0-1 > /sys/bus/workqueue/devices/writeback/cpumask')), ['1: echo 0-1 > /sys/bus/workqueue/devices/writeback/cpumask: not imported: cannot read the CPU mask 0-1']);
  const consoles = read('echo 0 > /sys/class/vtconsole/vtcon0/bind', 'echo efi-framebuffer.0 > /sys/bus/platform/drivers/efi-framebuffer/unbind', 'echo 1 > /sys/class/vtconsole/vtcon0/bind', 'echo efi-framebuffer.0 > /sys/bus/platform/drivers/efi-framebuffer/bind');
  t.strictSame(consoles.host, { unbindConsoles: true });
  t.equal(consoles.comments['host.unbindConsoles'], 'lines 1, 2: echo 0 > /sys/class/vtconsole/vtcon0/bind; echo efi-framebuffer.0 > /sys/bus/platform/drivers/efi-framebuffer/unbind');
  t.strictSame(notes(consoles), ['3: echo 1 > /sys/class/vtconsole/vtcon0/bind: boot-vm binds the consoles back when the VM stops', '4: echo efi-framebuffer.0 > /sys/bus/platform/drivers/efi-framebuffer/bind: boot-vm binds the framebuffer back when the VM stops']);
});

t.test('vfio binding', async (t) => {
  const newId = read('modprobe vfio-pci', 'echo 0000:01:00.0 > /sys/bus/pci/devices/0000:01:00.0/driver/unbind', 'echo 10de 1b81 > /sys/bus/pci/drivers/vfio-pci/new_id', 'echo 0000:01:00.0 > /sys/bus/pci/drivers/vfio-pci/bind', 'sleep 1', 'echo 1 > /sys/bus/pci/rescan', 'echo 10de 1b81 > /sys/bus/pci/drivers/vfio-pci/remove_id');
  t.strictSame(newId.host, { bindMethod: 'new-id', rescan: true });
  t.strictSame(warnings(newId), []);
  t.strictSame(notes(newId), [
    '1: modprobe vfio-pci: boot-vm loads the vfio and kvm modules itself (host.modules)',
    '2: echo 0000:01:00.0 > /sys/bus/pci/devices/0000:01:00.0/driver/unbind: boot-vm binds each passthrough device to vfio-pci itself (host.bindVfio) and gives it back afterwards',
    '3: echo 10de 1b81 > /sys/bus/pci/drivers/vfio-pci/new_id: the device ids come from the passthrough devices',
    '4: echo 0000:01:00.0 > /sys/bus/pci/drivers/vfio-pci/bind: boot-vm binds each passthrough device to vfio-pci itself (host.bindVfio) and gives it back afterwards',
    '5: sleep 1: boot-vm waits for each device to reach vfio-pci itself',
    '7: echo 10de 1b81 > /sys/bus/pci/drivers/vfio-pci/remove_id: boot-vm binds each passthrough device to vfio-pci itself (host.bindVfio) and gives it back afterwards',
  ]);
  const override = read('echo vfio-pci > /sys/bus/pci/devices/0000:01:00.0/driver_override', 'echo 0000:01:00.0 > /sys/bus/pci/drivers_probe', 'echo > /sys/bus/pci/devices/0000:01:00.0/driver_override', 'virsh nodedev-detach pci_0000_01_00_1');
  t.strictSame(override.host, { bindMethod: 'driver-override' });
  t.strictSame(notes(override).map((note) => note.slice(0, 2)), ['2:', '3:', '4:']);
  const both = read('echo 10de 1b81 > /sys/bus/pci/drivers/vfio-pci/new_id', 'echo vfio-pci > /sys/bus/pci/devices/0000:01:00.1/driver_override');
  t.strictSame(both.host, { bindMethod: 'driver-override' });
  t.strictSame(warnings(both), ['2: echo vfio-pci > /sys/bus/pci/devices/0000:01:00.1/driver_override: host.bindMethod was "new-id" from an earlier line; the later "driver-override" is kept']);
  t.strictSame(warnings(read('echo 1 > /sys/bus/pci/devices/0000:01:00.0/remove')), ['1: echo 1 > /sys/bus/pci/devices/0000:01:00.0/remove: not imported: boot-vm does not remove PCI devices (host.rescan rescans the bus)']);
});

t.test('single-GPU handoff: services and modules', async (t) => {
  const result = read('systemctl stop display-manager.service sddm', 'modprobe -r nvidia_drm nvidia_modeset', 'rmmod nvidia', 'systemctl start display-manager', 'modprobe i2c-dev', 'systemctl isolate multi-user.target');
  t.strictSame(result.host, { unloadModules: ['nvidia_drm', 'nvidia_modeset', 'nvidia'], stopServices: ['display-manager', 'sddm'] });
  t.strictSame(result.comments, { 'host.stopServices': 'line 1: systemctl stop display-manager.service sddm', 'host.unloadModules': 'lines 2, 3: modprobe -r nvidia_drm nvidia_modeset; rmmod nvidia' });
  t.strictSame(warnings(result), [
    '5: modprobe i2c-dev: not imported: boot-vm loads only the vfio and kvm modules; add a host.steps run step if this one is needed',
    '6: systemctl isolate multi-user.target: not imported: boot-vm stops units only for the VM (host.stopServices)',
  ]);
  t.strictSame(notes(result), ['4: systemctl start display-manager: boot-vm starts the units it stopped (host.stopServices) when the VM stops']);
});

t.test('CPUs: governor, IRQs, shielding', async (t) => {
  t.strictSame(read('cpupower frequency-set -g performance').host, { governor: 'performance' });
  t.strictSame(read('echo performance > /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor').host, { governor: 'performance' }, 'a glob left as written');
  t.strictSame(read('echo schedutil > /sys/devices/system/cpu/cpufreq/policy3/scaling_governor').host, { governor: 'schedutil' });
  t.strictSame(warnings(read('cpupower idle-set -D 0')), ['1: cpupower idle-set -D 0: not imported: boot-vm sets only the governor (host.governor)']);
  const irqs = read('echo 3 > /proc/irq/default_smp_affinity', 'echo 4-7 > /proc/irq/42/smp_affinity_list');
  t.strictSame(irqs.host, { irqAffinity: true });
  t.equal(irqs.warnings.length, 2);
  const shield = read('systemctl set-property --runtime -- user.slice AllowedCPUs=0,1');
  t.strictSame(shield.host, { shield: 'systemd' });
  t.strictSame(warnings(shield), ["1: systemctl set-property --runtime -- user.slice AllowedCPUs=0,1: the CPU list is not imported: with host.shield boot-vm keeps host tasks off the vCPUs' CPUs"]);
});

t.test('other writes become host.steps; other files and commands are warned about', async (t) => {
  const result = read('echo never > /sys/kernel/mm/transparent_hugepage/enabled', 'echo 0 > /sys/module/kvm/parameters/report_ignored_msrs', 'echo hello > /etc/motd', 'echo done >> /var/log/vm.log', 'xset -dpms', 'lspci -nnk', 'ulimit -l 33554432', 'ulimit -u unlimited', 'cat /proc/meminfo > /tmp/mem', 'printf %s\\n 1 > /sys/kernel/mm/ksm/run', 'echo -n 0 > /sys/kernel/mm/ksm/merge_across_nodes', '. /etc/vm.conf');
  t.strictSame(result.host, {
    steps: [
      { write: { path: '/sys/kernel/mm/transparent_hugepage/enabled', value: 'never' } },
      { write: { path: '/sys/module/kvm/parameters/report_ignored_msrs', value: '0' } },
      { write: { path: '/sys/kernel/mm/ksm/run', value: '1' } },
      { write: { path: '/sys/kernel/mm/ksm/merge_across_nodes', value: '0' } },
    ],
  });
  t.strictSame(result.comments, {
    'host.steps[0]': 'line 1: echo never > /sys/kernel/mm/transparent_hugepage/enabled',
    'host.steps[1]': 'line 2: echo 0 > /sys/module/kvm/parameters/report_ignored_msrs',
    'host.steps[2]': 'line 10: printf %s\\n 1 > /sys/kernel/mm/ksm/run',
    'host.steps[3]': 'line 11: echo -n 0 > /sys/kernel/mm/ksm/merge_across_nodes',
  });
  t.strictSame(warnings(result), [
    '3: echo hello > /etc/motd: not imported: a write to /etc/motd, which is not a kernel setting',
    '4: echo done >> /var/log/vm.log: appending to /var/log/vm.log is not imported',
    '5: xset -dpms: not imported: boot-vm has no host setting for it; add it to host.steps as a run step if it is needed',
    '8: ulimit -u unlimited: not imported: boot-vm only sets the locked-memory limit',
    "9: cat /proc/meminfo > /tmp/mem: not imported: cat's output into /tmp/mem is not a host setting boot-vm has",
    '12: . /etc/vm.conf: not imported: the file it reads is not read here; import its lines too',
  ]);
  t.strictSame(notes(result), ['6: lspci -nnk: changes nothing on the host', "7: ulimit -l 33554432: boot-vm raises QEMU's locked-memory limit itself (host.memlock)"]);
});

t.test('Looking Glass, swtpm and tap devices', async (t) => {
  const result = read('touch /dev/shm/looking-glass', 'chown alice:kvm /dev/shm/looking-glass', 'chmod 0660 /dev/shm/looking-glass', 'modprobe kvmfr static_size_mb=64', 'chown alice /dev/kvmfr0', 'swtpm socket --tpmstate dir=/var/lib/vm/tpm --ctrl type=unixio,path=/var/lib/vm/tpm/sock --tpm2', 'ip tuntap add dev tap0 mode tap user alice', 'ip link set tap0 master br0', 'chmod 777 /tmp/x');
  t.strictSame(result.host, {});
  t.strictSame(result.sharedMemoryAccess, { '/dev/shm/looking-glass': { line: 3, owner: 'alice:kvm', mode: '0660' }, '/dev/kvmfr0': { line: 5, owner: 'alice' } });
  t.strictSame(result.tpm, { stateDir: '/var/lib/vm/tpm', line: 6 });
  const access = 'boot-vm makes the shared memory file itself, with the owner and mode of its region (sharedMemory or lookingGlass owner, mode)';
  t.strictSame(notes(result), [
    `1: touch /dev/shm/looking-glass: ${access}`,
    `2: chown alice:kvm /dev/shm/looking-glass: ${access}`,
    `3: chmod 0660 /dev/shm/looking-glass: ${access}`,
    "4: modprobe kvmfr static_size_mb=64: boot-vm loads kvmfr itself, sized for the profile's /dev/kvmfrN regions",
    `5: chown alice /dev/kvmfr0: ${access}`,
    '6: swtpm socket --tpmstate dir=/var/lib/vm/tpm --ctrl type=unixio,path=/var/lib/vm/tpm/sock --tpm2: boot-vm runs swtpm itself (tpm), its state in /var/lib/vm/tpm',
  ]);
  const tap = "not imported: boot-vm does not make tap devices; a network card with bridge: { name: … } lets QEMU's bridge helper add one to the bridge";
  t.strictSame(warnings(result), [
    `7: ip tuntap add dev tap0 mode tap user alice: ${tap}`,
    `8: ip link set tap0 master br0: ${tap}`,
    '9: chmod 777 /tmp/x: not imported: boot-vm sets owners and modes only on the shared memory files it makes',
  ]);
});

t.test('nothing in, nothing out', async (t) => {
  t.strictSame(importHostSteps([]), { host: {}, memory: {}, comments: {}, warnings: [], notes: [] });
});
