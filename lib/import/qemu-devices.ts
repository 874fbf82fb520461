/**
 * Devices and their back ends (`-device` with `-drive`, `-netdev`, `-object`, `-chardev`,
 * `-tpmdev`) → passthrough, disks, cdroms, network, usb, input, shared memory, TPM, memory
 * backend, IO threads, firmware and boot order. Properties boot-vm has no key for stay on the
 * device it builds as `-set group.id.property=value` (its ids: hostdevN, diskN, drive-diskN, netN…).
 */
import { basename } from 'node:path';
import { formatSize } from '../size.js';
import { Draft, describeSource, type Source } from './draft.js';
import { hugepagesOfPath, keep, keepProps, sourceOf, type ParsedOption } from './parsed-option.js';
import { parseBool, parseNumber, parseQemuSize } from './qemu-props.js';
import { invalidAt } from './schema-check.js';

interface Context {
  nodefaults: boolean;
}

const DISK_FRONT_ENDS: Record<string, 'virtio' | 'sata' | 'scsi' | 'nvme'> = { 'virtio-blk-pci': 'virtio', 'virtio-blk': 'virtio', 'ide-hd': 'sata', 'ide-drive': 'sata', 'scsi-hd': 'scsi', nvme: 'nvme' };
const NIC_MODELS: Record<string, 'virtio' | 'e1000' | 'e1000e' | 'rtl8139'> = { 'virtio-net-pci': 'virtio', 'virtio-net': 'virtio', virtio: 'virtio', e1000: 'e1000', e1000e: 'e1000e', rtl8139: 'rtl8139' };
const ROOT_PORTS = new Set(['ioh3420', 'pcie-root-port', 'x3130-upstream', 'xio3130-downstream']);
const USB_CONTROLLERS = new Set(['qemu-xhci', 'nec-usb-xhci', 'usb-ehci', 'ich9-usb-ehci1', 'ich9-usb-ehci2', 'ich9-usb-uhci1', 'ich9-usb-uhci2', 'ich9-usb-uhci3', 'piix3-usb-uhci', 'piix4-usb-uhci']);
const VGA_DEVICES = new Set(['VGA', 'virtio-vga', 'virtio-vga-gl', 'qxl-vga', 'cirrus-vga', 'vmware-svga', 'bochs-display', 'secondary-vga', 'ati-vga']);
const VGA_KEYS: Record<string, string> = { VGA: 'std', 'virtio-vga': 'virtio', 'qxl-vga': 'qxl' };
const SCSI_CONTROLLERS = new Set(['virtio-scsi-pci', 'virtio-scsi']);

const at = (option: ParsedOption, text: string): Source => ({ text, line: option.line });
const propText = (option: ParsedOption, key: string) => (option.props.get(key) === undefined ? key : `${key}=${option.props.get(key)}`);

/** Whether the schema refuses a device property's value for its key (a relative romfile, a serial with spaces): then it stays a QEMU property. */
function refused(draft: Draft, option: ParsedOption, path: (string | number)[], value: unknown, key: string): boolean {
  const problem = invalidAt(path, value);
  if (problem !== undefined) draft.warn(option.line, `${propText(option, key)}: not a value for ${path.filter((segment) => segment !== 0).join('.')} (${problem}); kept on the device as it is`);
  return problem !== undefined;
}

/** `-set group.id.key=value` for each property boot-vm builds no key for. */
function setProps(draft: Draft, option: ParsedOption, group: string, id: string, keys: string[]): void {
  for (const key of keys) draft.keep(['-set', `${group}.${id}.${key}=${option.props.get(key) ?? 'on'}`], option.line);
}

