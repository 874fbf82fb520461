// The round trip's yardstick: a QEMU command line reduced to facts ("vfio-pci 0000:01:00.0 x-vga=on",
// "memory size=8589934592"), each written the same way whatever the spelling. The original
// script's facts must all be among the planned command's; every way the two may differ is in
// MODERNISED or BOOT_VM_DECIDES below, and nowhere else.
import { parseCpuList } from '../../lib/cpu-list.js';
import { parseOption, type ParsedOption } from '../../lib/import/parsed-option.js';
import { groupOptions, parseBool, parseNumber, parseQemuSize } from '../../lib/import/qemu-props.js';

export interface CommandFacts {
  facts: Set<string>;
  taskset?: string;
  chrt?: string;
}

/**
 * Old spellings the import writes in today's form, as the issue allows: each rewrites an
 * original option into the form boot-vm plans, before facts are taken.
 */
export const MODERNISED: Record<string, string> = {
  '-enable-kvm': '-machine accel=kvm',
  '-accel X': '-machine accel=X',
  '-realtime mlock=on': '-overcommit mem-lock=on',
  '-no-hpet': '-machine hpet=off',
  '-localtime': '-rtc base=localtime',
  '-mem-prealloc': 'prealloc=on on the memory backend',
  '-mem-path P': 'mem-path=P on the memory backend',
  'hv_x': 'hv-x=on',
  'kernel_irqchip': 'kernel-irqchip',
  'ioh3420': 'pcie-root-port',
  '-boot order=…': 'bootindex= on the devices, in that order',
  '-bios OVMF.fd': 'two -drive if=pflash',
  '-drive without if=': 'if=ide, on Q35 an ide-hd/ide-cd on the ICH9 AHCI',
  '-cdrom/-hdX': '-drive if=ide',
  '-net nic + -net X, -nic X': '-netdev X + -device',
  '-vnc A / -sdl / -nographic': '-display vnc=A / sdl / none',
  '-qmp unix:P': '-chardev socket,path=P + -mon mode=control',
  '-soundhw hda': '-device intel-hda -device hda-duplex',
  'PIIX4_PM.disable_sN': 'ICH9-LPC.disable_sN',
  '-cpu prop (no profile key)': '-global <model>-x86_64-cpu.prop',
  'mlock=off / mem-lock=off': "nothing: QEMU's default",
  '-device VGA / virtio-vga / qxl-vga': '-vga std / virtio / qxl',
};

/**
 * What boot-vm adds or decides itself: -name, -nodefaults, -no-user-config, its QMP socket and
 * pidfile when the script had none, one root port per card (ids, chassis, ports and addresses
 * renumbered), device and drive ids, the AHCI port a drive sits on, hv flags another flag
 * needs, and the memory backend's attachment (-numa node,memdev= of a single node).
 */
export const BOOT_VM_DECIDES = ['the USB controller of usb-host devices', 'the virtio-scsi-pci controller', '-name', '-nodefaults', '-no-user-config', '-serial none', '-parallel none', '-monitor none', '-net none', '-nic none', 'root ports', 'bus=', 'addr=', 'id=', 'multifunction=', 'drive=', 'index=', 'if=', 'unit=', 'media=disk', '-numa node,memdev='];

/** Not a spelling but a change, which the import warns about: boot-vm plans the Q35 machine only. */
export const REPLACED_MACHINES = /^(pc|pc-i440fx-[\d.]+|pc-[\d.]+)$/;

const PLACEMENT = new Set(['bus', 'addr', 'id', 'multifunction', 'drive', 'index', 'if', 'unit', 'netdev', 'memdev', 'chassis', 'port']);

const normalValue = (value: string | undefined): string => {
  if (value === undefined) return 'on';
  const bool = parseBool(value);
  if (bool !== undefined && !/^[01]$/.test(value)) return bool ? 'on' : 'off';
  const number = parseNumber(value);
  return number !== undefined ? String(number) : value;
};

const normalPci = (host: string) => (/^[0-9a-f]{4}:/i.test(host) ? host : `0000:${host}`).toLowerCase();

interface Drive {
  file: string;
  props: Map<string, string | undefined>;
  driver: string;
  bootindex?: string;
}

