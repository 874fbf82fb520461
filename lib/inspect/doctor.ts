/**
 * doctor <vm>: answers "why won't my passthrough work" before anything is changed. Each check
 * is pass, warn or fail, and a failing one says what to do. Reads the host through the sysroot;
 * the only things it runs are the QEMU probes it is handed (lib/apply/).
 */
import { formatCpuList, parseCpuList } from '../cpu-list.js';
import { InputError, formatProblem } from '../errors.js';
import { cmdlineValue, readKernelCmdline } from '../host/cmdline.js';
import { readCpuInfo } from '../host/cpuinfo.js';
import { describeHolder, gpuDeviceFiles, readDeviceHolders } from '../host/device-holders.js';
import { readDeviceGroup, readInterruptRemapping, readIommuUnits } from '../host/iommu.js';
import { readHugepagePool } from '../host/hugepages.js';
import { readEffectiveUid, readFreeBlocks, readMemlockLimit } from '../host/memory-state.js';
import { checkRomFile, describeRom, type RomReport } from '../host/option-rom.js';
import { readPciDetails } from '../host/pci.js';
import type { Sysroot } from '../host/sysroot.js';
import { readCpuTopology, type CpuTopology } from '../host/topology.js';
import { formatPciAddress, parsePciAddress } from '../pci-address.js';
import { resolveAutoPinning } from '../plan/auto-pinning.js';
import { Collector } from '../plan/diagnostics.js';
import { resolveFirmware } from '../plan/firmware.js';
import { buildPlan, type Plan } from '../plan/plan.js';
import { describeRtStall, rtThrottling } from '../plan/rt-throttling.js';
import { RT_RUNTIME_SYSCTL } from '../host/rt-throttling.js';
import type { QemuProbe } from '../plan/qemu-version.js';
import { missingTpmPrograms, TPM_PROGRAMS, type ProgramFinder } from '../plan/steps/tpm.js';
import type { LoadedProfile } from '../profile/load.js';
import type { Profile } from '../profile/schema.js';
import { guestCpus } from '../qemu/pinning.js';
import { formatQemuVersion, NEWEST_KNOWN_QEMU, parseQemuVersion, type QemuVersion } from '../qemu/version.js';
import { formatSize, parseSize } from '../size.js';
import { hugepagesNeeded } from './boot-config.js';
import { checkHandoff } from './handoff-checks.js';
import { inspectGroups, shortAddress } from './check-iommu.js';
import { readCpuVendor } from '../host/cpuinfo.js';
import { iommuKernelParams, iommuOnAdvice } from './iommu-advice.js';

export type Status = 'pass' | 'warn' | 'fail';

export interface Check {
  status: Status;
  /** What was checked: `/dev/kvm`, `passthrough 01:00.0 driver`. */
  check: string;
  /** What was found. */
  detail: string;
  /** What to do, for warnings and failures. */
  fix?: string;
}

/** The properties a QEMU device type takes, or why they could not be asked (lib/apply/probe-device-props.ts). */
export type DevicePropertiesProbe = (binary: string, device: string) => { properties: string[] } | { problem: string };

export interface DoctorOptions {
  sysroot: Sysroot;
  probeQemuVersion: QemuProbe;
  probeDeviceProperties: DevicePropertiesProbe;
  /** Finds swtpm and swtpm_setup on PATH. */
  findProgram: ProgramFinder;
  qemuVersion?: QemuVersion;
}

const check = (status: Status, name: string, detail: string, fix?: string): Check => ({ status, check: name, detail, ...(fix ? { fix } : {}) });

function checkVirtualization(sysroot: Sysroot): Check[] {
  const info = readCpuInfo(sysroot);
  const flag = info?.flags.has('vmx') ? 'vmx' : info?.flags.has('svm') ? 'svm' : undefined;
  const vendor = readCpuVendor(sysroot);
  const setting = vendor === 'amd' ? 'SVM (AMD-V)' : vendor === 'intel' ? 'VT-x' : 'VT-x (Intel) or SVM (AMD)';
  const module = vendor === 'amd' ? 'kvm_amd' : 'kvm_intel';
  return [
    flag
      ? check('pass', 'CPU virtualization', `the CPU has ${flag}`)
      : check('fail', 'CPU virtualization', info ? 'neither vmx nor svm in /proc/cpuinfo' : '/proc/cpuinfo is unreadable', `enable ${setting} in the firmware setup (a VM host: enable nested virtualization)`),
    sysroot.exists('/dev/kvm') ? check('pass', '/dev/kvm', 'present') : check('fail', '/dev/kvm', 'missing: KVM is not available', `modprobe ${module} (after enabling ${setting} in the firmware setup)`),
  ];
}