export function importDevices(draft: Draft, options: ParsedOption[], context: Context): void {
  const used = new Set<ParsedOption>();
  const byId = (name: string) => new Map(options.filter((option) => option.name === name && option.props.get('id') !== undefined).map((option) => [option.props.get('id')!, option]));
  const objects = byId('-object');
  const netdevs = byId('-netdev');
  const chardevs = byId('-chardev');
  const tpmdevs = byId('-tpmdev');
  const devices = options.filter((option) => option.name === '-device');
  const memdevOf = new Set(devices.filter((device) => device.head === 'ivshmem-plain').map((device) => device.props.get('memdev')));

  importMemoryBackend(draft, options, used, memdevOf);
  const iothreadIndex = importIothreads(draft, options, used);
  importPassthrough(draft, devices, used);
  importDisks(draft, options, iothreadIndex, used);
  importNetwork(draft, options, netdevs, used, context);
  importSharedMemory(draft, devices, objects, used);
  importUsb(draft, options, used);
  importInput(draft, options, used);
  importTpm(draft, devices, tpmdevs, chardevs, used);
  importQmp(draft, options, chardevs, used);
  importFirmware(draft, options, used);
  importBootOrder(draft, options, used);
  // Controllers and ports boot-vm makes itself, unless a device kept verbatim hangs on them.
  const kept = options.filter((option) => !used.has(option));
  const busOfKept = new Set(kept.map((option) => option.props.get('bus')?.replace(/\.\d+$/, '')));
  for (const option of kept) {
    if (option.name !== '-device' && option.name !== '-usb') continue;
    const id = option.props.get('id');
    if (option.name === '-device' && ROOT_PORTS.has(option.head ?? '') && !busOfKept.has(id)) {
      used.add(option);
      draft.note(option.line, `${sourceOf(option).text}: boot-vm gives each passed card a pcie-root-port of its own`);
      if (option.head === 'ioh3420') draft.modernise(option.line, 'ioh3420 → pcie-root-port (the generic PCIe root port)');
    } else if (option.name === '-device' && (USB_CONTROLLERS.has(option.head ?? '') || SCSI_CONTROLLERS.has(option.head ?? '')) && !busOfKept.has(id) && !kept.some((other) => other !== option && other.name === '-usbdevice')) {
      const usb = USB_CONTROLLERS.has(option.head ?? '');
      if (usb && draft.get(['usb']) === undefined) continue;
      if (!usb && !((draft.get(['disks']) as { bus: string }[] | undefined) ?? []).some((disk) => disk.bus === 'scsi')) continue;
      used.add(option);
      draft.note(option.line, `${sourceOf(option).text}: boot-vm adds ${usb ? 'its own qemu-xhci controller for the usb entries' : 'a virtio-scsi-pci controller for scsi disks'}`);
    } else if (option.name === '-usb' && draft.get(['usb']) !== undefined && !kept.some((other) => other.name === '-usbdevice' || (other.name === '-device' && /^usb-/.test(other.head ?? '') && other.head !== 'usb-host'))) {
      used.add(option);
      draft.note(option.line, '-usb: boot-vm adds a qemu-xhci controller for the usb entries');
    }
  }
  // The VGA cards boot-vm's vga key makes, given as a device.
  const vgaDevice = options.find((option) => option.name === '-device' && VGA_KEYS[option.head ?? ''] && option.order.every((key) => ['id', 'bus', 'addr'].includes(key)));
  if (vgaDevice && draft.get(['vga']) === undefined && draft.set(['vga'], VGA_KEYS[vgaDevice.head!], sourceOf(vgaDevice))) {
    used.add(vgaDevice);
    draft.modernise(vgaDevice.line, `-device ${vgaDevice.head} → -vga ${VGA_KEYS[vgaDevice.head!]}`);
  }
  if (!context.nodefaults && draft.get(['vga']) === undefined && !options.some((option) => option.name === '-device' && VGA_DEVICES.has(option.head ?? ''))) {
    draft.set(['vga'], 'std', { text: '(no -vga)', line: 0 }, undefined, "no -vga and no -nodefaults: QEMU's default VGA card");
  }
  for (const option of options) if (!used.has(option)) keep(draft, option);
}

