import type { BuildInput } from './arg.js';

/**
 * Boot order is per device (`bootindex=`), which both SeaBIOS and OVMF honour; the positions
 * must be unique across disks, CD-ROMs and network cards.
 */
export function checkBootIndexes({ profile, diagnostics }: BuildInput): void {
  const owners = new Map<number, string>();
  const entries: [string, number | undefined][] = [
    ...profile.disks.map((disk, i) => [`disks[${i}].bootIndex`, disk.bootIndex] as [string, number | undefined]),
    ...profile.cdroms.map((cdrom, i) => [`cdroms[${i}].bootIndex`, cdrom.bootIndex] as [string, number | undefined]),
    ...profile.network.map((nic, i) => [`network[${i}].bootIndex`, nic.bootIndex] as [string, number | undefined]),
  ];
  for (const [key, bootIndex] of entries) {
    if (bootIndex === undefined) continue;
    const owner = owners.get(bootIndex);
    if (owner !== undefined) diagnostics.error(key, `boot position ${bootIndex} is already taken by ${owner}`);
    else owners.set(bootIndex, key);
  }
}
