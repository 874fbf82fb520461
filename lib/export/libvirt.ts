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
import type { Plan } from '../plan/plan.js';
import type { Profile } from '../profile/schema.js';
import type { Diagnostics, ResolvedFirmware } from '../qemu/arg.js';
import { placeCards } from '../qemu/pcie.js';
import { guestCpus, priorityOf } from '../qemu/pinning.js';
import { parseOptionValue } from '../qemu/props.js';
import { atLeast, parseQemuVersion } from '../qemu/version.js';
import { formatSize } from '../size.js';
import { guestSlots } from './guest-slots.js';
import { DEFAULT_BINARY, kib, type Context, type ExtraArgs } from './libvirt-context.js';
import { devicesElement } from './libvirt-devices.js';
import { comment, el, renderXml, textEl, type XmlElement, type XmlNode } from './xml.js';

const QEMU_NS = 'http://libvirt.org/schemas/domain/qemu/1.0';
/** libvirt (since 8.0) drives QEMU 4.2 or newer only. */
const LIBVIRT_OLDEST_QEMU = { major: 4, minor: 2 };

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
  return new Map([...parseOptionValue(cpu, 'model').props].map(([key, value]) => [key, value ?? 'on']));
}

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
      cpuset = formatCpuList([...guestCpus(pinning), ...(pinning.emulator ?? [])]);
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
  const { head, props } = parseOptionValue(plan.args.find((arg) => arg.words[0] === '-smp')?.words[1] ?? '1', 'cpus');
  return new Map([...(head === undefined ? [] : [['', head] as const]), ...[...props].map(([key, value]) => [key, value ?? 'on'] as const)]);
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