function importMemoryBackend(draft: Draft, options: ParsedOption[], used: Set<ParsedOption>, memdevOf: Set<string | undefined>): void {
  const backends = options.filter((option) => option.name === '-object' && /^memory-backend-(file|memfd|ram)$/.test(option.head ?? '') && !memdevOf.has(option.props.get('id')));
  const numa = options.filter((option) => option.name === '-numa');
  if (backends.length !== 1 || numa.length > 1) {
    if (backends.length > 1) draft.warn(backends[0]!.line, `${backends.length} memory backends (guest NUMA nodes): boot-vm makes them itself from pinning with memory.numa: mirror; kept verbatim in extraArgs`);
    return;
  }
  const backend = backends[0]!;
  const node = numa[0];
  if (node && (node.head !== 'node' || node.props.get('memdev') !== backend.props.get('id') || [...node.props.keys()].some((key) => !['memdev', 'nodeid'].includes(key)))) return;
  used.add(backend);
  if (node) {
    used.add(node);
    draft.note(node.line, `${sourceOf(node).text}: boot-vm attaches the memory backend itself (-machine memory-backend=mem)`);
  }
  const type = backend.head!.replace('memory-backend-', '');
  const left: string[] = [];
  for (const key of backend.order) {
    const value = backend.props.get(key);
    const source = at(backend, `-object ${backend.head},${propText(backend, key)}`);
    switch (key) {
      case 'id':
        break;
      case 'size': {
        const bytes = value === undefined ? undefined : parseQemuSize(value, 'B');
        const size = draft.get(['memory', 'size']);
        if (bytes !== undefined && size === undefined) draft.set(['memory', 'size'], formatSize(bytes), source);
        else if (bytes === undefined || formatSize(bytes) !== size) left.push(key);
        break;
      }
      case 'mem-path': {
        const hugepages = hugepagesOfPath(value ?? '');
        if (hugepages) draft.set(['memory', 'hugepages'], hugepages, source, undefined, `${describeSource(source)}: a hugetlbfs mount${hugepages === '2M' ? ', 2M pages unless the host steps say otherwise' : ''}`);
        if (!draft.set(['memory', 'path'], value, source)) left.push(key);
        break;
      }
      case 'hugetlb':
        if (parseBool(value) && draft.get(['memory', 'hugepages']) === undefined) draft.set(['memory', 'hugepages'], '2M', source);
        break;
      case 'hugetlbsize': {
        const bytes = parseQemuSize(value ?? '', 'B');
        if (bytes !== 2 ** 21 && bytes !== 2 ** 30) left.push(key);
        else draft.set(['memory', 'hugepages'], bytes === 2 ** 30 ? '1G' : '2M', source);
        break;
      }
      case 'prealloc':
      case 'share':
        if (parseBool(value) === undefined || !draft.set(['memory', key], parseBool(value), source)) left.push(key);
        break;
      case 'host-nodes':
      case 'policy':
        draft.warn(backend.line, `${propText(backend, key)}: boot-vm binds guest memory to the NUMA node of the pinned CPUs itself (profiles/README.md, NUMA); not kept`);
        break;
      default:
        left.push(key);
    }
  }
  if (type === 'memfd' || (type === 'file' && draft.get(['memory', 'hugepages']) === undefined)) draft.set(['memory', 'backend'], type, at(backend, sourceOf(backend).text));
  if (type === 'ram' && !left.length && draft.get(['memory', 'prealloc']) !== true && draft.get(['memory', 'share']) !== true) draft.note(backend.line, `${sourceOf(backend).text}: plain guest RAM, as -m alone gives it`);
  // QEMU (6.0 on) has no -set for -object: what the backend boot-vm builds cannot say is lost, and said.
  if (left.length > 0) draft.warn(backend.line, `${left.map((key) => propText(backend, key)).join(',')}: boot-vm builds the memory backend itself and has no key for ${left.length > 1 ? 'these' : 'this'}; not kept (QEMU cannot -set an object's property)`);
}

function importIothreads(draft: Draft, options: ParsedOption[], used: Set<ParsedOption>): Map<string, number> {
  const threads = options.filter((option) => option.name === '-object' && option.head === 'iothread' && option.props.get('id') !== undefined && option.order.length === 1);
  const index = new Map(threads.map((option, i) => [option.props.get('id')!, i]));
  if (threads.length === 0) return index;
  threads.forEach((option) => used.add(option));
  draft.set(['iothreads'], threads.length, at(threads[0]!, threads.map((option) => sourceOf(option).text).join(' ')));
  if (threads.some((option, i) => option.props.get('id') !== `iothread${i}`)) draft.note(threads[0]!.line, `IO threads renamed ${threads.map((_, i) => `iothread${i}`).join(', ')}, in the order the script makes them (boot-vm's names)`);
  return index;
}