function checkIommu(sysroot: Sysroot): Check[] {
  const vendor = readCpuVendor(sysroot);
  const groups = sysroot.list('/sys/kernel/iommu_groups').length;
  const units = readIommuUnits(sysroot);
  const cmdline = readKernelCmdline(sysroot) ?? [];
  const checks: Check[] = [];
  checks.push(
    groups > 0
      ? check('pass', 'IOMMU', `on: ${groups} IOMMU groups${units.length > 0 ? `, units ${units.join(', ')}` : ''}`)
      : check('fail', 'IOMMU', 'off: no IOMMU groups in /sys/kernel/iommu_groups', iommuOnAdvice(vendor)),
  );
  const remapping = readInterruptRemapping(sysroot);
  if (groups > 0) {
    checks.push(
      remapping
        ? check('pass', 'interrupt remapping', 'on (IR- interrupt chips in /proc/interrupts)')
        : check('warn', 'interrupt remapping', 'off: no IR-PCI-MSI or IR-IO-APIC in /proc/interrupts; vfio refuses devices unless allow_unsafe_interrupts is set', 'enable interrupt remapping (x2APIC) in the firmware setup; as a last resort: options vfio_iommu_type1 allow_unsafe_interrupts=1'),
    );
  }
  const param = vendor === 'amd' ? 'amd_iommu' : 'intel_iommu';
  const value = cmdlineValue(cmdline, param);
  if (value === 'off') checks.push(check('fail', `kernel cmdline ${param}`, `${param}=off turns the IOMMU off`, `replace it with ${param}=on`));
  else if (value !== undefined) checks.push(check('pass', `kernel cmdline ${param}`, `${param}=${value}`));
  else if (groups > 0) checks.push(check('pass', `kernel cmdline ${param}`, `not set; the kernel turns the IOMMU on by default here`));
  else checks.push(check('fail', `kernel cmdline ${param}`, 'not set', `add ${iommuKernelParams(vendor).join(' ')} to the kernel command line`));
  checks.push(
    cmdlineValue(cmdline, 'iommu') === 'pt'
      ? check('pass', 'kernel cmdline iommu=pt', 'set: host devices skip DMA translation')
      : check('warn', 'kernel cmdline iommu=pt', 'not set: every host device\'s DMA goes through the IOMMU', 'add iommu=pt to the kernel command line (see --boot-config)'),
  );
  return checks;
}

function checkVfioModules(sysroot: Sysroot, profile: Profile): Check[] {
  if (profile.passthrough.length === 0) return [];
  const missing = ['vfio', 'vfio_iommu_type1', 'vfio_pci'].filter((module) => !sysroot.exists(`/sys/module/${module}`));
  return [
    missing.length === 0
      ? check('pass', 'vfio modules', 'vfio, vfio_iommu_type1 and vfio_pci are loaded')
      : check('warn', 'vfio modules', `not loaded: ${missing.join(', ')}`, 'modprobe vfio-pci, or load it at boot (see --boot-config)'),
  ];
}

/** What to do about a ROM file with problems: cut a vendor header off, else get the card's own ROM. */
const romFix = (report: RomReport, file: string) =>
  report.header > 0 ? `scripts/vfio-rom.mjs strip ${file} ${file.replace(/(\.rom)?$/, '.stripped.rom')}, then point romfile at the result` : "dump this card's own ROM with scripts/vfio-rom.mjs dump, and check it with vfio-rom.mjs info";

