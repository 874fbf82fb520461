// The libvirt export of every argv golden case (the shipped profiles among them) and of
// fixtures/libvirt/export-edges.yaml: the XML is valid against libvirt's domain schema, and
// `virsh domxml-to-native` of it gives the QEMU facts boot-vm's own argv has
// (test/fixtures/qemu-facts.ts). mediapc's and windows11's XML are golden files;
// BOOT_VM_REGENERATE=1 rewrites them (review their diff like code). Without a libvirtd on
// qemu:///system the virsh part is skipped, or fails under REQUIRE_LIBVIRT=1 (set by .ci/run).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { ExportError } from '../../lib/errors.js';
import { libvirtDomain, nameUuid } from '../../lib/export/libvirt.js';
import type { Plan } from '../../lib/plan/plan.js';
import { FIXTURES, REPO, planOn, writeTree } from '../fixtures/helpers.js';
import { qemuFacts, shellWords, type QemuFacts } from '../fixtures/qemu-facts.js';

const run = promisify(execFile);
const CASES = join(FIXTURES, 'argv');
const GOLDEN = join(FIXTURES, 'libvirt');
const regenerate = process.env.BOOT_VM_REGENERATE === '1';
const VIRSH = ['-c', 'qemu:///system'];
/** The schema virt-xml-validate checks a domain against (Debian's libvirt-clients). */
const SCHEMA = '/usr/share/libvirt/schemas/domain.rng';
const SHIPPED = readdirSync(join(REPO, 'profiles'))
  .filter((name) => name.endsWith('.yaml') && name !== 'windows-base.yaml')
  .map((name) => name.replace(/\.yaml$/, ''))
  .sort();

/** `work` on every item, `size` at a time (libvirtd answers a few at once best). */
async function inBatches<T, R>(items: T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(work))));
  return results;
}

interface Exported {
  name: string;
  plan: Plan;
  xml: string;
  warnings: string[];
}