function importPassthrough(draft: Draft, devices: ParsedOption[], used: Set<ParsedOption>): void {
  const placed: ParsedOption[] = [];
  for (const option of devices.filter((device) => device.head === 'vfio-pci' && device.props.get('host') !== undefined)) {
    const entry: Record<string, unknown> = { host: option.props.get('host') };
    const comments: Record<string, string> = { host: describeSource(at(option, `-device vfio-pci,host=${option.props.get('host')}`)) };
    const left: string[] = [];
    const dropped: string[] = [];
    for (const key of option.order) {
      const value = option.props.get(key);
      const source = describeSource(at(option, propText(option, key)));
      const set = (name: string, parsed: unknown) => {
        if (parsed === undefined || refused(draft, option, ['passthrough', 0, name], parsed, key)) left.push(key);
        else {
          entry[name] = parsed;
          comments[name] = source;
        }
      };
      if (key === 'host') continue;
      else if (key === 'x-vga') set('vga', parseBool(value));
      else if (key === 'romfile') set('romfile', value);
      else if (key === 'rombar') set('rombar', value === '0' ? false : value === '1' ? true : undefined);
      else if (key === 'x-pci-sub-vendor-id') set('subsystemVendor', parseNumber(value));
      else if (key === 'x-pci-sub-device-id') set('subsystemDevice', parseNumber(value));
      else if (key === 'bus' || key === 'addr' || key === 'multifunction' || key === 'id') dropped.push(propText(option, key));
      else left.push(key);
    }
    const index = draft.push('passthrough', entry, comments, sourceOf(option), option.words);
    if (index === undefined) continue;
    used.add(option);
    if (dropped.length > 0) placed.push(option);
    setProps(draft, option, 'device', `hostdev${index}`, left);
  }
  if (placed.length > 0) {
    const lines = placed.map((option) => option.line);
    draft.note(lines[0], `bus=, addr=, multifunction= of the vfio-pci devices (line${lines.length > 1 ? 's' : ''} ${[...new Set(lines)].join(', ')}): boot-vm places each card on a root port of its own, its functions together (ids hostdev0…)`);
  }
}

interface DiskParts {
  drive: ParsedOption;
  device?: ParsedOption;
  bus: 'virtio' | 'sata' | 'scsi' | 'nvme' | 'cdrom';
  note?: string;
}

const DRIVE_KNOWN = new Set(['file', 'if', 'id', 'format', 'cache', 'aio', 'discard', 'readonly', 'serial', 'index', 'media', 'bus', 'unit']);
const DEVICE_KNOWN = new Set(['drive', 'bootindex', 'serial', 'iothread', 'id', 'bus', 'addr', 'unit']);