function checkDevice(sysroot: Sysroot, profile: Profile, index: number): Check[] {
  const spec = profile.passthrough[index]!;
  const address = formatPciAddress(parsePciAddress(spec.host)!);
  const name = `passthrough ${shortAddress(address)}`;
  if (!sysroot.exists(`/sys/bus/pci/devices/${address}`)) return [check('fail', name, 'no such PCI device on this host', 'check the address with check-iommu (or lspci -D)')];
  const device = readPciDetails(sysroot, address);
  const checks = [check('pass', name, 'present')];
  const group = readDeviceGroup(sysroot, address);
  if (group === undefined) {
    checks.push(check('fail', `${name} IOMMU group`, 'in no IOMMU group', 'turn the IOMMU on (see the IOMMU check)'));
  } else {
    const report = inspectGroups(sysroot, [{ group, devices: sysroot.list(`/sys/kernel/iommu_groups/${group}/devices`) }], profile.passthrough.map((other) => other.host));
    const inspected = report.groups[0]!;
    if (!inspected.passable) checks.push(check('fail', `${name} IOMMU group`, `group ${group} ${inspected.verdict}`, 'move the card to a slot with its own group (check-iommu lists them), or use the ACS override patch at your own risk'));
    else if (inspected.mustAlsoPass && inspected.mustAlsoPass.length > 0) checks.push(check('fail', `${name} IOMMU group`, `group ${group} also holds ${inspected.mustAlsoPass.join(', ')}`, 'pass those through too (add them to passthrough), or leave them unbound'));
    else checks.push(check('pass', `${name} IOMMU group`, `group ${group} holds only what the profile passes (and bridges)`));
  }
  if (device.driver === 'vfio-pci') checks.push(check('pass', `${name} driver`, 'vfio-pci'));
  else if (device.driver === undefined) checks.push(check('warn', `${name} driver`, 'none bound', 'bind it to vfio-pci before the VM starts (see --boot-config)'));
  else {
    const fix = profile.host.bindVfio ? 'boot-vm moves it to vfio-pci when it launches and gives it back afterwards; to do it at boot, run scripts/prepare-host.mjs or see --boot-config' : 'it must move to vfio-pci before the VM starts (host.bindVfio is off; see --boot-config for doing it at boot)';
    checks.push(check('warn', `${name} driver`, `${device.driver}: the host is using it`, fix));
  }
  if (device.driver !== undefined && device.driver !== 'vfio-pci') {
    const holders = readDeviceHolders(sysroot, gpuDeviceFiles(sysroot, device.address, device.driver));
    const stopped = profile.host.stopServices;
    // With host.stopServices, boot-vm stops them itself: what matters is that nothing else holds it.
    if (holders.length > 0 && stopped.length > 0) checks.push(check('warn', `${name} users`, holders.map(describeHolder).join('; '), `boot-vm stops ${stopped.join(', ')} first; stop any of these that are not theirs`));
    else if (holders.length > 0) checks.push(check('fail', `${name} users`, holders.map(describeHolder).join('; '), `stop ${[...new Set(holders.map((holder) => holder.command))].join(', ')} (a display manager: systemctl stop display-manager) so the driver can let go`));
    else checks.push(check('pass', `${name} users`, 'no process holds its device files open'));
  }
  if (spec.romfile !== undefined) {
    const rom = checkRomFile(sysroot, spec.romfile, address, profile.firmware.type === 'ovmf');
    if (!rom) checks.push(check('fail', `${name} romfile`, `${spec.romfile} cannot be read`, `dump the card's ROM (scripts/vfio-rom.mjs dump ${shortAddress(address)} FILE) or fix the path in the profile`));
    else if (rom.problems.length > 0) checks.push(check('fail', `${name} romfile`, `${spec.romfile}: ${rom.problems.join('; ')}`, romFix(rom.report, spec.romfile)));
    else checks.push(check('pass', `${name} romfile`, `${spec.romfile}: ${describeRom(rom.report)}`));
  }
  return checks;
}

function checkHugepages(sysroot: Sysroot, profile: Profile): Check[] {
  const { hugepages, size } = profile.memory;
  if (hugepages === false) return [];
  const pageSize = parseSize(hugepages)!;
  const needed = hugepagesNeeded(profile);
  const pool = readHugepagePool(sysroot, pageSize);
  const name = `huge pages ${hugepages}`;
  const reserveAtBoot = `reserve them at boot: ${pageSize === 1024 ** 3 ? 'default_hugepagesz=1G ' : ''}hugepagesz=${hugepages} hugepages=${needed} (see --boot-config)`;
  if (!pool) return [check('fail', name, `this host has no ${hugepages} huge pages`, reserveAtBoot)];
  if (pool.free >= needed) return [check('pass', name, `${pool.free} free of ${pool.total}, ${needed} needed for ${formatSize(size)}`)];
  const short = needed - pool.free;
  const blocks = readFreeBlocks(sysroot, pageSize);
  if (blocks === undefined) return [check('fail', name, `${pool.free} free, ${needed} needed; pages this large cannot be allocated after boot`, reserveAtBoot)];
  const detail = `${pool.free} free, ${needed} needed; /proc/buddyinfo has ${blocks} free ${hugepages} blocks for the ${short} missing`;
  const reserveNow = profile.host.hugepages ? `boot-vm reserves the ${short} missing pages when it launches and gives them back afterwards` : `echo ${pool.total + short} > /sys/kernel/mm/hugepages/hugepages-${pageSize / 1024}kB/nr_hugepages before starting the VM`;
  if (blocks >= short) return [check('warn', name, `${detail}: enough, if nothing takes them first`, reserveNow)];
  return [check('fail', name, `${detail}: memory is too fragmented`, `echo 3 > /proc/sys/vm/drop_caches; echo 1 > /proc/sys/vm/compact_memory, then try again; or ${reserveAtBoot}`)];
}

