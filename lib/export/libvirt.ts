/**
 * Plan → libvirt domain XML meaning the same VM (libvirt 9, formatdomain.html). The XML is made
 * from what the plan resolved (`plan.resolved`: the profile with auto pinning filled in, the
 * firmware, the NUMA binding) and from the argv itself where boot-vm added to the profile
 * (Hyper-V flags another flag needs, the topology). What libvirt has no element for goes in
 * `<qemu:override>` (a property of one device) or `<qemu:commandline>`, each after a comment
 * saying why; what cannot be said at all is passed to `warn`. Pure: reads and writes nothing.
 */
import { createHash } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { formatCpuList } from '../cpu-list.js';
import { ExportError } from '../errors.js';
import { formatPciAddress } from '../pci-address.js';
import type { Plan } from '../plan/plan.js';
import { OWNED_MODE } from '../plan/steps/shared-memory.js';
import type { Disk, Profile } from '../profile/schema.js';
import type { Diagnostics, ResolvedFirmware } from '../qemu/arg.js';
import { placeCards, rootPortId, type Card } from '../qemu/pcie.js';
import { priorityOf } from '../qemu/pinning.js';
import { formatProps } from '../qemu/props.js';
import { sharedRegions, type SharedRegion } from '../qemu/shared-memory.js';
import { tpmPaths } from '../qemu/tpm.js';
import { atLeast, parseQemuVersion } from '../qemu/version.js';
import { formatSize } from '../size.js';
import { guestSlots, type GuestSlot, type GuestSlots } from './guest-slots.js';
import { comment, el, renderXml, textEl, type XmlElement, type XmlNode } from './xml.js';

const QEMU_NS = 'http://libvirt.org/schemas/domain/qemu/1.0';
/** The binary boot-vm finds on PATH by default; libvirt then picks its own QEMU for x86_64. */
const DEFAULT_BINARY = 'qemu-system-x86_64';
/** libvirt (since 8.0) drives QEMU 4.2 or newer only. */
const LIBVIRT_OLDEST_QEMU = { major: 4, minor: 2 };

/** One group of `<qemu:commandline>` words and why they are there. */
interface ExtraArgs {
  why: string;
  words: string[];
}

/** `<qemu:override>` of one device's properties. */
interface Override {
  alias: string;
  why: string;
  props: { name: string; type: 'bool' | 'unsigned' | 'string'; value: string }[];
}

interface Context {
  plan: Plan;
  profile: Profile;
  uuid: string;
  cards: Card[];
  slots: GuestSlots;
  /** The `-cpu` properties boot-vm wrote, Hyper-V flags another one needs included. */
  cpuProps: Map<string, string>;
  commandline: ExtraArgs[];
  overrides: Override[];
  warn: (message: string) => void;
}

/** The libvirt domain for `plan`; `warn` hears what the domain cannot carry. Throws ExportError when no domain can mean this VM. */
export function libvirtDomain(plan: Plan, warn: (message: string) => void = () => {}): string {
  const profile = plan.resolved.profile;
  const emulator = emulatorPath(plan, profile);
  const version = parseQemuVersion(plan.qemuVersion)!;
  // The plan has reported every problem already; the builders are asked again for their layout only.
  const quiet: Diagnostics = { error() {}, warn() {} };
  const cards = placeCards({ name: plan.profile, profile, version, diagnostics: quiet });
  const context: Context = {
    plan,
    profile,
    uuid: nameUuid(plan.profile),
    cards,
    slots: guestSlots(profile, cards),
    cpuProps: cpuProps(plan),
    commandline: [],
    overrides: [],
    warn,
  };
  if (!atLeast(version, LIBVIRT_OLDEST_QEMU.major, LIBVIRT_OLDEST_QEMU.minor)) {
    warn(`qemu.version: this plan is for QEMU ${plan.qemuVersion}, and libvirt (8.0 and later) runs QEMU 4.2 or newer only`);
  }
  const domain = el(
    'domain',
    { type: profile.machine.accel === 'kvm' ? 'kvm' : 'qemu', 'xmlns:qemu': QEMU_NS },
    textEl('name', plan.profile),
    textEl('uuid', context.uuid),
    profile.description !== undefined && textEl('description', profile.description),
    memoryElements(context),
    cpuElements(context),
    osElement(plan.resolved.firmware, profile),
    featuresElement(context),
    cpuElement(context),
    clockElement(context),
    textEl('on_poweroff', 'destroy'),
    textEl('on_reboot', 'restart'),
    textEl('on_crash', 'destroy'),
    powerElement(profile),
    devicesElement(context, emulator),
  );
  noteUnexpressed(context);
  domain.children.push(...qemuElements(context));
  return renderXml(domain);
}