function importDisks(draft: Draft, options: ParsedOption[], iothreadIndex: Map<string, number>, used: Set<ParsedOption>): void {
  const parts: DiskParts[] = [];
  for (const option of options) {
    if (option.name === '-cdrom' || /^-hd[a-d]$/.test(option.name)) {
      const media = option.name === '-cdrom' ? 'cdrom' : 'disk';
      const drive: ParsedOption = { ...option, props: new Map([['file', option.value], ['media', media]]), order: ['file', 'media'] };
      parts.push({ drive, bus: media === 'cdrom' ? 'cdrom' : 'sata', note: `${option.name}: an IDE ${media === 'cdrom' ? 'CD-ROM' : 'disk'}, on Q35 a port of the ICH9 AHCI (ide.N)` });
      used.add(option);
      draft.modernise(option.line, `${option.name} ${option.value} → -drive if=none + -device ${media === 'cdrom' ? 'ide-cd' : 'ide-hd'}`);
      continue;
    }
    if (option.name !== '-drive' || option.props.get('file') === undefined) continue;
    const where = option.props.get('if') ?? 'ide';
    const cdrom = option.props.get('media') === 'cdrom';
    if (where === 'none') {
      const device = options.find((other) => other.name === '-device' && other.props.get('drive') === option.props.get('id'));
      const bus = device?.head === 'ide-cd' || device?.head === 'scsi-cd' ? 'cdrom' : DISK_FRONT_ENDS[device?.head ?? ''];
      if (!device || !bus || (bus === 'cdrom' && device.head === 'scsi-cd')) continue;
      parts.push({ drive: option, device, bus });
    } else if (where === 'virtio' && !cdrom) parts.push({ drive: option, bus: 'virtio', note: 'if=virtio: a virtio-blk-pci disk' });
    else if (where === 'ide') parts.push({ drive: option, bus: cdrom ? 'cdrom' : 'sata', note: `${option.props.has('if') ? 'if=ide' : "no if=: QEMU's default, IDE"}, which on Q35 is a port of the ICH9 AHCI (ide.N): boot-vm's sata` });
    else if (where === 'scsi' && !cdrom) parts.push({ drive: option, bus: 'scsi', note: 'if=scsi: a scsi-hd on virtio-scsi-pci (QEMU would have made an LSI controller)' });
  }
  // Drives given an index= go in that order, as QEMU numbers the ports.
  const indexOf = (part: DiskParts) => (part.bus === 'sata' || part.bus === 'cdrom' ? parseNumber(part.drive.props.get('index')) : undefined) ?? Number.MAX_SAFE_INTEGER;
  parts.sort((a, b) => indexOf(a) - indexOf(b));
  for (const part of parts) {
    const { drive, device } = part;
    const entry: Record<string, unknown> = { path: drive.props.get('file') };
    const comments: Record<string, string> = { path: describeSource(at(drive, `${drive.words[0]} ${drive.name === '-drive' ? `file=${drive.props.get('file')}` : drive.value}`)) };
    const driveLeft: string[] = [];
    const deviceLeft: string[] = [];
    const set = (name: string, value: unknown, option: ParsedOption, key: string, list: string[]) => {
      if (value === undefined || refused(draft, option, [part.bus === 'cdrom' ? 'cdroms' : 'disks', 0, name], value, key)) list.push(key);
      else {
        entry[name] = value;
        comments[name] = describeSource(at(option, propText(option, key)));
      }
    };
    if (part.bus !== 'cdrom') {
      const format = drive.props.get('format');
      if (format === undefined) {
        entry.format = /\.qcow2$/.test(String(entry.path)) ? 'qcow2' : 'raw';
        comments.format = `no format= (line ${drive.line}): QEMU guessed it from the contents; ${entry.format} from the file name`;
        draft.warn(drive.line, `${entry.path}: no format=, QEMU probed it; the profile says ${entry.format} (check it: a wrong format reads the image as garbage)`);
      } else set('format', format, drive, 'format', driveLeft);
      entry.bus = part.bus;
      comments.bus = part.note ? `${part.note} (line ${drive.line})` : describeSource(at(device!, `-device ${device!.head}`));
    }
    for (const key of drive.order) {
      const value = drive.props.get(key);
      if (!DRIVE_KNOWN.has(key)) driveLeft.push(key);
      else if (part.bus === 'cdrom' && !['file', 'if', 'id', 'media', 'index', 'readonly', 'format'].includes(key)) driveLeft.push(key);
      else if (key === 'cache' || key === 'aio') set(key, value, drive, key, driveLeft);
      else if (key === 'discard') set('discard', value === 'unmap' || value === 'on' ? true : value === 'ignore' || value === 'off' ? false : undefined, drive, key, driveLeft);
      else if (key === 'readonly' && part.bus !== 'cdrom') set('readonly', parseBool(value), drive, key, driveLeft);
      else if (key === 'serial') set('serial', value, drive, key, driveLeft);
      else if (key === 'format' && part.bus === 'cdrom' && value !== 'raw') driveLeft.push(key);
    }
    for (const key of device?.order ?? []) {
      const value = device!.props.get(key);
      if (!DEVICE_KNOWN.has(key)) deviceLeft.push(key);
      else if (key === 'bootindex') set('bootIndex', parseNumber(value), device!, key, deviceLeft);
      else if (key === 'serial' && part.bus !== 'cdrom') set('serial', value, device!, key, deviceLeft);
      else if (key === 'iothread' && part.bus !== 'cdrom') set('iothread', iothreadIndex.get(value ?? ''), device!, key, deviceLeft);
    }
    const list = part.bus === 'cdrom' ? 'cdroms' : 'disks';
    const fallback = [...drive.words, ...(device?.words ?? [])];
    const index = draft.push(list, entry, comments, sourceOf(drive), fallback);
    if (index === undefined) continue;
    used.add(drive);
    if (device) used.add(device);
    const prefix = part.bus === 'cdrom' ? 'cd' : 'disk';
    setProps(draft, drive, 'drive', `drive-${prefix}${index}`, driveLeft);
    if (device) setProps(draft, device, 'device', `${prefix}${index}`, deviceLeft);
  }
}