function checkMemlock(sysroot: Sysroot, profile: Profile): Check[] {
  if (profile.passthrough.length === 0 && !profile.memory.lock) return [];
  const limit = readMemlockLimit(sysroot);
  const uid = readEffectiveUid(sysroot);
  // vfio pins all guest RAM for device DMA, and so does mem-lock; root's CAP_IPC_LOCK ignores the limit.
  if (limit === undefined) return [check('warn', 'RLIMIT_MEMLOCK', 'unknown (/proc/self/limits is unreadable)')];
  if (limit >= profile.memory.size) return [check('pass', 'RLIMIT_MEMLOCK', `${limit === Infinity ? 'unlimited' : formatSize(limit)}, enough to pin the guest's ${formatSize(profile.memory.size)}`)];
  if (uid === 0) return [check('pass', 'RLIMIT_MEMLOCK', `${formatSize(limit)}, but root's CAP_IPC_LOCK lets QEMU pin the guest's ${formatSize(profile.memory.size)} anyway`)];
  return [check('fail', 'RLIMIT_MEMLOCK', `${formatSize(limit)}: QEMU cannot pin the guest's ${formatSize(profile.memory.size)} for vfio`, 'raise it: ulimit -l unlimited, or a memlock line in /etc/security/limits.conf (or LimitMEMLOCK= in a systemd unit)')];
}

/** Property names of each `-device vfio-pci,…` in the planned argv. */
function vfioProperties(plan: Plan): string[] {
  const names = new Set<string>();
  plan.argv.forEach((word, i) => {
    const value = plan.argv[i + 1];
    if (word !== '-device' || !value?.startsWith('vfio-pci,')) return;
    // Split on single commas only: QEMU writes a literal comma in a value as `,,`.
    for (const prop of value.replaceAll(',,', '\0').split(',').slice(1)) names.add(prop.slice(0, prop.indexOf('=')));
  });
  // Every -device takes these; `-device vfio-pci,help` lists only the type's own properties.
  for (const generic of ['bus', 'id']) names.delete(generic);
  return [...names].sort();
}

function checkQemu(profile: Profile, options: DoctorOptions, plan: Plan | undefined): Check[] {
  const binary = profile.qemu.binary;
  const detected = options.probeQemuVersion(binary);
  if (!('version' in detected)) return [check('fail', 'QEMU', detected.problem, 'install it (Debian: apt install qemu-system-x86) or set qemu.binary')];
  const checks = [check('pass', 'QEMU', `${detected.path}, version ${formatQemuVersion(detected.version)}`)];
  const planned = options.qemuVersion ?? (profile.qemu.version === undefined ? undefined : parseQemuVersion(profile.qemu.version));
  if (planned && formatQemuVersion(planned) !== formatQemuVersion(detected.version)) {
    checks.push(check('warn', 'QEMU version', `the plan is for QEMU ${formatQemuVersion(planned)}, the binary is ${formatQemuVersion(detected.version)}`, 'plan for the binary: drop qemu.version from the profile (or --qemu-version)'));
  }
  const wanted = plan ? vfioProperties(plan) : [];
  if (wanted.length > 0) {
    const known = options.probeDeviceProperties(binary, 'vfio-pci');
    if ('problem' in known) checks.push(check('fail', 'QEMU vfio-pci', known.problem, 'install a QEMU built with VFIO (Debian: qemu-system-x86)'));
    else {
      const missing = wanted.filter((name) => !known.properties.includes(name));
      checks.push(
        missing.length === 0
          ? check('pass', 'QEMU vfio-pci', `knows every property the profile uses (${wanted.join(', ')})`)
          : check('fail', 'QEMU vfio-pci', `does not know ${missing.join(', ')}`, 'use a newer QEMU, or drop the profile keys behind them'),
      );
    }
  }
  return checks;
}

