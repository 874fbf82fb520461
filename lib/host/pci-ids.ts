/**
 * Names from the PCI ID database (`pci.ids`, Debian's hwdata package), read through the
 * sysroot so a captured host names its devices as it would. Only the ids asked for are kept.
 */
import { Sysroot } from './sysroot.js';

/** Where distributions install pci.ids, most common first. */
export const PCI_IDS_FILES = ['/usr/share/misc/pci.ids', '/usr/share/hwdata/pci.ids'];

export interface PciNames {
  /** The file the names came from, or undefined when the host has none. */
  file?: string;
  vendor(vendor: number): string | undefined;
  device(vendor: number, device: number): string | undefined;
  /** The subclass name (`USB controller`), else the base class's, as lspci shows them. */
  className(pciClass: number): string | undefined;
}

const hex4 = (value: number) => value.toString(16).padStart(4, '0');
const hex2 = (value: number) => value.toString(16).padStart(2, '0');

/**
 * Reads the names of the given `vendor:device` pairs and classes from the host's pci.ids: the
 * sysroot's, else (a captured tree without one) the one on the machine boot-vm runs on, since
 * names are the same everywhere and only newer in newer files.
 */
export function readPciNames(sysroot: Sysroot, ids: Iterable<[number, number]>, classes: Iterable<number>, runningHost = new Sysroot('/')): PciNames {
  const source = [sysroot, runningHost].find((root) => PCI_IDS_FILES.some((candidate) => root.exists(candidate)));
  const found = source && PCI_IDS_FILES.find((candidate) => source.exists(candidate));
  const file = source && found && (source === sysroot ? found : source.path(found));
  const text = source && found ? (source.readText(found) ?? '') : '';
  const wantedDevices = new Set([...ids].map(([vendor, device]) => `${hex4(vendor)}:${hex4(device)}`));
  const wantedVendors = new Set([...wantedDevices].map((id) => id.slice(0, 4)));
  const wantedClasses = new Set([...classes].map((pciClass) => hex2(pciClass >> 16)));
  const names = new Map<string, string>();
  let vendor: string | undefined;
  let baseClass: string | undefined;
  // Vendors and classes are lines at column 0; their devices and subclasses are indented by one
  // tab, subsystems and programming interfaces (not needed) by two.
  for (const line of text.split('\n')) {
    if (line === '' || line[0] === '#') continue;
    if (line[0] !== '\t') {
      vendor = baseClass = undefined;
      if (line.startsWith('C ')) {
        const id = line.slice(2, 4);
        if (wantedClasses.has(id)) {
          baseClass = id;
          names.set(`C${id}`, line.slice(4).trim());
        }
      } else {
        const id = line.slice(0, 4);
        if (wantedVendors.has(id)) {
          vendor = id;
          names.set(id, line.slice(4).trim());
        }
      }
    } else if (line[1] !== '\t') {
      if (vendor !== undefined) {
        const id = `${vendor}:${line.slice(1, 5)}`;
        if (wantedDevices.has(id)) names.set(id, line.slice(5).trim());
      } else if (baseClass !== undefined) {
        names.set(`C${baseClass}${line.slice(1, 3)}`, line.slice(3).trim());
      }
    }
  }
  return {
    ...(file === undefined ? {} : { file }),
    vendor: (id) => names.get(hex4(id)),
    device: (vendorId, device) => names.get(`${hex4(vendorId)}:${hex4(device)}`),
    className: (pciClass) => {
      const full = pciClass.toString(16).padStart(6, '0');
      return names.get(`C${full.slice(0, 4)}`) ?? names.get(`C${full.slice(0, 2)}`);
    },
  };
}