function importNetwork(draft: Draft, options: ParsedOption[], netdevs: Map<string, ParsedOption>, used: Set<ParsedOption>, context: Context): void {
  const none = options.filter((option) => (option.name === '-net' || option.name === '-nic') && option.head === 'none');
  none.forEach((option) => {
    used.add(option);
    draft.note(option.line, `${sourceOf(option).text}: no network card (network: [])`);
  });
  const cards: { device?: ParsedOption; backend?: ParsedOption; model?: string }[] = [];
  for (const option of options) {
    if (option.name === '-device' && NIC_MODELS[option.head ?? ''] && option.props.get('netdev') !== undefined) cards.push({ device: option, backend: netdevs.get(option.props.get('netdev')!), model: option.head });
    if (option.name === '-nic' && option.head !== 'none') cards.push({ backend: option, model: option.props.get('model') ?? 'e1000e' });
  }
  // The old -net pairs: each `-net nic` with the back end given after it.
  const nics = options.filter((option) => option.name === '-net' && option.head === 'nic');
  const backs = options.filter((option) => option.name === '-net' && option.head !== 'nic' && option.head !== 'none');
  nics.forEach((nic, i) => cards.push({ device: nic, ...(backs[i] ? { backend: backs[i] } : {}), model: nic.props.get('model') ?? 'e1000e' }));
  if (nics.length > 0) draft.modernise(nics[0]!.line, '-net nic + -net <back end> → -netdev + -device');
  if (cards.length === 0 && none.length === 0 && !context.nodefaults && !options.some((option) => option.name === '-netdev')) {
    draft.push('network', { model: 'e1000e', user: {} }, { model: "no network option and no -nodefaults: QEMU's default card, an e1000e on user-mode networking" }, { text: '(no network option)', line: 0 }, []);
    return;
  }
  for (const card of cards) {
    const model = NIC_MODELS[card.model ?? ''];
    const backend = card.backend;
    const type = backend?.name === '-net' || backend?.name === '-nic' || backend?.name === '-netdev' ? backend.head : undefined;
    if (!model || !backend || !['tap', 'bridge', 'user'].includes(type ?? '')) continue;
    const entry: Record<string, unknown> = { model };
    const first = card.device ?? backend;
    const comments: Record<string, string> = { model: describeSource(at(first, card.device?.name === '-device' ? `-device ${card.device.head}` : `model=${card.model}`)) };
    const deviceLeft: string[] = [];
    const backendLeft: string[] = [];
    const macKey = card.device?.name === '-net' ? 'macaddr' : 'mac';
    const front = card.device ?? backend;
    for (const key of front.order) {
      const value = front.props.get(key);
      if (key === macKey) {
        entry.mac = value;
        comments.mac = describeSource(at(front, propText(front, key)));
      } else if (key === 'bootindex' && card.device?.name === '-device') {
        entry.bootIndex = parseNumber(value);
        comments.bootIndex = describeSource(at(front, propText(front, key)));
      } else if (front !== backend && !['netdev', 'id', 'bus', 'addr', 'model', 'vlan'].includes(key)) deviceLeft.push(key);
    }
    const backendProps: Record<string, unknown> = {};
    for (const key of backend.order) {
      const value = backend.props.get(key);
      const source = describeSource(at(backend, propText(backend, key)));
      if (['id', 'model', 'vlan', 'netdev', macKey].includes(key) && (key !== macKey || backend === front)) continue;
      if (type === 'tap' && (key === 'ifname' || key === 'script' || key === 'downscript')) {
        backendProps[key] = key !== 'ifname' && value === 'no' ? false : value;
        comments[`tap.${key}`] = source;
      } else if (type === 'tap' && key === 'vhost' && parseBool(value) !== undefined) {
        backendProps.vhost = parseBool(value);
        comments['tap.vhost'] = source;
      } else if (type === 'bridge' && key === 'br') {
        backendProps.name = value;
        comments['bridge.name'] = source;
      } else backendLeft.push(key);
    }
    if (type === 'bridge' && backendProps.name === undefined) backendProps.name = 'br0';
    entry[type!] = backendProps;
    comments[type!] ??= describeSource(at(backend, `${backend.name} ${type}`));
    const index = draft.push('network', entry, comments, sourceOf(front), [...(card.backend?.words ?? []), ...(card.device?.words ?? [])]);
    if (index === undefined) continue;
    used.add(backend);
    if (card.device) used.add(card.device);
    if (backend.name === '-nic') draft.modernise(backend.line, `${sourceOf(backend).text} → -netdev ${type} + -device`);
    setProps(draft, backend, 'netdev', `net${index}`, backendLeft);
    setProps(draft, front, 'device', `nic${index}`, deviceLeft);
  }
}

function importSharedMemory(draft: Draft, devices: ParsedOption[], objects: Map<string, ParsedOption>, used: Set<ParsedOption>): void {
  for (const device of devices.filter((option) => option.head === 'ivshmem-plain')) {
    const backend = objects.get(device.props.get('memdev') ?? '');
    const path = backend?.props.get('mem-path');
    const size = parseQemuSize(backend?.props.get('size') ?? '', 'B');
    if (!backend || backend.head !== 'memory-backend-file' || path === undefined || size === undefined) continue;
    const shm = /^\/dev\/shm\/([A-Za-z0-9][A-Za-z0-9_.-]{0,63})$/.exec(path)?.[1];
    const name = shm ?? (basename(path).replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'shared');
    // A backend property without a key cannot follow (no -set for objects): then both stay verbatim.
    if (backend.order.some((key) => !['id', 'mem-path', 'size', 'share'].includes(key))) continue;
    const entry: Record<string, unknown> = { name, size: formatSize(size), ...(shm ? {} : { path }) };
    const comments: Record<string, string> = { name: describeSource(at(backend, `mem-path=${path}`)), size: describeSource(at(backend, `size=${backend.props.get('size')}`)) };
    if (!shm) comments.path = comments.name!;
    const index = draft.push('sharedMemory', entry, comments, sourceOf(device), [...backend.words, ...device.words]);
    if (index === undefined) continue;
    used.add(device);
    used.add(backend);
    setProps(draft, device, 'device', `ivshmem-${name}`, device.order.filter((key) => !['memdev', 'id', 'bus', 'addr'].includes(key)));
  }
}