function checkFirmware(loaded: LoadedProfile, profile: Profile, sysroot: Sysroot, plan: Plan | undefined): Check[] {
  if (profile.firmware.type !== 'ovmf') return [];
  const problems: string[] = [];
  const collector = new Collector(loaded.locate);
  const version = plan ? { major: Number(plan.qemuVersion.split('.')[0]), minor: Number(plan.qemuVersion.split('.')[1]) } : NEWEST_KNOWN_QEMU;
  const firmware = resolveFirmware(loaded.name, profile, version, sysroot, (_key, message) => problems.push(message), collector);
  if (!firmware) return [check('fail', 'OVMF', [...problems, ...collector.errors.map((problem) => problem.message)].join('; ') || 'no UEFI firmware found', 'install OVMF (Debian: apt install ovmf) or set firmware.code')];
  const missing = [firmware.code, firmware.varsTemplate].filter((file) => !sysroot.canRead(file));
  return [
    missing.length === 0
      ? check('pass', 'OVMF', `${firmware.code} and ${firmware.varsTemplate}`)
      : check('fail', 'OVMF', `cannot read ${missing.join(', ')}`, 'install OVMF (Debian: apt install ovmf) or fix firmware.code / firmware.varsTemplate'),
  ];
}

function checkPinning(topology: CpuTopology, profile: Profile): Check[] {
  const pinning = profile.pinning;
  if (!pinning || guestCpus(pinning).length === 0) return [];
  const byNumber = new Map(topology.cpus.map((cpu) => [cpu.cpu, cpu]));
  const pinned = [...new Set([...guestCpus(pinning), ...(pinning.emulator ?? [])])];
  const absent = pinned.filter((cpu) => !byNumber.has(cpu));
  const offline = pinned.filter((cpu) => byNumber.get(cpu)?.online === false);
  const checks: Check[] = [];
  if (absent.length > 0 || offline.length > 0) {
    const parts = [...(absent.length > 0 ? [`${formatCpuList(absent)} do not exist`] : []), ...(offline.length > 0 ? [`${formatCpuList(offline)} are offline`] : [])];
    checks.push(check('fail', 'pinned CPUs', parts.join('; '), offline.length > 0 && absent.length === 0 ? `bring them online (echo 1 > /sys/devices/system/cpu/cpuN/online)` : 'pin to CPUs this host has (cpu-topology --suggest N proposes some)'));
  } else {
    checks.push(check('pass', 'pinned CPUs', `${formatCpuList(pinned)} exist and are online`));
  }
  const guest = new Set(guestCpus(pinning));
  const split = [...guest].filter((cpu) => (byNumber.get(cpu)?.threadSiblings ?? []).some((sibling) => !guest.has(sibling)));
  checks.push(
    split.length === 0
      ? check('pass', 'SMT siblings', 'the guest has whole cores: no host thread shares a core with a vCPU')
      : check('warn', 'SMT siblings', `the siblings of vCPU CPUs ${formatCpuList(split)} stay with the host, which then competes for those cores`, 'give the guest whole cores (cpu-topology --suggest N, or pinning: auto)'),
  );
  return checks;
}

/** isolcpus=[flags,]LIST: the CPUs the scheduler keeps other tasks off. */
function isolatedCpus(sysroot: Sysroot): number[] {
  const value = cmdlineValue(readKernelCmdline(sysroot) ?? [], 'isolcpus');
  return value === undefined ? [] : (parseCpuList(value.split(',').filter((part) => /^[\d-]+$/.test(part)).join(',')) ?? []);
}

