/**
 * IO threads: `iothreads: N` makes iothread0 … iothread<N-1>, and a virtio disk with
 * `disks[].iothread: i` runs its IO in iothread<i>, off QEMU's main loop. (QEMU has had both
 * since 2.1, before the oldest version boot-vm plans for.)
 */
import { arg, type Arg, type BuildInput } from './arg.js';
import { formatProps } from './props.js';

export const iothreadId = (index: number) => `iothread${index}`;

export function buildIothreads({ profile }: BuildInput): Arg[] {
  return Array.from({ length: profile.iothreads }, (_, i) => {
    const users = profile.disks.flatMap((disk, d) => (disk.iothread === i ? [`disks[${d}]`] : []));
    return arg(['-object', formatProps('iothread', [['id', iothreadId(i)]])], ['iothreads'], [users.length > 0 ? `IO of ${users.join(', ')}` : 'no disk names it (disks[].iothread)']);
  });
}

/** The `iothread=` a disk's front end takes, after checking the disk may have one. */
export function diskIothread({ profile, diagnostics }: BuildInput, index: number): string | undefined {
  const disk = profile.disks[index]!;
  if (disk.iothread === undefined) return undefined;
  const key = `disks[${index}].iothread`;
  if (disk.bus !== 'virtio') diagnostics.error(key, `only virtio disks take an IO thread (this one is on ${disk.bus})`);
  else if (disk.iothread >= profile.iothreads) diagnostics.error(key, `there are only ${profile.iothreads} IO threads (iothreads: ${profile.iothreads})`);
  return iothreadId(disk.iothread);
}
