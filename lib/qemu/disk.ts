/**
 * Disks and CD-ROMs: each is a `-drive if=none` backend plus a `-device` front end, so the bus
 * and boot position are explicit. SATA disks and CD-ROMs share the Q35 chipset's six AHCI ports.
 */
import { arg, type Arg, type BuildInput } from './arg.js';
import { lacksMessage, supports } from './features.js';
import { diskIothread } from './iothreads.js';
import { formatProps, onOff } from './props.js';

const AHCI_PORTS = 6;

const FRONT_ENDS = { virtio: 'virtio-blk-pci', sata: 'ide-hd', scsi: 'scsi-hd', nvme: 'nvme' } as const;

export function buildDisks(input: BuildInput): Arg[] {
  const { profile, version, diagnostics } = input;
  const args: Arg[] = [];
  const paths = new Map<string, string>();
  let ahciPort = 0;
  const nextAhciPort = (key: string) => {
    if (ahciPort >= AHCI_PORTS) diagnostics.error(key, `the Q35 chipset has ${AHCI_PORTS} SATA ports and they are all taken`);
    return `ide.${ahciPort++}`;
  };
  const checkDuplicatePath = (key: string, path: string) => {
    const owner = paths.get(path);
    if (owner !== undefined) diagnostics.error(key, `duplicate device: ${owner} already uses ${path}`);
    else paths.set(path, key);
  };
  if (profile.disks.some((disk) => disk.bus === 'scsi')) {
    args.push(arg(['-device', formatProps('virtio-scsi-pci', [['id', 'scsi0']])], profile.disks.flatMap((disk, i) => (disk.bus === 'scsi' ? [`disks[${i}].bus`] : []))));
  }
  profile.disks.forEach((disk, i) => {
    const key = `disks[${i}]`;
    checkDuplicatePath(`${key}.path`, disk.path);
    if (disk.aio === 'native' && disk.cache !== 'none' && disk.cache !== 'directsync') {
      diagnostics.error(`${key}.aio`, 'native AIO needs O_DIRECT: set cache to none or directsync');
    }
    if (disk.aio === 'io_uring' && !supports(version, 'aioIoUring')) diagnostics.error(`${key}.aio`, lacksMessage(version, 'aioIoUring'));
    const drive = `drive-disk${i}`;
    const from = (['path', 'format', 'cache', 'aio', 'discard', 'readonly'] as const).filter((name) => disk[name] !== undefined && disk[name] !== false).map((name) => `${key}.${name}`);
    args.push(
      arg(
        ['-drive', formatProps(undefined, [
          ['file', disk.path],
          ['if', 'none'],
          ['id', drive],
          ['format', disk.format],
          ['cache', disk.cache],
          ['aio', disk.aio],
          ['discard', disk.discard === undefined ? undefined : disk.discard ? 'unmap' : 'ignore'],
          ['readonly', disk.readonly ? 'on' : undefined],
        ])],
        from,
      ),
    );
    const bus = disk.bus === 'sata' ? nextAhciPort(`${key}.bus`) : disk.bus === 'scsi' ? 'scsi0.0' : undefined;
    // NVMe controllers refuse to start without a serial number.
    const serial = disk.serial ?? (disk.bus === 'nvme' ? `disk${i}` : undefined);
    const iothread = diskIothread(input, i);
    args.push(
      arg(
        ['-device', formatProps(FRONT_ENDS[disk.bus], [['bus', bus], ['drive', drive], ['id', `disk${i}`], ['serial', serial], ['iothread', iothread], ['bootindex', disk.bootIndex]])],
        [`${key}.bus`, ...(disk.serial ? [`${key}.serial`] : []), ...(iothread ? [`${key}.iothread`] : []), ...(disk.bootIndex !== undefined ? [`${key}.bootIndex`] : [])],
        disk.serial === undefined && serial !== undefined ? [`serial=${serial} ← added: nvme needs a serial number`] : [],
      ),
    );
  });
  profile.cdroms.forEach((cdrom, i) => {
    const key = `cdroms[${i}]`;
    checkDuplicatePath(`${key}.path`, cdrom.path);
    const drive = `drive-cd${i}`;
    args.push(arg(['-drive', formatProps(undefined, [['file', cdrom.path], ['if', 'none'], ['id', drive], ['media', 'cdrom'], ['format', 'raw'], ['readonly', onOff(true)]])], [`${key}.path`]));
    args.push(
      arg(
        ['-device', formatProps('ide-cd', [['bus', nextAhciPort(key)], ['drive', drive], ['id', `cd${i}`], ['bootindex', cdrom.bootIndex]])],
        [key, ...(cdrom.bootIndex !== undefined ? [`${key}.bootIndex`] : [])],
      ),
    );
  });
  return args;
}