function importUsb(draft: Draft, options: ParsedOption[], used: Set<ParsedOption>): void {
  for (const option of options.filter((device) => device.name === '-device' && device.head === 'usb-host')) {
    const { props } = option;
    const id = (key: string) => {
      const number = parseNumber(props.get(key));
      return number === undefined ? undefined : number.toString(16).padStart(4, '0');
    };
    const source = describeSource(sourceOf(option));
    let entry: Record<string, unknown> | undefined;
    let known: string[] = [];
    if (props.has('vendorid') && props.has('productid')) {
      entry = { vendor: id('vendorid'), product: id('productid') };
      known = ['vendorid', 'productid'];
    } else if (props.has('hostbus') && props.has('hostport')) {
      entry = { bus: parseNumber(props.get('hostbus')), port: props.get('hostport') };
      known = ['hostbus', 'hostport'];
    }
    const left = option.order.filter((key) => !known.includes(key) && !['bus', 'id', 'port'].includes(key));
    if (!entry || left.length > 0) continue;
    const index = draft.push('usb', entry, Object.fromEntries(Object.keys(entry).map((key) => [key, source])), sourceOf(option), option.words);
    if (index !== undefined) used.add(option);
  }
}

function importInput(draft: Draft, options: ParsedOption[], used: Set<ParsedOption>): void {
  for (const option of options.filter((object) => object.name === '-object' && object.head === 'input-linux')) {
    const entry: Record<string, unknown> = { evdev: option.props.get('evdev') };
    const comments: Record<string, string> = { evdev: describeSource(at(option, `-object input-linux,evdev=${option.props.get('evdev')}`)) };
    let unknown = false;
    for (const key of option.order) {
      const value = option.props.get(key);
      const name = key === 'grab_all' ? 'grabAll' : key === 'repeat' ? 'repeat' : key === 'grab-toggle' ? 'toggle' : undefined;
      if (key === 'id' || key === 'evdev') continue;
      if (name === undefined) unknown = true;
      else {
        entry[name] = name === 'toggle' ? value : parseBool(value);
        comments[name] = describeSource(at(option, propText(option, key)));
      }
    }
    if (unknown) continue;
    if (draft.push('input', entry, comments, sourceOf(option), option.words) !== undefined) used.add(option);
  }
}

function importTpm(draft: Draft, devices: ParsedOption[], tpmdevs: Map<string, ParsedOption>, chardevs: Map<string, ParsedOption>, used: Set<ParsedOption>): void {
  const device = devices.find((option) => (option.head === 'tpm-tis' || option.head === 'tpm-crb') && option.props.get('tpmdev') !== undefined);
  const tpmdev = device && tpmdevs.get(device.props.get('tpmdev')!);
  const chardev = tpmdev?.head === 'emulator' ? chardevs.get(tpmdev.props.get('chardev') ?? '') : undefined;
  if (!device || !tpmdev || !chardev) return;
  const model = device.head === 'tpm-tis' ? 'tpm-tis' : undefined;
  draft.set(['tpm'], model ? { model } : true, sourceOf(device), undefined, `${describeSource(sourceOf(device))} on swtpm (${sourceOf(chardev).text}): boot-vm starts swtpm itself, its state in /var/lib/boot-vm/tpm/<name> unless tpm.stateDir`);
  [device, tpmdev, chardev].forEach((option) => used.add(option));
  draft.warn(chardev.line, `${sourceOf(chardev).text}: the script's own swtpm (and the TPM state it keeps) is not used; boot-vm manufactures and starts one (set tpm.stateDir to the old state directory to keep that TPM)`);
}

