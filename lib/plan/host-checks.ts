/** Checks the profile against the host it will run on: CPUs, PCI devices and files it names. */
import { formatCpuList } from '../cpu-list.js';
import { readPresentCpus } from '../host/cpus.js';
import { readHugepagePool, readHugepageSizes } from '../host/hugepages.js';
import { checkRomFile } from '../host/option-rom.js';
import { isDisplayClass, readPciDevice } from '../host/pci.js';
import type { Sysroot } from '../host/sysroot.js';
import { formatPciAddress, parsePciAddress } from '../pci-address.js';
import type { Profile } from '../profile/schema.js';
import { formatSize, parseSize } from '../size.js';

export type Report = (key: string, message: string) => void;

export function checkHostCpus(profile: Profile, sysroot: Sysroot, report: Report): void {
  const pinning = profile.pinning;
  if (!pinning) return;
  const present = readPresentCpus(sysroot);
  if (present === undefined) {
    report('pinning', `cannot tell which CPUs the host has (${sysroot.path('/sys/devices/system/cpu/present')} is unreadable)`);
    return;
  }
  for (const list of ['vcpus', 'cpus', 'emulator'] as const) {
    const missing = (pinning[list] ?? []).filter((cpu) => !present.includes(cpu));
    if (missing.length > 0) {
      report(`pinning.${list}`, `host CPU${missing.length > 1 ? 's' : ''} ${formatCpuList(missing)} ${missing.length > 1 ? 'do' : 'does'} not exist here (this host has ${formatCpuList(present)})`);
    }
  }
}

export function checkHostDevices(profile: Profile, sysroot: Sysroot, report: Report): void {
  profile.passthrough.forEach((device, i) => {
    const address = parsePciAddress(device.host)!;
    const found = readPciDevice(sysroot, address);
    if (!found) {
      report(`passthrough[${i}].host`, `no PCI device ${formatPciAddress(address)} on this host`);
    } else if (device.vga && found.class !== undefined && !isDisplayClass(found.class)) {
      report(`passthrough[${i}].vga`, `${formatPciAddress(address)} is not a display controller (class 0x${found.class.toString(16).padStart(6, '0')}); only a GPU can be the guest's VGA`);
    }
  });
}

export function checkHostFiles(profile: Profile, sysroot: Sysroot, report: Report): void {
  const files: [string, string | false | undefined][] = [
    ...profile.passthrough.map((device, i) => [`passthrough[${i}].romfile`, device.romfile] as [string, string | undefined]),
    ...profile.disks.map((disk, i) => [`disks[${i}].path`, disk.path] as [string, string]),
    ...profile.cdroms.map((cdrom, i) => [`cdroms[${i}].path`, cdrom.path] as [string, string]),
    ...profile.network.flatMap((nic, i) => [
      [`network[${i}].tap.script`, nic.tap?.script] as [string, string | false | undefined],
      [`network[${i}].tap.downscript`, nic.tap?.downscript] as [string, string | false | undefined],
    ]),
  ];
  for (const [key, path] of files) {
    if (typeof path === 'string' && !sysroot.exists(path)) report(key, `${path} does not exist on this host`);
  }
}

/** Each passed device's `romfile` parses, fits the device, and can show the firmware under OVMF. */
export function checkRomFiles(profile: Profile, sysroot: Sysroot, report: Report): void {
  profile.passthrough.forEach((device, i) => {
    if (device.romfile === undefined || !sysroot.exists(device.romfile)) return;
    const address = formatPciAddress(parsePciAddress(device.host)!);
    const checked = checkRomFile(sysroot, device.romfile, address, profile.firmware.type === 'ovmf');
    if (!checked) report(`passthrough[${i}].romfile`, `${device.romfile} cannot be read`);
    for (const problem of checked?.problems ?? []) report(`passthrough[${i}].romfile`, `${device.romfile}: ${problem}`);
  });
}

export function checkHostHugepages(profile: Profile, sysroot: Sysroot, report: Report): void {
  const wanted = profile.memory.hugepages;
  if (wanted === false) return;
  const sizes = readHugepageSizes(sysroot);
  const size = parseSize(wanted)!;
  if (sizes.length === 0) report('memory.hugepages', `this host offers no huge pages (${sysroot.path('/sys/kernel/mm/hugepages')} is empty)`);
  else if (!sizes.includes(size)) report('memory.hugepages', `this host offers huge pages of ${sizes.map(formatSize).join(' and ')} only`);
  else if (profile.host.hugepages && !readHugepagePool(sysroot, size)) {
    // Without the pool's counts the reservation step cannot be planned, yet QEMU would still be told to use the pages.
    const dir = `/sys/kernel/mm/hugepages/hugepages-${size / 1024}kB`;
    const unreadable = ['nr_hugepages', 'free_hugepages'].filter((file) => !Number.isInteger(Number(sysroot.readText(`${dir}/${file}`)?.trim()))).map((file) => sysroot.path(`${dir}/${file}`));
    report('host.hugepages', `cannot plan the reservation of ${formatSize(size)} pages: ${unreadable.join(' and ')} ${unreadable.length > 1 ? 'are' : 'is'} unreadable`);
  }
}