export function commandFacts(words: string[], prefix: string[] = []): CommandFacts {
  const facts = new Set<string>();
  const add = (subject: string, key: string, value: string | undefined) => facts.add(`${subject} ${key}=${normalValue(value)}`);
  const options = groupOptions(words.map((text) => ({ text, line: 0 }))).map(parseOption);
  const ids = (name: string) => new Map(options.filter((o) => o.name === name && o.props.get('id')).map((o) => [o.props.get('id')!, o]));
  const objects = ids('-object');
  const netdevs = ids('-netdev');
  const chardevs = ids('-chardev');
  const iothreads = options.filter((o) => o.name === '-object' && o.head === 'iothread').map((o) => o.props.get('id'));
  const used = new Set<ParsedOption>();
  // -set group.id.key=value: a property of the option with that id.
  for (const option of options.filter((o) => o.name === '-set')) {
    const match = /^(\w+)\.([^.]+)\.([^=]+)=(.*)$/.exec(option.value ?? '')!;
    const target = options.find((o) => o.name === `-${match[1]}` && o.props.get('id') === match[2]);
    if (target) {
      target.props.set(match[3]!, match[4]);
      used.add(option);
    }
  }
  const memoryBackends = options.filter((o) => o.name === '-object' && /^memory-backend-/.test(o.head ?? '') && !options.some((d) => d.head === 'ivshmem-plain' && d.props.get('memdev') === o.props.get('id')));
  const legacyNics: ParsedOption[] = [];
  const legacyBackends: ParsedOption[] = [];
  let nics = 0;
  // A network card by its order: its model (virtio → virtio-net-pci), back end and their properties.
  const nic = (model: string, type: string, backend: Map<string, string | undefined>, front: Map<string, string | undefined>) => {
    const subject = `nic #${nics++}`;
    add(subject, 'model', model === 'virtio' || model === 'virtio-net' ? 'virtio-net-pci' : model);
    add(subject, 'type', type);
    for (const [key, value] of [...backend, ...front]) {
      if (PLACEMENT.has(key) || key === 'model' || key === 'vlan') continue;
      if (key === 'mac' || key === 'macaddr') facts.add(`${subject} mac=${value!.toLowerCase()}`);
      else add(subject, key, value);
    }
  };
  const drives: Drive[] = [];
  const bootOrder: string[] = [];
  let bootLetters: string | undefined;
  let pflash = 0;

  for (const option of options) {
    if (used.has(option)) continue;
    const props = [...option.props.entries()].filter(([key]) => !PLACEMENT.has(key));
    switch (option.name) {
      case '-name':
      case '-nodefaults':
      case '-no-user-config':
      case '-S':
        break;
      case '-enable-kvm':
        add('machine', 'accel', 'kvm');
        break;
      case '-accel':
        add('machine', 'accel', option.head);
        break;
      case '-M':
      case '-machine': {
        const type = option.head ?? option.props.get('type');
        if (type) add('machine', 'type', REPLACED_MACHINES.test(type) ? 'q35' : type);
        for (const [key, value] of props) if (key !== 'type' && key !== 'memory-backend') add('machine', key.replaceAll('_', '-'), value);
        break;
      }
      case '-no-hpet':
        add('machine', 'hpet', 'off');
        break;
      case '-cpu':
        add('cpu', 'model', option.head);
        for (const [key, value] of props) {
          const plain = key.replace(/^[+-]/, '').replace(/^hv_/, 'hv-').replace(/^(hv-.*)$/, (name) => name.replaceAll('_', '-'));
          add('cpu', plain, key.startsWith('-') ? 'off' : key.startsWith('+') ? 'on' : value);
        }
        break;
      case '-smp':
        if (option.head ?? option.props.get('cpus')) add('smp', 'cpus', option.head ?? option.props.get('cpus'));
        for (const [key, value] of props) if (key !== 'cpus') add('smp', key, value);
        break;
      case '-m':
        if (option.head ?? option.props.get('size')) add('memory', 'size', String(parseQemuSize(option.head ?? option.props.get('size')!, 'M')));
        for (const [key, value] of props) if (key !== 'size') add('memory', key, value);
        break;
      case '-mem-prealloc':
        add('memory', 'prealloc', 'on');
        break;
      case '-mem-path':
        add('memory', 'mem-path', option.value);
        break;
      case '-realtime':
      case '-overcommit':
        // mem-lock=off is QEMU's own default, which boot-vm leaves unsaid.
        for (const [key, value] of props) if (normalValue(value) !== 'off' || (key !== 'mlock' && key !== 'mem-lock')) add('overcommit', key === 'mlock' ? 'mem-lock' : key, value);
        break;
      case '-localtime':
        add('rtc', 'base', 'localtime');
        break;
      case '-rtc':
        for (const [key, value] of props) add('rtc', key, value);
        break;
      case '-global': {
        const match = /^([^.=,]+)\.([^=]+)=(.*)$/.exec(option.value ?? '');
        if (match && /-x86_64-cpu$/.test(match[1]!)) add('cpu', match[2]!, match[3]);
        else if (match) add(`global ${match[1] === 'PIIX4_PM' ? 'ICH9-LPC' : match[1]}`, match[2]!, match[3]);
        else facts.add(`-global ${option.value}`);
        break;
      }
      case '-boot':
        bootLetters = option.head ?? option.props.get('order');
        for (const [key, value] of props) if (key !== 'order') add('boot', key, value);
        break;
      case '-bios':
        facts.add('firmware ovmf');
        break;
      case '-vga':
        add('vga', 'type', option.value);
        break;
      case '-display':
        add('display', 'type', option.props.has('vnc') ? `vnc=${option.props.get('vnc')}` : option.head);
        break;
      case '-soundhw':
        if (option.value === 'hda') ['intel-hda', 'hda-duplex'].forEach((device) => facts.add(`device ${device}`));
        else facts.add(`-soundhw ${option.value}`);
        break;
      case '-vnc':
        add('display', 'type', `vnc=${option.value}`);
        break;
      case '-sdl':
        add('display', 'type', 'sdl');
        break;
      case '-nographic':
        add('display', 'type', 'none');
        break;
      case '-serial':
      case '-parallel':
      case '-monitor':
        if (option.value !== 'none') facts.add(`${option.name} ${option.value}`);
        break;
      case '-qmp':
        facts.add(`qmp ${/^unix:([^,]+)/.exec(option.value ?? '')?.[1] ?? option.value}`);
        break;
      case '-mon': {
        const chardev = chardevs.get(option.props.get('chardev') ?? '');
        if (option.props.get('mode') === 'control' && chardev) facts.add(`qmp ${chardev.props.get('path')}`);
        break;
      }
      case '-chardev':
      case '-netdev':
      case '-tpmdev':
        break;
      case '-numa':
        // One node on the one RAM backend is how old QEMU attached it; boot-vm uses -machine memory-backend=.
        if (!(option.props.get('memdev') && memoryBackends.length === 1 && [...option.props.keys()].every((key) => key === 'memdev' || key === 'nodeid'))) facts.add(`-numa ${option.value}`);
        break;
      case '-object':
        if (memoryBackends.includes(option)) {
          if (option.head !== 'memory-backend-ram') facts.add(`memory backend=${option.head}`);
          for (const [key, value] of props) add('memory', key, key === 'size' ? String(parseQemuSize(value!, 'B')) : value);
        } else if (option.head === 'iothread') facts.add('iothread');
        else if (option.head === 'input-linux') for (const [key, value] of props) add(`input-linux ${option.props.get('evdev')}`, key, value);
        else if (!/^memory-backend-/.test(option.head ?? '')) facts.add(`-object ${option.value}`);
        break;
      case '-cdrom':
      case '-hda':
      case '-hdb':
      case '-hdc':
      case '-hdd':
        drives.push({ file: option.value!, props: new Map([['format', undefined]]), driver: option.name === '-cdrom' ? 'ide-cd' : 'ide-hd' });
        break;
      case '-drive': {
        const where = option.props.get('if') ?? 'ide';
        if (where === 'pflash') {
          pflash++;
          add(`pflash ${parseBool(option.props.get('readonly')) ? 'code' : 'vars'}`, 'file', option.props.get('file'));
          break;
        }
        if (where === 'none') break;
        const cdrom = option.props.get('media') === 'cdrom';
        const driver = where === 'virtio' ? 'virtio-blk-pci' : where === 'scsi' ? 'scsi-hd' : cdrom ? 'ide-cd' : 'ide-hd';
        drives.push({ file: option.props.get('file')!, props: option.props, driver });
        break;
      }
      case '-nic':
        if (option.head !== 'none') nic(option.props.get('model') ?? 'e1000e', option.head!, option.props, option.props);
        break;
      case '-net':
        if (option.head === 'nic') legacyNics.push(option);
        else if (option.head !== 'none') legacyBackends.push(option);
        break;
      case '-device': {
        const driver = option.head === 'ioh3420' ? 'pcie-root-port' : option.head!;
        const vga = { VGA: 'std', 'virtio-vga': 'virtio', 'qxl-vga': 'qxl' }[driver];
        if (vga && props.length === 0) {
          add('vga', 'type', vga);
          break;
        }
        if (driver === 'pcie-root-port' || driver === 'virtio-scsi-pci' || (/xhci|ehci|uhci/.test(driver) && options.some((o) => o.head === 'usb-host'))) break;
        const drive = option.props.get('drive');
        if (drive !== undefined) {
          const backend = options.find((o) => o.name === '-drive' && o.props.get('id') === drive)!;
          const merged = new Map([...backend.props, ...option.props]);
          const iothread = option.props.get('iothread');
          if (iothread !== undefined) merged.set('iothread', String(iothreads.indexOf(iothread)));
          drives.push({ file: backend.props.get('file')!, props: merged, driver });
          break;
        }
        const netdev = netdevs.get(option.props.get('netdev') ?? '');
        if (netdev) {
          nic(driver, netdev.head!, netdev.props, option.props);
          if (option.props.get('bootindex') !== undefined) bootOrder[Number(option.props.get('bootindex'))] = 'n';
          break;
        }
        if (driver === 'vfio-pci') {
          for (const [key, value] of props) add(`vfio-pci ${normalPci(option.props.get('host')!)}`, key, key === 'host' ? normalPci(value!) : value);
          break;
        }
        if (driver === 'ivshmem-plain') {
          const backend = objects.get(option.props.get('memdev') ?? '')!;
          add(`ivshmem ${backend.props.get('mem-path')}`, 'size', String(parseQemuSize(backend.props.get('size')!, 'B')));
          break;
        }
        if (driver === 'tpm-crb' || driver === 'tpm-tis') {
          facts.add(`tpm ${driver}`);
          break;
        }
        const subject = driver === 'usb-host' ? `usb-host ${props.map(([key, value]) => `${key}=${normalValue(value)}`).join(',')}` : `device ${driver}`;
        if (props.length === 0) facts.add(subject);
        for (const [key, value] of props) add(subject, key, value);
        break;
      }
      default:
        facts.add(`${option.words.join(' ')}`);
    }
  }
  legacyNics.forEach((front, i) => nic(front.props.get('model') ?? 'e1000e', legacyBackends[i]?.head ?? 'user', legacyBackends[i]?.props ?? new Map(), front.props));
  // The controller usb-host devices hang on is boot-vm's own qemu-xhci.
  if (options.some((o) => o.head === 'usb-host')) facts.delete('-usb');
  if (pflash > 0) facts.add('firmware ovmf');
  for (const drive of drives) {
    const subject = `drive ${drive.file}`;
    add(subject, 'driver', drive.driver);
    for (const [key, value] of drive.props) {
      if (PLACEMENT.has(key) || key === 'file' || (key === 'media' && value === 'disk') || (key === 'format' && value === undefined)) continue;
      add(subject, key === 'serial' ? 'serial' : key, value);
    }
    const bootindex = drive.props.get('bootindex');
    if (bootindex !== undefined) bootOrder[Number(bootindex)] = drive.driver === 'ide-cd' ? 'd' : 'c';
  }
  // -boot order=dc: the first CD-ROM, then the first disk; with bootindex= the same order is per device.
  if (bootLetters !== undefined) facts.add(`boot order=${bootLetters}`);
  else if (bootOrder.length > 0) facts.add(`boot order=${bootOrder.filter(Boolean).join('')}`);
  const wrappers = parseWrappers(prefix);
  return { facts, ...wrappers };
}

/** `chrt -r 1 taskset -c 2-3` (as boot-vm writes them) → the CPU set and policy. */
function parseWrappers(words: string[]): { taskset?: string; chrt?: string } {
  const result: { taskset?: string; chrt?: string } = {};
  const taskset = words.indexOf('taskset');
  if (taskset >= 0) result.taskset = parseCpuList(words[taskset + 2]!)!.join(',');
  const chrt = words.indexOf('chrt');
  if (chrt >= 0) result.chrt = `${{ '-r': 'rr', '-f': 'fifo', '-o': 'other', '-b': 'batch', '-i': 'idle' }[words[chrt + 1]!]} ${words[chrt + 2]}`;
  return result;
}
