/** The `<devices>` of the libvirt domain: disks, controllers, NICs, input, display, passed-through devices, TPM, shared memory. */
import { formatPciAddress } from '../pci-address.js';
import { OWNED_MODE } from '../plan/steps/shared-memory.js';
import type { Disk, Profile } from '../profile/schema.js';
import { rootPortId } from '../qemu/pcie.js';
import { formatProps } from '../qemu/props.js';
import { sharedRegions, type SharedRegion } from '../qemu/shared-memory.js';
import { tpmPaths } from '../qemu/tpm.js';
import { formatSize } from '../size.js';
import { DEFAULT_BINARY, hex4, hexByte, pciAddress, type Context, type Override } from './libvirt-context.js';
import { comment, el, textEl, type XmlElement, type XmlNode } from './xml.js';

export function devicesElement(context: Context, emulator: string | undefined): XmlElement {
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