const exported: Exported[] = [
  ...readdirSync(CASES)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name) => join(CASES, name)),
  join(GOLDEN, 'export-edges.yaml'),
].map((file) => {
  const plan = planOn(file, /^# host: (\S+)$/m.exec(readFileSync(file, 'utf8'))?.[1] ?? 'lab');
  const warnings: string[] = [];
  return { name: basename(file, '.yaml'), plan, xml: libvirtDomain(plan, (message) => warnings.push(message)), warnings };
});

/** This machine's hugetlbfs mounts (path → page size), where libvirt puts a guest's huge pages. */
const hugetlbMounts = readFileSync('/proc/mounts', 'utf8')
  .split('\n')
  .map((line) => line.split(' '))
  .filter((fields) => fields[2] === 'hugetlbfs')
  .map((fields) => ({ path: fields[1]!, pageSize: /pagesize=(\w+)/.exec(fields[3] ?? '')?.[1] ?? '2M' }));

/**
 * The XML as this machine's libvirt can turn it into a command line: no KVM here (type qemu, and
 * the maximum CPU for host-passthrough), one NUMA node, no 1G pages, no tap scripts (domxml-to-native
 * runs them), no USB devices to look up. `expected` makes the same changes to boot-vm's facts.
 */
function forThisMachine(xml: string): string {
  return xml
    .replace("<domain type='kvm'", "<domain type='qemu'")
    .replace("<cpu mode='host-passthrough'", "<cpu mode='maximum'")
    .replace(/\n *<(down)?script path='[^']*'\/>/g, '')
    .replace("<page size='1048576'", "<page size='2048'")
    .replace(/(<(memory|memnode) [^>]*nodeset=')[^']*'/g, "$10'")
    .replace(/\n *<hostdev mode='subsystem' type='usb'[\s\S]*?<\/hostdev>/g, '');
}

function expected({ plan }: Exported): QemuFacts {
  const facts = qemuFacts(plan.argv, { hugePageSize: (path) => (path === plan.resolved.memoryPath?.path ? String(plan.resolved.profile.memory.hugepages) : undefined) });
  const { memory, cpu } = facts;
  const { profile } = plan.resolved;
  // With no boot order anywhere, libvirt's default <boot dev='hd'/> puts the first disk first, as the firmware would.
  const noBootOrder = [...profile.disks, ...profile.cdroms, ...profile.network].every((device) => device.bootIndex === undefined);
  const firstDisk = profile.disks.find((disk) => disk.bus !== 'nvme')?.path;
  // libvirt's boot orders start at 1: a profile with bootIndex 0 has every order one higher, in the same order.
  const shift = [...profile.disks, ...profile.cdroms, ...profile.network].some((device) => device.bootIndex === 0) ? 1 : 0;
  return {
    ...facts,
    disks: facts.disks.map((disk) => (noBootOrder && disk.path === firstDisk ? { ...disk, bootindex: 1 } : disk.bootindex === undefined ? disk : { ...disk, bootindex: disk.bootindex + shift })),
    // domxml-to-native makes every NIC a plain tap of its own and drops its boot order.
    nics: facts.nics.map(({ bootindex: _, ...nic }) => nic),
    cpu: { ...cpu, model: cpu.model === 'host' ? 'max' : cpu.model },
    memory: {
      ...memory,
      hugePages: memory.hugePages === '1G' ? '2M' : memory.hugePages,
      // libvirt always preallocates huge pages; the export warns.
      prealloc: memory.prealloc || memory.hugePages !== false,
      numa: memory.numa.map((node) => ({ ...node, hostNodes: [0] })),
    },
  };
}

/** Why the virsh checks cannot run here, or undefined when they can. */
async function libvirtProblem(): Promise<string | undefined> {
  try {
    await run('virsh', [...VIRSH, 'version']);
  } catch (error) {
    return `virsh cannot reach qemu:///system (${(error as Error).message.split('\n')[0]})`;
  }
  if (!existsSync(SCHEMA)) return `${SCHEMA} is missing (install libvirt-clients)`;
  if (!hugetlbMounts.some((mount) => mount.pageSize === '2M')) return 'no 2M hugetlbfs is mounted (libvirt refuses huge pages without one)';
  return undefined;
}

t.test('every shipped profile is exported (through its argv golden case)', async (t) => {
  for (const name of SHIPPED) t.ok(exported.some((entry) => entry.name === name && entry.plan.files.some((file) => file.endsWith(`profiles/${name}.yaml`))), name);
});

t.test('golden XML: mediapc and windows11', async (t) => {
  for (const name of ['mediapc', 'windows11']) {
    const { xml } = exported.find((entry) => entry.name === name)!;
    const file = join(GOLDEN, `${name}.xml`);
    if (regenerate || !existsSync(file)) {
      t.ok(regenerate, `${file} is missing; run with BOOT_VM_REGENERATE=1 to create it`);
      if (regenerate) writeFileSync(file, xml);
      continue;
    }
    t.equal(xml, readFileSync(file, 'utf8'), name);
  }
});

t.test('what the XML carries beyond the command line', async (t) => {
  const get = (name: string) => exported.find((entry) => entry.name === name)!;
  t.match(get('windows11').xml, `<uuid>${nameUuid('windows11')}</uuid>`, 'UUID from the name');
  t.equal(nameUuid('windows11'), nameUuid('windows11'), 'the same name, the same UUID');
  t.not(nameUuid('windows11'), nameUuid('windows10'));
  t.match(get('gaming-9900k').xml, /<vcpupin vcpu='0' cpuset='2'\/>[\s\S]*<vcpupin vcpu='11' cpuset='15'\/>\n *<emulatorpin cpuset='0-1,8-9'\/>/, 'threads mode: one vcpupin per vCPU, emulatorpin');
  t.match(get('gaming-9900k').xml, "<page size='1048576' unit='KiB'/>", '1G pages');
  t.match(get('mediapc').xml, "<vcpu placement='static' cpuset='2-3'>2</vcpu>", 'process mode: one CPU set for every thread');
  t.match(get('pinning-shared-set').xml, "<vcpu placement='static' cpuset='14-17,32-35'>16</vcpu>", 'pinning.cpus: the shared set, smaller than the vCPU count');
  t.match(get('pinning-emulator').xml, /<emulatorpin cpuset='0,32'\/>\n *<vcpusched vcpus='0-7' scheduler='fifo' priority='50'\/>\n *<\/cputune>/, 'threads mode: the vCPUs alone get the policy');
  t.match(get('mediapc').xml, /<vcpusched vcpus='0-1' scheduler='rr' priority='1'\/>\n *<emulatorsched scheduler='rr' priority='1'\/>/, 'process mode: chrt reaches the emulator too');
  t.match(get('network-backends').xml, /<model type='virtio'\/>\n *<driver name='vhost'\/>\n *<boot order='1'\/>/, 'a NIC\'s boot order (domxml-to-native drops NICs\' boot orders)');
  t.match(get('numa-bind').xml, "<memory mode='strict' nodeset='1'/>", 'numatune: strict on the vCPUs\' node');
  t.match(get('numa-mirror').xml, /<memnode cellid='0' mode='strict' nodeset='0'\/>\n *<memnode cellid='1' mode='strict' nodeset='1'\/>/, 'memnode per guest node');
  t.match(get('numa-mirror').xml, "<cell id='1' cpus='4-5' memory='3145728' unit='KiB'/>", 'guest NUMA cells');
  t.match(get('memfd-hugepages').xml, /<source type='memfd'\/>\n *<access mode='shared'\/>/, 'memfd, shared');
  t.match(get('network-backends').xml, /<target dev='vmtap0'\/>\n *<script path='\/etc\/qemu-ifup'\/>\n *<model type='virtio'\/>\n *<driver name='vhost'\/>/, 'tap: ifname, script, vhost');
  t.match(get('many-root-ports').xml, /<controller type='pci' index='9' model='pcie-root-port'>[\s\S]*?slot='0x03' function='0x0' multifunction='on'\/>/, 'root port 9 opens slot 3');
  t.match(get('looking-glass').xml, /<qemu:arg value='memory-backend-file,id=shm-looking-glass,mem-path=\/dev\/kvmfr0,size=64M,share=on'\/>/, 'kvmfr through qemu:commandline');
  t.match(get('passthrough-remap').xml, /<rom bar='off'\/>/, 'rombar off');
  t.match(get('usb-devices').xml, "<qemu:arg value='usb-host,id=usbhost1,bus=usb.0,hostbus=1,hostport=1.2'/>", 'USB by port');
  t.match(get('input-evdev').xml, "<source dev='/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd' grab='all' repeat='on' grabToggle='scrolllock'/>", 'evdev');
  t.match(get('export-edges').xml, /<source file='\/vm\/disk1.img'\/>\n *<target dev='vda' bus='virtio'\/>\n *<boot order='2'\/>/, 'boot orders shift by one when one is 0');
  t.match(get('export-edges').xml, "<qemu:arg value='nvme,drive=drive-disk0,id=disk0,serial=disk0,bus=pcie.0,addr=0x1,bootindex=1'/>", 'NVMe through qemu:commandline, in its slot, shifted too');
  t.match(get('export-edges').xml, /<!-- machine.kernelIrqchip: off; [^\n]*-->\n *<qemu:arg value='-machine'\/>\n *<qemu:arg value='kernel-irqchip=off'\/>/, 'each commandline entry after a comment');
  t.match(get('windows11').xml, /<loader readonly='yes' secure='yes' type='pflash'>\/usr\/share\/OVMF\/OVMF_CODE_4M.ms.fd<\/loader>\n *<nvram template='\/usr\/share\/OVMF\/OVMF_VARS_4M.ms.fd'>\/var\/lib\/boot-vm\/nvram\/windows11_VARS.fd<\/nvram>/, 'OVMF and its store');
});

t.test('warnings: what libvirt cannot carry', async (t) => {
  const warnings = (name: string) => exported.find((entry) => entry.name === name)!.warnings;
  const windows11 = warnings('windows11').join('\n');
  for (const pattern of [
    /^memory\.prealloc: libvirt always preallocates huge pages .*: all 16G is taken when the guest starts/m,
    /^pinning\.scheduler\.nice: libvirt has no nice value: the vCPU threads run at nice 0, not -20/m,
    /^tpm: .* in \/var\/lib\/libvirt\/swtpm\/[0-9a-f-]{36}\/tpm2\/, not in \/var\/lib\/boot-vm\/tpm\/windows11/m,
    /^lookingGlass\.owner: .* \(f \/dev\/shm\/looking-glass 0660 1000 1000 -\)$/m,
    /^host: libvirt does not prepare the host \(reserve-hugepages 2M\); run scripts\/prepare-host\.mjs windows11/m,
    /^host: libvirt has no form for cpu-governor, irq-affinity/m,
    /^hooks: libvirt does not run \.\/windows11\.hooks\.mjs/m,
  ]) {
    t.match(windows11, pattern);
  }
  t.equal(warnings('windows11').length, 7, 'nothing else');
  t.same(warnings('minimal'), [], 'nothing to say for the least profile');
  t.same(warnings('path-escaping'), ['pidfile: libvirt keeps its own pidfile (/run/libvirt/qemu/path-escaping.pid); nothing writes /run/vm,1.pid', "qmp: libvirt keeps QEMU's monitor to itself (virsh qemu-monitor-command reaches it); nothing listens on /run/vm,1=qmp.sock"]);
  t.match(warnings('export-edges'), [/^memory\.path: libvirt puts a file-backed guest's memory in memory_backing_dir/, /^qmp: .* nothing listens on \/dev\/shm\/edge-qmp\.sock$/, /^host\.runAs: libvirt runs QEMU as the user in \/etc\/libvirt\/qemu\.conf \(user = "nobody"\)/]);
  t.match(warnings('qemu-2.12'), [/^qemu\.version: this plan is for QEMU 2\.12/]);
});

t.test('a plan no libvirt domain can mean: ExportError, one line, exit 2', async (t) => {
  for (const binary of ['qemu-kvm', './build/qemu-system-x86_64']) {
    const plan = planOn(join(CASES, 'minimal.yaml'), 'lab', { qemuBinary: binary });
    const error = (() => {
      try {
        libvirtDomain(plan);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    t.type(error, ExportError, binary);
    t.equal((error as ExportError).exitCode, 2);
    t.match((error as ExportError).lines(), [/^test\/fixtures\/argv\/minimal\.yaml: qemu\.binary: libvirt's <emulator> needs an absolute path, not /]);
  }
  const plan = planOn(join(CASES, 'minimal.yaml'), 'lab', { qemuBinary: '/opt/qemu/bin/qemu-system-x86_64' });
  t.match(libvirtDomain(plan), '<emulator>/opt/qemu/bin/qemu-system-x86_64</emulator>', 'an absolute binary is the emulator');
});

t.test('virt-xml-validate and domxml-to-native against boot-vm\'s argv', async (t) => {
  const problem = await libvirtProblem();
  if (problem) {
    if (process.env.REQUIRE_LIBVIRT === '1') t.fail(`REQUIRE_LIBVIRT=1 but ${problem}`);
    else t.plan(0, problem);
    return;
  }
  const dir = writeTree({});
  const files = exported.map((entry) => {
    const file = join(dir, `${entry.name}.xml`);
    writeFileSync(file, entry.xml);
    writeFileSync(join(dir, `${entry.name}.native.xml`), forThisMachine(entry.xml));
    return file;
  });
  // virt-xml-validate is xmllint against libvirt's schema, ~60 ms a call mostly reading the schema: every
  // file in one xmllint run, and the tool itself on the shipped profiles.
  const [batch, tool, argvs] = await Promise.all([
    run('xmllint', ['--noout', '--relaxng', SCHEMA, ...files]).then(
      ({ stderr }) => stderr,
      (error: { stderr?: string; message: string }) => error.stderr || error.message,
    ),
    Promise.all(SHIPPED.map((name) => run('virt-xml-validate', [join(dir, `${name}.xml`), 'domain']).then(() => undefined, (error: Error) => error.message))),
    inBatches(exported, 4, async (entry) => shellWords((await run('virsh', [...VIRSH, 'domxml-to-native', 'qemu-argv', join(dir, `${entry.name}.native.xml`)])).stdout.trim())),
  ]);
  t.same(tool, SHIPPED.map(() => undefined), `virt-xml-validate FILE domain passes for ${SHIPPED.join(', ')}`);
  const results = exported.map((entry, i) => ({ entry, validate: batch.split('\n').includes(`${files[i]} validates`) ? undefined : batch, argv: argvs[i]! }));
  for (const { entry, validate, argv } of results) {
    t.test(entry.name, async (t) => {
      t.equal(validate, undefined, 'valid against libvirt\'s domain schema');
      const actual = qemuFacts(argv, { hugePageSize: (path) => hugetlbMounts.find((mount) => path.startsWith(`${mount.path}/`))?.pageSize });
      t.same(actual, expected(entry), 'the same QEMU facts');
    });
  }
});