function importQmp(draft: Draft, options: ParsedOption[], chardevs: Map<string, ParsedOption>, used: Set<ParsedOption>): void {
  for (const mon of options.filter((option) => option.name === '-mon' && option.props.get('mode') === 'control')) {
    const chardev = chardevs.get(mon.props.get('chardev') ?? '');
    const path = chardev?.head === 'socket' ? chardev.props.get('path') : undefined;
    if (!chardev || path === undefined || draft.get(['qmp']) !== undefined) continue;
    if (draft.set(['qmp'], path, sourceOf(chardev))) {
      used.add(mon);
      used.add(chardev);
    }
  }
}

function importFirmware(draft: Draft, options: ParsedOption[], used: Set<ParsedOption>): void {
  const pflash = options.filter((option) => option.name === '-drive' && option.props.get('if') === 'pflash' && option.props.get('file') !== undefined);
  const bios = options.find((option) => option.name === '-bios');
  if (pflash.length === 2) {
    const [code, vars] = [...pflash].sort((a, b) => (parseBool(b.props.get('readonly')) ? 1 : 0) - (parseBool(a.props.get('readonly')) ? 1 : 0)) as [ParsedOption, ParsedOption];
    draft.set(['firmware', 'type'], 'ovmf', sourceOf(code), undefined, `${describeSource(at(code, '-drive if=pflash'))}: UEFI`);
    draft.set(['firmware', 'code'], code.props.get('file'), at(code, `file=${code.props.get('file')}`));
    draft.set(['firmware', 'vars'], vars.props.get('file'), at(vars, `file=${vars.props.get('file')}`), undefined, `${describeSource(at(vars, `file=${vars.props.get('file')}`))}: this VM's variable store, used as it is`);
    // boot-vm needs the template a store is made from when the file is missing; OVMF ships them in pairs named alike.
    const template = code.props.get('file')!.replace(/CODE/g, 'VARS').replace(/code/g, 'vars');
    if (template !== code.props.get('file')) draft.set(['firmware', 'varsTemplate'], template, at(code, `file=${code.props.get('file')}`), undefined, `the template named like the code file (line ${code.line}), for when the variable store is missing: check it`);
    pflash.forEach((option) => used.add(option));
    for (const option of pflash) {
      const left = option.order.filter((key) => !['if', 'format', 'unit', 'readonly', 'file'].includes(key) && !(key === 'format' && option.props.get(key) === 'raw'));
      if (left.length > 0) keepProps(draft, option, '-drive', left);
    }
  } else if (pflash.length === 1 || (bios && /ovmf|edk2|efi/i.test(bios.value ?? ''))) {
    const option = pflash[0] ?? bios!;
    const file = option.props.get('file') ?? option.value;
    draft.set(['firmware', 'type'], 'ovmf', sourceOf(option), undefined, `${describeSource(sourceOf(option))}: one combined OVMF image, its UEFI settings lost at every start; boot-vm boots split pflash (code from the host's firmware descriptors, a variable store of this VM's own)`);
    draft.warn(option.line, `${file}: a combined OVMF image; boot-vm uses the host's split OVMF code and a variable store of this VM's own (firmware.code to choose the code file)`);
    draft.modernise(option.line, `${sourceOf(option).text} → -drive if=pflash (code, read-only) + -drive if=pflash (this VM's variables)`);
    used.add(option);
  }
}

function importBootOrder(draft: Draft, options: ParsedOption[], used: Set<ParsedOption>): void {
  const boot = options.find((option) => option.name === '-boot');
  if (!boot) return;
  const order = boot.head ?? boot.props.get('order');
  const left = boot.order.filter((key) => key !== 'order');
  const lists = { c: 'disks', d: 'cdroms', n: 'network' } as const;
  const already = (['disks', 'cdroms', 'network'] as const).some((list) => ((draft.get([list]) as { bootIndex?: number }[] | undefined) ?? []).some((entry) => entry.bootIndex !== undefined));
  if (order !== undefined && /^[cdn]+$/.test(order) && !already && [...order].every((letter) => draft.get([lists[letter as 'c' | 'd' | 'n'], 0]) !== undefined)) {
    [...order].forEach((letter, i) => {
      const list = lists[letter as 'c' | 'd' | 'n'];
      draft.set([list, 0, 'bootIndex'], i + 1, at(boot, `-boot ${order}`), undefined, `-boot ${order} (line ${boot.line}): ${letter} → the first of ${list}, boot position ${i + 1}`);
    });
    draft.modernise(boot.line, `-boot order=${order} → bootindex= on the devices (what SeaBIOS and OVMF both honour)`);
    used.add(boot);
    if (left.length > 0) keepProps(draft, boot, '-boot', left);
  } else if (order === undefined) {
    used.add(boot);
    keepProps(draft, boot, '-boot', left);
  }
}