/** The vCPUs' scheduler against the kernel's real-time throttling (lib/plan/rt-throttling.ts). */
function checkScheduler(sysroot: Sysroot, profile: Profile): Check[] {
  const pinning = profile.pinning;
  if (!pinning?.scheduler) return [];
  const name = 'vCPU scheduler';
  const throttling = rtThrottling(profile, sysroot);
  if (!throttling.realtime) return [check('pass', name, `${pinning.scheduler.policy}${pinning.scheduler.nice !== undefined ? ` nice ${pinning.scheduler.nice}` : ''}: real-time throttling does not apply`)];
  if (!throttling.off) {
    return [check('warn', name, describeRtStall(throttling), `pinning.scheduler: { policy: other, nice: -20 } (the default), or host.sysctl ${RT_RUNTIME_SYSCTL}: -1 (safe only on CPUs nothing else needs)`)];
  }
  const cpus = formatCpuList(guestCpus(pinning));
  const isolated = isolatedCpus(sysroot);
  const kept = profile.host.shield !== false || guestCpus(pinning).every((cpu) => isolated.includes(cpu));
  const off = throttling.off === 'profile' ? `off while the VM runs (host.sysctl ${RT_RUNTIME_SYSCTL}: -1)` : `off on this host (${RT_RUNTIME_SYSCTL} is -1)`;
  const detail = `real-time throttling ${off}: a busy ${throttling.policy} vCPU keeps CPUs ${cpus} for as long as it runs, and the kernel's own work bound there (kworkers, RCU, timers) waits; safe only on CPUs nothing else needs`;
  return [
    kept
      ? check('pass', name, `${detail}, as ${profile.host.shield !== false ? 'host.shield keeps host tasks off them' : 'isolcpus keeps them'}`)
      : check('warn', name, detail, `keep the host off CPUs ${cpus}: host.shield, or isolcpus=${cpus} nohz_full=${cpus} on the kernel command line; or use { policy: other, nice: -20 }`),
  ];
}

/** swtpm and swtpm_setup, which a profile with `tpm` runs beside QEMU. */
function checkTpm(profile: Profile, findProgram: ProgramFinder): Check[] {
  if (profile.tpm === false) return [];
  const missing = missingTpmPrograms(findProgram);
  if (missing !== undefined) return [check('fail', 'swtpm', missing, `apt install ${TPM_PROGRAMS.map((item) => item.package).join(' ')} (or put them on PATH)`)];
  return [check('pass', 'swtpm', TPM_PROGRAMS.map(({ program }) => findProgram(program)).join(' and '))];
}

/** Runs every check for a profile on the host. */
export function runDoctor(loaded: LoadedProfile, options: DoctorOptions): Check[] {
  const { sysroot } = options;
  const checks: Check[] = [...checkVirtualization(sysroot), ...checkIommu(sysroot)];
  let plan: Plan | undefined;
  try {
    plan = buildPlan(loaded, { sysroot, strict: false, launching: false, probeQemuVersion: options.probeQemuVersion, findProgram: options.findProgram, ...(options.qemuVersion ? { qemuVersion: options.qemuVersion } : {}) });
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    for (const problem of error.problems) checks.push(check('fail', 'profile', formatProblem(problem), 'fix the profile (boot-vm <vm> --dry-run shows the same)'));
  }
  let topology: CpuTopology | undefined;
  const readTopology = () => (topology ??= readCpuTopology(sysroot));
  const profile = resolveAutoPinning(loaded.profile, sysroot, new Collector(loaded.locate), readTopology).profile;
  checks.push(...checkVfioModules(sysroot, profile));
  profile.passthrough.forEach((_, i) => checks.push(...checkDevice(sysroot, profile, i)));
  checks.push(...checkHandoff(sysroot, profile));
  checks.push(...checkHugepages(sysroot, profile), ...checkMemlock(sysroot, profile), ...checkQemu(profile, options, plan), ...checkTpm(profile, options.findProgram), ...checkFirmware(loaded, profile, sysroot, plan), ...checkPinning(readTopology(), profile), ...checkScheduler(sysroot, profile));
  return checks;
}

const LABEL: Record<Status, string> = { pass: 'pass', warn: 'WARN', fail: 'FAIL' };

export function renderDoctorText(name: string, checks: Check[]): string {
  const lines = checks.flatMap((item) => [`${LABEL[item.status]}  ${item.check}: ${item.detail}`, ...(item.fix && item.status !== 'pass' ? [`      fix: ${item.fix}`] : [])]);
  const count = (status: Status) => checks.filter((item) => item.status === status).length;
  lines.push('', `${name}: ${count('fail')} fail, ${count('warn')} warn, ${count('pass')} pass`);
  return lines.join('\n') + '\n';
}

export function renderDoctorJson(name: string, checks: Check[]): string {
  return JSON.stringify({ profile: name, ok: checks.every((item) => item.status !== 'fail'), checks }, null, 2) + '\n';
}
