/**
 * Memory shared between the guest and a host program: Looking Glass's frames, Scream's audio. Each
 * region is a memory-backend-file (a /dev/shm file, or a device of the kvmfr module, /dev/kvmfrN,
 * through which Looking Glass can use the GPU's DMA) behind an ivshmem-plain PCI device.
 */
import type { Profile } from '../profile/schema.js';
import { formatSize, powerOfTwoAtLeast } from '../size.js';
import { arg, type Arg, type BuildInput } from './arg.js';
import { formatProps } from './props.js';

const MIB = 1 << 20;
/** The kvmfr module makes at most this many devices (KVMFR_MAX_DEVICES). */
export const KVMFR_MAX_DEVICES = 10;

export interface SharedRegion {
  /** The profile entry: `lookingGlass` or `sharedMemory[1]`. */
  key: string;
  name: string;
  /** The file or device QEMU maps, and the key it comes from. */
  path: string;
  pathKey: string;
  size: number;
  /** How the size was computed (Looking Glass), for --explain. */
  sizeNote?: string;
  /** `user[:group]` as written. */
  owner?: string;
  mode?: number;
  /** N of /dev/kvmfrN: a kvmfr device, not a file. */
  kvmfr?: number;
  /** The keys QEMU's arguments come from. */
  from: string[];
}

const KVMFR_PATH = /^\/dev\/kvmfr(\d+)$/;

const mib = (bytes: number) => `${Number.isInteger(bytes / MIB) ? bytes / MIB : (bytes / MIB).toFixed(1)} MiB`;

/**
 * Looking Glass's documented size for a resolution (SDR, 4 bytes a pixel): two frames, plus 10 MiB,
 * rounded up to a power of two: 32M for 1920x1080, 64M for 2560x1440, 128M for 3840x2160.
 */
export function lookingGlassSize(resolution: string): { size: number; note: string } {
  const [width, height] = resolution.split('x').map(Number) as [number, number];
  const frames = width * height * 4 * 2;
  const needed = frames + 10 * MIB;
  const size = powerOfTwoAtLeast(Math.ceil(needed / MIB)) * MIB;
  return { size, note: `size=${formatSize(size)} ← Looking Glass's formula for ${resolution}: ${width} × ${height} × 4 bytes × 2 frames = ${mib(frames)}, + 10 MiB = ${mib(needed)}, rounded up to a power of two` };
}

/** Every region the profile asks for, Looking Glass's first, with its path and size resolved. */
export function sharedRegions(profile: Profile): SharedRegion[] {
  const regions: SharedRegion[] = [];
  const lg = profile.lookingGlass;
  if (lg) {
    const { size, note } = lookingGlassSize(lg.resolution);
    regions.push({
      key: 'lookingGlass',
      name: lg.name,
      path: lg.kvmfr ? '/dev/kvmfr0' : `/dev/shm/${lg.name}`,
      pathKey: lg.kvmfr ? 'lookingGlass.kvmfr' : 'lookingGlass.name',
      size,
      sizeNote: note,
      ...(lg.owner !== undefined ? { owner: lg.owner } : {}),
      ...(lg.mode !== undefined ? { mode: lg.mode } : {}),
      ...(lg.kvmfr ? { kvmfr: 0 } : {}),
      from: ['lookingGlass.resolution', 'lookingGlass.name', 'lookingGlass.kvmfr'],
    });
  }
  profile.sharedMemory.forEach((entry, i) => {
    const key = `sharedMemory[${i}]`;
    const path = entry.path ?? `/dev/shm/${entry.name}`;
    const kvmfr = KVMFR_PATH.exec(path)?.[1];
    regions.push({
      key,
      name: entry.name,
      path,
      pathKey: `${key}.${entry.path !== undefined ? 'path' : 'name'}`,
      size: entry.size,
      ...(entry.owner !== undefined ? { owner: entry.owner } : {}),
      ...(entry.mode !== undefined ? { mode: entry.mode } : {}),
      ...(kvmfr !== undefined ? { kvmfr: Number(kvmfr) } : {}),
      from: [`${key}.name`, `${key}.size`, ...(entry.path !== undefined ? [`${key}.path`] : [])],
    });
  });
  return regions;
}

/** Two regions on one name or one path, and kvmfr devices the module cannot make. */
function checkRegions(regions: SharedRegion[], diagnostics: BuildInput['diagnostics']): void {
  const error = (key: string, message: string) => diagnostics.error(key, message);
  const names = new Map<string, string>();
  const paths = new Map<string, string>();
  for (const region of regions) {
    const earlier = names.get(region.name);
    if (earlier !== undefined) error(`${region.key}.name`, `${earlier} already has the name ${region.name}`);
    else names.set(region.name, region.key);
    const samePath = paths.get(region.path);
    // One name is one path too (/dev/shm/<name>): said once, at the name.
    if (samePath === undefined) paths.set(region.path, region.key);
    else if (earlier === undefined) error(region.pathKey, `${samePath} already uses ${region.path}`);
    if (region.kvmfr === undefined) continue;
    if (region.kvmfr >= KVMFR_MAX_DEVICES) error(region.pathKey, `the kvmfr module makes at most ${KVMFR_MAX_DEVICES} devices, /dev/kvmfr0 to /dev/kvmfr${KVMFR_MAX_DEVICES - 1}`);
    if (region.size % MIB !== 0) error(`${region.key}.size`, `a kvmfr device is sized in whole MiB (static_size_mb); ${formatSize(region.size)} is not`);
  }
}

/** `-object memory-backend-file,…,share=on -device ivshmem-plain,memdev=…` for every region. */
export function buildSharedMemory(input: BuildInput): Arg[] {
  const regions = sharedRegions(input.profile);
  checkRegions(regions, input.diagnostics);
  for (const region of regions.filter((region) => region.owner === undefined)) {
    // Looking Glass's most reported problem: a client that cannot open the shared memory.
    const reader = region.key === 'lookingGlass' ? 'the Looking Glass client' : 'the program that reads it on the host (Scream\'s receiver, say)';
    const now = region.kvmfr !== undefined ? `${region.path} keeps the owner and mode udev gives it (root's, 0600, without a rule of your own)` : `${region.path} will be root's${region.mode === undefined ? ', mode 0600' : ''}`;
    input.diagnostics.warn(region.key, `no owner: ${now}, which ${reader}, running as the desktop user, cannot open; set ${region.key}.owner to that user`);
  }
  return regions.flatMap((region) => {
    const memdev = `shm-${region.name}`;
    const backend = formatProps('memory-backend-file', [
      ['id', memdev],
      ['mem-path', region.path],
      ['size', formatSize(region.size)],
      ['share', 'on'],
    ]);
    const device = formatProps('ivshmem-plain', [
      ['id', `ivshmem-${region.name}`],
      ['memdev', memdev],
      ['bus', 'pcie.0'],
    ]);
    const notes = [
      ...(region.sizeNote ? [region.sizeNote] : []),
      ...(region.kvmfr !== undefined ? [`mem-path=${region.path} ← a device of the kvmfr module, checked before QEMU starts: where it is missing QEMU would make a plain file`] : []),
    ];
    return [
      arg(['-object', backend], region.from, notes),
      arg(['-device', device], region.from, ['bus=pcie.0 ← an integrated PCI device on the root complex, where Looking Glass documents it on q35']),
    ];
  });
}