/** A UUID v5 of the VM's name: the same name gives the same domain UUID on every host, every time. */
export function nameUuid(name: string): string {
  // boot-vm's own namespace for domain names.
  const namespace = Buffer.from('6f1d3c52a9e84b0f8a3e2d5c7b914e60', 'hex');
  const hash = createHash('sha1').update(namespace).update(name).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function emulatorPath(plan: Plan, profile: Profile): string | undefined {
  const binary = profile.qemu.binary;
  if (isAbsolute(binary)) return binary;
  // The default: libvirt uses the QEMU its capabilities found for x86_64, as PATH gives boot-vm one.
  if (binary === DEFAULT_BINARY) return undefined;
  throw new ExportError({
    file: plan.file,
    key: 'qemu.binary',
    message: `libvirt's <emulator> needs an absolute path, not ${binary}; set qemu.binary to its full path (command -v ${binary.split('/').pop()})`,
  });
}

/** `-cpu host,kvm=off,hv-relaxed=on` → {kvm: off, hv-relaxed: on}, from the argv boot-vm wrote. */
function cpuProps(plan: Plan): Map<string, string> {
  const cpu = plan.args.find((arg) => arg.words[0] === '-cpu')?.words[1] ?? '';
  return new Map(
    cpu
      .split(',')
      .slice(1)
      .map((prop) => {
        const [key = prop, value = 'on'] = prop.split('=');
        return [key, value] as const;
      }),
  );
}

const kib = (bytes: number) => Math.round(bytes / 1024);
const hexByte = (value: number) => `0x${value.toString(16).padStart(2, '0')}`;
const hex4 = (value: number) => `0x${value.toString(16).padStart(4, '0')}`;

/** A guest address on pcie.0 (bus 0) or on root port `bus`. */
const pciAddress = (bus: number, at: GuestSlot) =>
  el('address', { type: 'pci', domain: '0x0000', bus: hexByte(bus), slot: hexByte(at.slot), function: `0x${at.function.toString(16)}`, multifunction: at.multifunction ? 'on' : undefined });

function memoryElements(context: Context): XmlNode[] {
  const { profile, plan } = context;
  const { memory } = profile;
  const numa = plan.resolved.numa;
  const nodes: XmlNode[] = [
    textEl('memory', kib(memory.size), { unit: 'KiB', dumpCore: profile.machine.dumpGuestCore ? 'on' : 'off' }),
    textEl('currentMemory', kib(memory.size), { unit: 'KiB' }),
  ];
  const backing: XmlNode[] = [];
  if (memory.hugepages !== false) {
    const pageKib = memory.hugepages === '1G' ? 1024 * 1024 : 2048;
    // With guest NUMA cells, the pages back every cell.
    const nodeset = numa?.mirror ? formatCpuList(numa.nodes.map((_, i) => i)) : undefined;
    backing.push(el('hugepages', {}, el('page', { size: pageKib, unit: 'KiB', nodeset })));
    if (memory.path !== undefined && memory.backend !== 'memfd') {
      context.warn(`memory.path: libvirt takes huge pages from its own directory on the hugetlbfs mount of that page size (hugetlbfs_mount in /etc/libvirt/qemu.conf), not from ${memory.path}`);
    }
  }
  if (memory.lock) backing.push(el('locked'));
  if (memory.backend === 'memfd') backing.push(el('source', { type: 'memfd' }));
  else if (memory.backend === 'file' || (memory.path !== undefined && memory.hugepages === false)) {
    backing.push(el('source', { type: 'file' }));
    if (memory.path !== undefined && memory.hugepages === false) context.warn(`memory.path: libvirt puts a file-backed guest's memory in memory_backing_dir (/etc/libvirt/qemu.conf, /var/lib/libvirt/qemu/ram by default), not in ${memory.path}`);
  }
  if (memory.share) backing.push(el('access', { mode: 'shared' }));
  if (memory.prealloc) backing.push(el('allocation', { mode: 'immediate' }));
  else if (memory.hugepages !== false) context.warn(`memory.prealloc: libvirt always preallocates huge pages (it refuses allocation ondemand with them): all ${formatSize(memory.size)} is taken when the guest starts, not as the guest first touches it`);
  if (backing.length > 0) nodes.push(el('memoryBacking', {}, backing));
  return nodes;
}

/** `<vcpu>`, `<iothreads>`, `<cputune>` and `<numatune>`. */
function cpuElements(context: Context): XmlNode[] {
  const { profile, plan } = context;
  const vcpus = Number(smpProps(plan).get('') ?? 1);
  const pinning = profile.pinning;
  const tune: XmlNode[] = [];
  let cpuset: string | undefined;
  if (pinning) {
    const scheduler = pinning.scheduler;
    const sched = scheduler && scheduler.policy !== 'other' ? { scheduler: scheduler.policy, priority: scheduler.policy === 'rr' || scheduler.policy === 'fifo' ? priorityOf(scheduler) : undefined } : undefined;
    const allVcpus = `0-${vcpus - 1}`;
    if (pinning.mode === 'process') {
      // taskset: one CPU set for every QEMU thread, libvirt's default set for the domain; chrt: every thread's policy.
      cpuset = formatCpuList([...pinning.vcpus, ...(pinning.emulator ?? [])]);
      if (sched) {
        tune.push(comment('pinning.mode: process: chrt gives every QEMU thread the policy'));
        tune.push(el('vcpusched', { vcpus: allVcpus, ...sched }));
        if (profile.iothreads > 0) tune.push(el('iothreadsched', { iothreads: `1-${profile.iothreads}`, ...sched }));
        tune.push(el('emulatorsched', sched));
      }
    } else {
      pinning.vcpus.forEach((cpu, vcpu) => tune.push(el('vcpupin', { vcpu, cpuset: cpu })));
      const emulator = pinnedCpus(plan, 'emulator');
      if (emulator) tune.push(el('emulatorpin', { cpuset: formatCpuList(emulator) }));
      const iothreads = pinnedCpus(plan, 'iothreads');
      // libvirt numbers IO threads from 1: boot-vm's iothread0 is libvirt's 1.
      if (iothreads) for (let i = 1; i <= profile.iothreads; i++) tune.push(el('iothreadpin', { iothread: i, cpuset: formatCpuList(iothreads) }));
      if (sched) tune.push(el('vcpusched', { vcpus: allVcpus, ...sched }));
    }
    if (scheduler?.nice !== undefined && scheduler.nice !== 0) {
      const threads = pinning.mode === 'process' ? "QEMU's threads" : 'the vCPU threads';
      context.warn(`pinning.scheduler.nice: libvirt has no nice value: ${threads} run at nice 0, not ${scheduler.nice}; renice them after virsh start (from /etc/libvirt/hooks/qemu, say) to keep boot-vm's latency`);
    }
  }
  const nodes: XmlNode[] = [textEl('vcpu', vcpus, { placement: 'static', cpuset })];
  if (profile.iothreads > 0) nodes.push(textEl('iothreads', profile.iothreads));
  if (tune.length > 0) nodes.push(el('cputune', {}, tune));
  const numa = plan.resolved.numa;
  if (numa) {
    const hostNodes = formatCpuList(numa.nodes.map((node) => node.hostNode));
    nodes.push(
      el(
        'numatune',
        {},
        el('memory', { mode: 'strict', nodeset: hostNodes }),
        numa.mirror && numa.nodes.map((node, cellid) => el('memnode', { cellid, mode: 'strict', nodeset: node.hostNode })),
      ),
    );
  }
  return nodes;
}

/** The CPUs the plan pins one kind of QEMU thread to (threads mode), as its step says. */
function pinnedCpus(plan: Plan, threads: 'emulator' | 'iothreads'): number[] | undefined {
  for (const step of plan.steps) {
    for (const action of step.actions) {
      if (action.do.kind === 'pin-threads' && action.do.threads === threads) return action.do.cpus;
    }
  }
  return undefined;
}

/** `-smp 8,sockets=1,cores=4,threads=2` → {'' : 8, sockets: 1, …}. */
function smpProps(plan: Plan): Map<string, string> {
  const smp = plan.args.find((arg) => arg.words[0] === '-smp')?.words[1] ?? '1';
  return new Map(smp.split(',').map((part) => (part.includes('=') ? (part.split('=') as [string, string]) : ['', part])));
}

function osElement(firmware: ResolvedFirmware | undefined, profile: Profile): XmlElement {
  return el(
    'os',
    {},
    // `q35` stays the alias: libvirt resolves it to the binary's newest pc-q35, as QEMU does for boot-vm.
    textEl('type', 'hvm', { arch: 'x86_64', machine: profile.machine.type }),
    firmware && [
      textEl('loader', firmware.code, { readonly: 'yes', secure: firmware.secureBoot && firmware.smm ? 'yes' : 'no', type: 'pflash' }),
      textEl('nvram', firmware.vars, { template: firmware.varsTemplate || undefined }),
    ],
    !firmware && comment('SeaBIOS: no loader, as boot-vm gives QEMU no firmware option'),
  );
}

/** QEMU's Hyper-V flag → libvirt's `<hyperv>` element (libvirt 9.0's list). */
const HYPERV_ELEMENTS: Record<string, string> = {
  'hv-relaxed': 'relaxed',
  'hv-vapic': 'vapic',
  'hv-spinlocks': 'spinlocks',
  'hv-vpindex': 'vpindex',
  'hv-runtime': 'runtime',
  'hv-synic': 'synic',
  'hv-stimer': 'stimer',
  'hv-reset': 'reset',
  'hv-vendor-id': 'vendor_id',
  'hv-frequencies': 'frequencies',
  'hv-reenlightenment': 'reenlightenment',
  'hv-tlbflush': 'tlbflush',
  'hv-ipi': 'ipi',
  'hv-evmcs': 'evmcs',
  'hv-avic': 'avic',
};
/** Flags libvirt writes from other elements: hv-time from `<timer name='hypervclock'>`, hv-crash from `<panic model='hyperv'>`, hv-stimer-direct inside `<stimer>`. */
const HYPERV_ELSEWHERE = new Set(['hv-time', 'hv-crash', 'hv-stimer-direct']);

function featuresElement(context: Context): XmlElement {
  const { profile, cpuProps: props } = context;
  const hyperv: XmlNode[] = [];
  const missing: string[] = [];
  for (const [name, value] of props) {
    if (!name.startsWith('hv-') || HYPERV_ELSEWHERE.has(name)) continue;
    const element = HYPERV_ELEMENTS[name];
    if (element === undefined) {
      missing.push(`${name}=${value}`);
      continue;
    }
    if (name === 'hv-spinlocks') hyperv.push(el(element, { state: 'on', retries: Number(value) }));
    else if (name === 'hv-vendor-id') hyperv.push(el(element, { state: 'on', value }));
    else if (name === 'hv-stimer') hyperv.push(el(element, { state: 'on' }, props.has('hv-stimer-direct') && el('direct', { state: 'on' })));
    else hyperv.push(el(element, { state: 'on' }));
  }
  if (missing.length > 0) {
    // A -global on the x86 CPU base type reaches whichever model libvirt's <cpu> gives QEMU.
    context.commandline.push({
      why: `Hyper-V flags libvirt 9 has no element for (${missing.join(', ')}), set on the CPU as boot-vm's -cpu does`,
      words: missing.flatMap((flag) => ['-global', `x86_64-cpu.${flag}`]),
    });
  }
  const irqchip = profile.machine.kernelIrqchip;
  if (irqchip === 'off') context.commandline.push({ why: 'machine.kernelIrqchip: off; libvirt sets kernel_irqchip only through <ioapic> (on or split); QEMU merges a second -machine', words: ['-machine', 'kernel-irqchip=off'] });
  return el(
    'features',
    {},
    el('acpi'),
    el('apic'),
    hyperv.length > 0 && el('hyperv', { mode: 'custom' }, hyperv),
    profile.cpu.hidden && el('kvm', {}, el('hidden', { state: 'on' })),
    el('vmport', { state: profile.machine.vmport ? 'on' : 'off' }),
    context.plan.resolved.firmware?.smm && el('smm', { state: 'on' }),
    irqchip === 'on' && el('ioapic', { driver: 'kvm' }),
    irqchip === 'split' && el('ioapic', { driver: 'qemu' }),
  );
}

function cpuElement(context: Context): XmlElement {
  const { profile, plan } = context;
  const smp = smpProps(plan);
  const model = profile.cpu.model;
  const mode = model === 'host' ? 'host-passthrough' : model === 'max' ? 'maximum' : 'custom';
  const features: XmlNode[] = [];
  const properties: string[] = [];
  for (const flag of profile.cpu.flags) {
    if (flag.includes('=')) properties.push(flag);
    else features.push(el('feature', { policy: flag.startsWith('-') ? 'disable' : 'require', name: flag.replace(/^[+-]/, '') }));
  }
  if (properties.length > 0) {
    context.commandline.push({ why: `cpu.flags ${properties.join(', ')}: QEMU CPU properties, not CPUID features libvirt's <feature> knows`, words: properties.flatMap((flag) => ['-global', `x86_64-cpu.${flag}`]) });
  }
  const numa = plan.resolved.numa;
  return el(
    'cpu',
    { mode, match: mode === 'custom' ? 'exact' : undefined, check: 'none' },
    mode === 'custom' && textEl('model', model, { fallback: 'forbid' }),
    el('topology', { sockets: smp.get('sockets') ?? 1, dies: 1, cores: smp.get('cores') ?? 1, threads: smp.get('threads') ?? 1 }),
    features,
    numa?.mirror && el('numa', {}, numa.nodes.map((node, id) => el('cell', { id, cpus: formatCpuList(node.vcpus), memory: kib(node.size), unit: 'KiB' }))),
  );
}

const RTC_TRACK = { host: 'wall', rt: 'realtime', vm: 'guest' } as const;

function clockElement({ profile, cpuProps: props }: Context): XmlElement {
  const { clock } = profile;
  const rtc = { tickpolicy: clock.driftfix === 'slew' ? 'catchup' : undefined, track: clock.rtcClock && RTC_TRACK[clock.rtcClock] };
  return el(
    'clock',
    // QEMU's RTC starts in UTC unless told otherwise.
    { offset: clock.base ?? 'utc' },
    (rtc.tickpolicy !== undefined || rtc.track !== undefined) && el('timer', { name: 'rtc', ...rtc }),
    clock.pitLostTickPolicy !== undefined && el('timer', { name: 'pit', tickpolicy: clock.pitLostTickPolicy }),
    clock.hpet !== undefined && el('timer', { name: 'hpet', present: clock.hpet ? 'yes' : 'no' }),
    props.has('hv-time') && el('timer', { name: 'hypervclock', present: 'yes' }),
  );
}

function powerElement({ power }: Profile): XmlElement | undefined {
  if (power.s3 === undefined && power.s4 === undefined) return undefined;
  const state = (enabled: boolean | undefined) => (enabled === undefined ? undefined : enabled ? 'yes' : 'no');
  return el('pm', {}, power.s3 !== undefined && el('suspend-to-mem', { enabled: state(power.s3) }), power.s4 !== undefined && el('suspend-to-disk', { enabled: state(power.s4) }));
}

function devicesElement(context: Context, emulator: string | undefined): XmlElement {
  const { profile } = context;
  return el(
    'devices',
    {},
    emulator ? textEl('emulator', emulator) : comment(`qemu.binary is ${DEFAULT_BINARY} from PATH: libvirt uses the QEMU it found for x86_64`),
    diskElements(context),
    controllerElements(context),
    interfaceElements(context),
    inputElements(profile),
    displayElements(context),
    hostdevElements(context),
    el('memballoon', { model: 'none' }),
    tpmElement(context),
    sharedMemoryElements(context),
    context.cpuProps.has('hv-crash') && el('panic', { model: 'hyperv' }),
  );
}

/** `vda`, …, `vdz`, `vdaa`: libvirt's disk names. */
function diskName(prefix: string, index: number): string {
  let name = '';
  for (let i = index + 1; i > 0; i = Math.floor((i - 1) / 26)) name = String.fromCharCode(97 + ((i - 1) % 26)) + name;
  return prefix + name;
}

/** libvirt boot orders start at 1; boot-vm's at 0. Shifted by one when a device asks for 0, so the order stays the same. */
function bootShift(profile: Profile): number {
  const indexes = [...profile.disks, ...profile.cdroms, ...profile.network].map((device) => device.bootIndex);
  return indexes.includes(0) ? 1 : 0;
}

function diskElements(context: Context): XmlNode[] {
  const { profile } = context;
  const shift = bootShift(profile);
  const boot = (index: number | undefined) => index !== undefined && el('boot', { order: index + shift });
  const nodes: XmlNode[] = [];
  let virtio = 0;
  let sd = 0;
  let ahciPort = 0;
  let scsiTarget = 0;
  profile.disks.forEach((disk, i) => {
    if (disk.bus === 'nvme') {
      nvmeDisk(context, disk, i, shift);
      return;
    }
    const target = disk.bus === 'virtio' ? { dev: diskName('vd', virtio++), bus: 'virtio' } : { dev: diskName('sd', sd++), bus: disk.bus };
    // SATA ports and SCSI ids in boot-vm's order: QEMU numbers them as the -device options come.
    const address = disk.bus === 'virtio' ? pciAddress(0, context.slots.disks.get(i)!) : disk.bus === 'sata' ? driveAddress(ahciPort++) : driveAddress(0, scsiTarget++);
    nodes.push(
      el(
        'disk',
        { type: isBlockDevice(disk.path) ? 'block' : 'file', device: 'disk' },
        el('driver', { name: 'qemu', type: disk.format, cache: disk.cache, io: disk.aio, discard: disk.discard === undefined ? undefined : disk.discard ? 'unmap' : 'ignore', iothread: disk.iothread === undefined ? undefined : disk.iothread + 1 }),
        el('source', isBlockDevice(disk.path) ? { dev: disk.path } : { file: disk.path }),
        el('target', target),
        disk.readonly && el('readonly'),
        disk.serial !== undefined && textEl('serial', disk.serial),
        boot(disk.bootIndex),
        address,
      ),
    );
  });
  profile.cdroms.forEach((cdrom) => {
    nodes.push(
      el(
        'disk',
        { type: 'file', device: 'cdrom' },
        el('driver', { name: 'qemu', type: 'raw' }),
        el('source', { file: cdrom.path }),
        el('target', { dev: diskName('sd', sd++), bus: 'sata' }),
        el('readonly'),
        boot(cdrom.bootIndex),
        driveAddress(ahciPort++),
      ),
    );
  });
  return nodes;
}

/** SATA: port `unit` of the chipset's AHCI; SCSI: target `target`, LUN 0, as QEMU's first free id. */
const driveAddress = (unit: number, target?: number) => el('address', { type: 'drive', controller: 0, bus: 0, target: target ?? 0, unit: target === undefined ? unit : 0 });

// /dev/shm holds plain files (tmpfs), the rest of /dev device nodes.
const isBlockDevice = (path: string) => path.startsWith('/dev/') && !path.startsWith('/dev/shm/');

/** libvirt 9 has no NVMe disk: boot-vm's own -drive and -device, at the slot QEMU gave it. */
function nvmeDisk(context: Context, disk: Disk, index: number, shift: number): void {
  const drive = context.plan.args.find((arg) => arg.words[0] === '-drive' && arg.from.includes(`disks[${index}].path`));
  const slot = context.slots.disks.get(index)!;
  const device = formatProps('nvme', [
    ['drive', `drive-disk${index}`],
    ['id', `disk${index}`],
    ['serial', disk.serial ?? `disk${index}`],
    ['bus', 'pcie.0'],
    ['addr', `0x${slot.slot.toString(16)}`],
    ['bootindex', disk.bootIndex === undefined ? undefined : disk.bootIndex + shift],
  ]);
  context.commandline.push({ why: `disks[${index}]: an NVMe disk, which libvirt 9 has no <disk> bus for`, words: [...(drive?.words ?? []), '-device', device] });
}

function controllerElements(context: Context): XmlNode[] {
  const { profile, cards, slots } = context;
  const nodes: XmlNode[] = [];
  const usbPort = cards.length + 1;
  if (profile.usb.length === 0) nodes.push(el('controller', { type: 'usb', index: 0, model: 'none' }));
  else {
    const ports = profile.usb.length > 4 ? Math.min(profile.usb.length, 15) : undefined;
    nodes.push(el('controller', { type: 'usb', index: 0, model: 'qemu-xhci', ports }, pciAddress(usbPort, { slot: 0, function: 0 })));
  }
  nodes.push(el('controller', { type: 'pci', index: 0, model: 'pcie-root' }));
  for (const [port, at] of [...slots.rootPorts].sort(([a], [b]) => a - b)) {
    nodes.push(
      el(
        'controller',
        { type: 'pci', index: port, model: 'pcie-root-port' },
        el('model', { name: 'pcie-root-port' }),
        el('target', { chassis: port, port: hexByte(0x10 + port - 1) }),
        el('alias', { name: `ua-${rootPortId(port)}` }),
        pciAddress(0, at),
      ),
    );
  }
  if (slots.scsi) nodes.push(el('controller', { type: 'scsi', index: 0, model: 'virtio-scsi' }, pciAddress(0, slots.scsi)));
  return nodes;
}

/** QEMU's own tap scripts, which -netdev tap runs unless told `no`. */
const QEMU_IFUP = '/etc/qemu-ifup';
const QEMU_IFDOWN = '/etc/qemu-ifdown';

function interfaceElements(context: Context): XmlNode[] {
  const { profile, slots } = context;
  const shift = bootShift(profile);
  return profile.network.map((nic, i) => {
    const mac = macOf(context, i);
    const model = el('model', { type: nic.model });
    // As boot-vm's -netdev: vhost-net only when tap.vhost asks for it.
    const driver = nic.model === 'virtio' && nic.user === undefined && el('driver', { name: nic.tap?.vhost ? 'vhost' : 'qemu' });
    const front = [model, driver, nic.bootIndex !== undefined && el('boot', { order: nic.bootIndex + shift }), pciAddress(0, slots.nics[i]!)];
    const macElement = el('mac', { address: mac });
    if (nic.tap) {
      const script = scriptPath(nic.tap.script, QEMU_IFUP);
      const downscript = scriptPath(nic.tap.downscript, QEMU_IFDOWN);
      return el(
        'interface',
        { type: 'ethernet' },
        macElement,
        nic.tap.ifname !== undefined && el('target', { dev: nic.tap.ifname }),
        script !== undefined && el('script', { path: script }),
        downscript !== undefined && el('downscript', { path: downscript }),
        front,
      );
    }
    if (nic.bridge) return el('interface', { type: 'bridge' }, macElement, el('source', { bridge: nic.bridge.name }), front);
    return el('interface', { type: 'user' }, macElement, front);
  });
}

const scriptPath = (script: string | false | undefined, fallback: string) => (script === false ? undefined : (script ?? fallback));

/** The MAC boot-vm gave card `index` (derived from the name when the profile has none). */
function macOf(context: Context, index: number): string {
  const device = context.plan.args.find((arg) => arg.words[0] === '-device' && arg.words[1]?.includes(`,id=nic${index},`));
  return /,mac=([0-9a-f:]+)/.exec(device?.words[1] ?? '')?.[1] ?? context.profile.network[index]!.mac!.toLowerCase();
}

function inputElements(profile: Profile): XmlNode[] {
  const onOff = (value: boolean | undefined) => (value === undefined ? undefined : value ? 'on' : 'off');
  return profile.input.map((device) => el('input', { type: 'evdev' }, el('source', { dev: device.evdev, grab: device.grabAll ? 'all' : undefined, repeat: onOff(device.repeat), grabToggle: device.toggle })));
}

const VIDEO_MODELS = { std: 'vga', virtio: 'virtio', qxl: 'qxl' } as const;

function displayElements(context: Context): XmlNode[] {
  const { profile, slots } = context;
  const nodes: XmlNode[] = [];
  const display = profile.display;
  if (typeof display === 'object') {
    const match = /^(.*):(\d+)$/.exec(display.vnc)!;
    const host = match[1]!.replace(/^\[(.*)\]$/, '$1');
    nodes.push(el('graphics', { type: 'vnc', port: 5900 + Number(match[2]), autoport: 'no', listen: host === '' ? '0.0.0.0' : host }));
  } else if (display === 'sdl') nodes.push(el('graphics', { type: 'sdl' }));
  else if (display === 'gtk') context.commandline.push({ why: 'display: gtk; libvirt has no GTK window (<graphics> is vnc, spice, sdl, …)', words: ['-display', 'gtk'] });
  nodes.push(el('video', {}, el('model', { type: profile.vga === 'none' ? 'none' : VIDEO_MODELS[profile.vga] }), slots.vga && pciAddress(0, slots.vga)));
  return nodes;
}

function hostdevElements(context: Context): XmlNode[] {
  const { cards, profile } = context;
  const nodes: XmlNode[] = [];
  for (const card of cards) {
    for (const placed of card.devices) {
      const { device, host, index } = placed;
      const alias = `ua-hostdev${index}`;
      const props: Override['props'] = [];
      // libvirt has no element for these; -set cannot reach a -device libvirt 9 writes as JSON.
      if (device.vga) props.push({ name: 'x-vga', type: 'bool', value: 'true' });
      if (device.subsystemVendor !== undefined) props.push({ name: 'x-pci-sub-vendor-id', type: 'unsigned', value: String(device.subsystemVendor) });
      if (device.subsystemDevice !== undefined) props.push({ name: 'x-pci-sub-device-id', type: 'unsigned', value: String(device.subsystemDevice) });
      if (props.length > 0) context.overrides.push({ alias, why: `passthrough[${index}] (${formatPciAddress(host)}): ${props.map((prop) => prop.name).join(', ')}, which libvirt has no element for`, props });
      nodes.push(
        el(
          'hostdev',
          { mode: 'subsystem', type: 'pci', managed: 'yes' },
          el('driver', { name: 'vfio' }),
          el('source', {}, el('address', { domain: hex4(host.domain), bus: hexByte(host.bus), slot: hexByte(host.slot), function: `0x${host.function.toString(16)}` })),
          (device.romfile !== undefined || device.rombar !== undefined) && el('rom', { bar: device.rombar === undefined ? undefined : device.rombar ? 'on' : 'off', file: device.romfile }),
          el('alias', { name: alias }),
          pciAddress(card.port, { slot: 0, function: placed.guestFunction, multifunction: placed.guestFunction === 0 && card.devices.length > 1 }),
        ),
      );
    }
  }
  profile.usb.forEach((device, i) => {
    if ('vendor' in device) {
      // startupPolicy optional: a receiver that is unplugged does not stop the guest, as with boot-vm's usb-host.
      nodes.push(el('hostdev', { mode: 'subsystem', type: 'usb', managed: 'yes' }, el('source', { startupPolicy: 'optional' }, el('vendor', { id: hex4(device.vendor) }), el('product', { id: hex4(device.product) }))));
    } else {
      context.commandline.push({
        why: `usb[${i}]: a USB device by the port it is plugged into (${device.bus}-${device.port}); libvirt names USB devices by vendor and product or by bus and device number, which changes at each plug`,
        words: ['-device', formatProps('usb-host', [['id', `usbhost${i}`], ['bus', 'usb.0'], ['hostbus', device.bus], ['hostport', device.port]])],
      });
    }
  });
  return nodes;
}

function tpmElement(context: Context): XmlElement | undefined {
  const { profile, plan, uuid } = context;
  if (profile.tpm === false) return undefined;
  const { stateDir } = tpmPaths(plan.profile, profile.tpm);
  context.warn(`tpm: libvirt runs its own swtpm and keeps the TPM's state in /var/lib/libvirt/swtpm/${uuid}/tpm2/, not in ${stateDir}: copy tpm2-00.permall there before the first start, or the guest finds a new TPM (BitLocker then asks for its recovery key)`);
  return el('tpm', { model: profile.tpm.model ?? 'tpm-crb' }, el('backend', { type: 'emulator', version: '2.0' }));
}

function sharedMemoryElements(context: Context): XmlNode[] {
  const nodes: XmlNode[] = [];
  sharedRegions(context.profile).forEach((region, i) => {
    const slot = context.slots.sharedMemory[i]!;
    warnOwner(context, region);
    if (region.kvmfr === undefined && region.path === `/dev/shm/${region.name}`) {
      const size = region.size % (1 << 20) === 0 ? { unit: 'M', value: region.size / (1 << 20) } : { unit: 'K', value: region.size / 1024 };
      nodes.push(el('shmem', { name: region.name }, el('model', { type: 'ivshmem-plain' }), textEl('size', size.value, { unit: size.unit }), pciAddress(0, slot)));
      return;
    }
    const why = region.kvmfr !== undefined ? `${region.key}: ${region.path}, a device of the kvmfr module; libvirt's <shmem> maps only /dev/shm/<name> (add ${region.path} to cgroup_device_acl in /etc/libvirt/qemu.conf)` : `${region.key}: ${region.path}; libvirt's <shmem> maps only /dev/shm/<name>`;
    context.commandline.push({
      why,
      words: [
        '-object',
        formatProps('memory-backend-file', [['id', `shm-${region.name}`], ['mem-path', region.path], ['size', formatSize(region.size)], ['share', 'on']]),
        '-device',
        formatProps('ivshmem-plain', [['id', `ivshmem-${region.name}`], ['memdev', `shm-${region.name}`], ['bus', 'pcie.0'], ['addr', `0x${slot.slot.toString(16)}`]]),
      ],
    });
  });
  return nodes;
}

function warnOwner(context: Context, region: SharedRegion): void {
  if (region.owner === undefined) return;
  const mode = (region.mode ?? OWNED_MODE).toString(8).padStart(4, '0');
  const [user, group] = region.owner.split(':');
  if (region.kvmfr !== undefined) context.warn(`${region.key}.owner: libvirt does not give ${region.path} to ${region.owner}; a udev rule can (SUBSYSTEM=="kvmfr", OWNER="${user}"${group === undefined ? '' : `, GROUP="${group}"`}, MODE="${mode}")`);
  else context.warn(`${region.key}.owner: libvirt makes ${region.path} as the user QEMU runs as, not ${region.owner}; a tmpfiles.d line can make it first (f ${region.path} ${mode} ${user} ${group ?? '-'} -)`);
}

/** Steps libvirt does itself for a domain (or a libvirt host has done): KVM and vfio modules, vfio binding (managed='yes'), the UEFI store, memlock, swtpm, the shared memory file, pinning. */
const LIBVIRT_DOES = /^(load-modules|bind-vfio|nvram|memlock-limit|tpm-state|swtpm|shared-memory|pin-|start-guest|hook)/;

/** What boot-vm does around QEMU that the domain cannot carry. */
function noteUnexpressed(context: Context): void {
  const { profile, plan, warn } = context;
  // run-as has a warning of its own, below.
  const steps = plan.steps.filter((step) => step.skip === undefined && !LIBVIRT_DOES.test(step.id) && !step.id.startsWith('run-as'));
  const prepare = steps.filter((step) => step.phase === 'prepare').map((step) => step.id);
  const around = steps.filter((step) => step.phase === 'launch' || step.phase === 'running').map((step) => step.id);
  if (prepare.length > 0) warn(`host: libvirt does not prepare the host (${prepare.join(', ')}); run scripts/prepare-host.mjs ${plan.profile} before virsh start`);
  if (around.length > 0) warn(`host: libvirt has no form for ${around.join(', ')}, which boot-vm does around each run; do them from /etc/libvirt/hooks/qemu`);
  if (profile.hooks) warn(`hooks: libvirt does not run ${profile.hooks.file}; /etc/libvirt/hooks/qemu can call the same commands`);
  if (profile.pidfile !== undefined) warn(`pidfile: libvirt keeps its own pidfile (/run/libvirt/qemu/${plan.profile}.pid); nothing writes ${profile.pidfile}`);
  if (profile.qmp !== undefined) warn(`qmp: libvirt keeps QEMU's monitor to itself (virsh qemu-monitor-command reaches it); nothing listens on ${profile.qmp}`);
  if (profile.host.runAs !== undefined) warn(`host.runAs: libvirt runs QEMU as the user in /etc/libvirt/qemu.conf (user = "${profile.host.runAs}"), or give the domain a <seclabel type='static' model='dac'> label`);
}

function qemuElements(context: Context): XmlNode[] {
  const nodes: XmlNode[] = [];
  const { extraArgs } = context.profile;
  const extra: ExtraArgs[] = [...context.commandline, ...(extraArgs.length > 0 ? [{ why: 'extraArgs: appended verbatim, last, as boot-vm does', words: extraArgs }] : [])];
  if (extra.length > 0) {
    nodes.push(el('qemu:commandline', {}, extra.map(({ why, words }) => [comment(why), ...words.map((word) => el('qemu:arg', { value: word }))])));
  }
  if (context.overrides.length > 0) {
    nodes.push(
      el(
        'qemu:override',
        {},
        context.overrides.map(({ alias, why, props }) => [comment(why), el('qemu:device', { alias }, el('qemu:frontend', {}, props.map((prop) => el('qemu:property', prop))))]),
      ),
    );
  }
  return nodes;
}
