/** check-iommu's output: the blog's listing with a verdict per group, or JSON. */
import { shortAddress, type IommuReport, type InspectedDevice } from './check-iommu.js';

const hex = (value: number, width: number) => value.toString(16).padStart(width, '0');

/** lspci -nn's line: `01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GP104 [GeForce GTX 1070] [10de:1b81]`. */
function deviceLine(device: InspectedDevice): string {
  const classCode = device.class === undefined ? '????' : hex(device.class >> 8, 4);
  const what = device.vendorName || device.deviceName ? `${device.vendorName ?? 'Device'} ${device.deviceName ?? 'Device'}` : 'Device';
  const facts = [`driver: ${device.driver ?? 'none'}`, `reset: ${device.resetMethods.length > 0 ? device.resetMethods.join(' ') : 'none'}`];
  return `${device.inProfile ? '  * ' : '    '}${shortAddress(device.address)} ${device.className ?? 'Class'} [${classCode}]: ${what} [${device.ids}]  (${facts.join(', ')})`;
}

export function renderIommuText(report: IommuReport, profile?: string): string {
  if (report.iommuOff) {
    return [report.iommuOff, ...report.missing.map((address) => `${profile}: ${shortAddress(address)} is in no IOMMU group`)].join('\n') + '\n';
  }
  const lines: string[] = [];
  for (const group of report.groups) {
    lines.push(`IOMMU group ${group.group}: ${group.verdict}`);
    for (const device of group.devices) lines.push(deviceLine(device));
    if (group.mustAlsoPass) {
      const profileDevices = group.devices.filter((device) => device.inProfile).map((device) => shortAddress(device.address)).join(', ');
      if (!group.passable) lines.push(`    → ${profile}: ${profileDevices} cannot be passed through while the host needs this group; move the card to another slot (or use the ACS override patch, at your own risk)`);
      else if (group.mustAlsoPass.length > 0) lines.push(`    → ${profile}: ${profileDevices} must go with ${group.mustAlsoPass.join(', ')}: add ${group.mustAlsoPass.length === 1 ? 'it' : 'them'} to the profile or leave ${group.mustAlsoPass.length === 1 ? 'it' : 'them'} unbound from host drivers`);
      else lines.push(`    → ${profile}: ${profileDevices} can go as the profile says`);
    }
  }
  for (const address of report.missing) lines.push(`${profile}: ${shortAddress(address)} is not on this host`);
  const footer = [
    ...(profile === undefined ? [] : [`* marks ${profile}'s devices`]),
    ...(report.pciIds ? [] : ['no pci.ids on this host (Debian: apt install hwdata), so ids without names']),
  ];
  if (footer.length > 0) lines.push('', ...footer);
  return lines.join('\n') + '\n';
}

/** A list of groups, each with its number, verdict and devices; `[]` when the IOMMU is off. */
export function renderIommuJson(report: IommuReport): string {
  const groups = report.groups.map((group) => ({
    group: group.group,
    passable: group.passable,
    verdict: group.verdict,
    ...(group.mustAlsoPass ? { mustAlsoPass: group.mustAlsoPass } : {}),
    devices: group.devices.map((device) => ({
      address: device.address,
      class: device.class === undefined ? null : `0x${hex(device.class, 6)}`,
      className: device.className ?? null,
      ids: device.ids,
      vendorName: device.vendorName ?? null,
      deviceName: device.deviceName ?? null,
      driver: device.driver ?? null,
      resetMethods: device.resetMethods,
      numaNode: device.numaNode ?? null,
      kind: device.kind,
      inProfile: device.inProfile,
    })),
  }));
  return JSON.stringify(groups, null, 2) + '\n';
}
