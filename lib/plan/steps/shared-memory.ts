/**
 * The host side of the shared memory regions (lib/qemu/shared-memory.ts). A /dev/shm file is made
 * before QEMU starts, with the owner and mode the program on the host needs to open it (the Looking
 * Glass client, Scream's receiver: the desktop user's; QEMU itself would make it root's), and
 * removed afterwards. A kvmfr device needs its module loaded with the region's size and must be
 * there when QEMU starts: where it is missing, QEMU makes a plain file of that name instead.
 */
import { dirname } from 'node:path';
import type { Sysroot } from '../../host/sysroot.js';
import { readGroup, readPrimaryGroupOf, readUser } from '../../host/users.js';
import { sharedRegions, type SharedRegion } from '../../qemu/shared-memory.js';
import { formatSize } from '../../size.js';
import type { Report } from '../host-checks.js';
import type { Owner, StepAction, StepDraft } from '../step.js';
import type { StepContext } from './context.js';

/** Read and write for the owner and its group, as Looking Glass's own tmpfiles.d example has it. */
export const OWNED_MODE = 0o660;
/** Nobody but root (and QEMU): the guest's frames and sound are in there. */
const ROOT_MODE = 0o600;
/** udev makes the node within milliseconds of the module loading; seconds mean it will not. */
const DEVICE_WAIT_MS = 5000;
const MIB = 1 << 20;

const octal = (mode: number) => mode.toString(8).padStart(4, '0');

/** `alice`, `alice:kvm`, `1000` or `1000:992`, with its ids from the host's /etc/passwd and /etc/group. */
export function resolveOwner(sysroot: Sysroot, text: string, key: string, report: Report): Owner | undefined {
  const [user, group] = text.split(':') as [string, string | undefined];
  const ids = /^\d+$/.test(user) ? { uid: Number(user), gid: readPrimaryGroupOf(sysroot, Number(user)) } : readUser(sysroot, user);
  if (!ids) {
    report(key, `no user ${user} in ${sysroot.path('/etc/passwd')}`);
    return undefined;
  }
  const gid = group === undefined ? ids.gid : /^\d+$/.test(group) ? Number(group) : readGroup(sysroot, group);
  if (gid === undefined) {
    report(key, group === undefined ? `no user has uid ${ids.uid} in ${sysroot.path('/etc/passwd')} to take a group from; write it as "${ids.uid}:GROUP"` : `no group ${group} in ${sysroot.path('/etc/group')}`);
    return undefined;
  }
  return { user, uid: ids.uid, gid };
}

/** Who the region is for, in titles. */
const forWhom = (region: SharedRegion) => (region.key === 'lookingGlass' ? ' for Looking Glass' : '');

/** The key a message about the region's size belongs to. */
const sizeKey = (region: SharedRegion) => (region.key === 'lookingGlass' ? 'lookingGlass.resolution' : `${region.key}.size`);

/** Looking Glass's size computation, shown where the size is used (the argv's is in --explain only). */
const sizeNotes = (regions: SharedRegion[]) => regions.flatMap((region) => (region.sizeNote ? [region.sizeNote] : []));

interface Access {
  owner?: Owner;
  mode?: number;
  /** `alice:kvm (1000:992) with mode 0660`, or `mode 0600` */
  text: string;
  from: string[];
}

/** The owner and mode asked for a region (the mode defaulting with the owner), resolved on this host. */
function accessOf(region: SharedRegion, sysroot: Sysroot, report: Report): Access | undefined {
  const owner = region.owner === undefined ? undefined : resolveOwner(sysroot, region.owner, `${region.key}.owner`, report);
  if (region.owner !== undefined && !owner) return undefined;
  const mode = region.mode ?? (owner ? OWNED_MODE : undefined);
  return {
    ...(owner ? { owner } : {}),
    ...(mode !== undefined ? { mode } : {}),
    text: [...(owner ? [`${region.owner} (${owner.uid}:${owner.gid})`] : []), ...(mode !== undefined ? [`mode ${octal(mode)}`] : [])].join(' with '),
    from: [...(region.owner !== undefined ? [`${region.key}.owner`] : []), ...(region.mode !== undefined ? [`${region.key}.mode`] : [])],
  };
}

/** The owner and mode asked, journaled and given back afterwards. */
const give = (path: string, { owner, mode }: Access): StepAction => ({ do: { kind: 'set-owner', path, ...(owner ? { owner } : {}), ...(mode !== undefined ? { mode } : {}) }, undo: [{ kind: 'restore-owner', path }] });

/** `give X to alice:kvm (1000:992) with mode 0660`, or `set X to mode 0600` */
const giveText = (what: string, access: Access) => (access.owner ? `give ${what} to ${access.text}` : `set ${what} to ${access.text}`);

/** A /dev/shm file (or the profile's path): made with its owner and mode, or an existing one taken over for the run. */
function planFile(region: SharedRegion, { sysroot, report }: StepContext): StepDraft {
  const access = accessOf(region, sysroot, report);
  const { path } = region;
  const step = { id: `shared-memory ${path}`, phase: 'prepare' as const, from: [region.pathKey, ...(access?.from ?? [])] };
  if (!access) return { ...step, title: `create ${path}${forWhom(region)}`, skip: 'its owner is not on this host' };
  const found = sysroot.stat(path);
  if (!found) {
    if (!sysroot.exists(dirname(path))) {
      report(region.pathKey, `${dirname(path)} does not exist on this host`);
      return { ...step, title: `create ${path}${forWhom(region)}`, skip: `${dirname(path)} does not exist` };
    }
    const mode = access.mode ?? ROOT_MODE;
    return {
      ...step,
      title: `create ${path}${forWhom(region)}, ${access.owner ? `owned by ${access.text}` : `mode ${octal(mode)}`}`,
      notes: [...sizeNotes([region]), `empty until QEMU sizes it to ${formatSize(region.size)}; removed afterwards`],
      actions: [{ do: { kind: 'create-file', path, mode, ...(access.owner ? { owner: access.owner } : {}) }, undo: [{ kind: 'remove-file', path }] }],
    };
  }
  if (found.kind !== 'file') {
    report(region.pathKey, `${path} is a ${found.kind === 'char-device' ? 'character device' : found.kind}, not a file QEMU can map`);
    return { ...step, title: `use ${path}${forWhom(region)}`, skip: `it is a ${found.kind}` };
  }
  // QEMU grows an empty file to the size, and refuses a smaller one that is not empty.
  if (found.size > 0 && found.size < region.size) {
    report(sizeKey(region), `${path} exists with ${found.size} bytes, less than the ${formatSize(region.size)} QEMU maps, and QEMU refuses it ("backing store size … does not match"); remove it`);
  }
  // Someone made it for this (systemd-tmpfiles, as Looking Glass's documentation suggests, or the
  // client): theirs to keep. Only the owner and mode asked change, for the run.
  const notes = [`it exists already (systemd-tmpfiles, an earlier QEMU or the client made it), so it is left in place afterwards`];
  if (!access.owner && access.mode === undefined) return { ...step, title: `use the existing ${path}${forWhom(region)}`, notes, skip: 'it exists, and no owner or mode is asked' };
  return {
    ...step,
    title: `${giveText(`the existing ${path}${forWhom(region)}`, access)} for the run`,
    notes: [...notes, 'its owner and mode are given back afterwards'],
    actions: [give(path, access)],
  };
}

/** kvmfr's module, loaded with static_size_mb (one size per device, in device order) when it is not loaded yet. */
function planKvmfrModule(regions: SharedRegion[], { sysroot, report }: StepContext): StepDraft[] {
  if (regions.length === 0) return [];
  const step = { id: 'load-kvmfr', phase: 'prepare' as const, from: regions.map((region) => region.pathKey) };
  const byDevice = new Map(regions.map((region) => [region.kvmfr!, region]));
  const count = Math.max(...byDevice.keys()) + 1;
  const loaded = sysroot.exists('/sys/module/kvmfr');
  if (!loaded) {
    const missing = [...Array(count).keys()].filter((n) => !byDevice.has(n));
    // The module makes /dev/kvmfr0, 1, … in the order of static_size_mb's sizes.
    if (missing.length > 0) report(byDevice.get(count - 1)!.pathKey, `kvmfr numbers its devices from 0; without a region on /dev/kvmfr${missing.join(', /dev/kvmfr')} there is no size to load it with`);
    const sizes = [...Array(count).keys()].map((n) => (byDevice.get(n)?.size ?? 0) / MIB);
    return [
      {
        ...step,
        title: `load the kvmfr module with ${sizes.map((mib, n) => `/dev/kvmfr${n} of ${mib}M`).join(', ')}`,
        notes: [...sizeNotes(regions), 'it stays loaded afterwards, as the other modules: the Looking Glass client may still have the device open'],
        actions: [{ do: { kind: 'run', argv: ['modprobe', 'kvmfr', `static_size_mb=${sizes.join(',')}`] }, undo: [] }],
      },
    ];
  }
  // Upstream kvmfr declares static_size_mb unreadable (permissions 0000); a build that shows it gets checked.
  const shown = sysroot.readText('/sys/module/kvmfr/parameters/static_size_mb')?.trim();
  const sizes = shown?.split(',').map(Number);
  const notes = sizeNotes(regions);
  for (const [n, region] of byDevice) {
    const mib = region.size / MIB;
    const reload = `reload it: modprobe -r kvmfr && modprobe kvmfr static_size_mb=${mib}${count > 1 ? ',…' : ''}`;
    if (!sysroot.exists(`/sys/class/kvmfr/kvmfr${n}`)) report(region.pathKey, `kvmfr is loaded without a device kvmfr${n} (it makes one per size in static_size_mb); ${reload}`);
    else if (sizes && sizes[n] !== mib) report(sizeKey(region), `kvmfr was loaded with ${sizes[n] === undefined ? 'no size' : `${sizes[n]}M`} for /dev/kvmfr${n}, but the region is ${formatSize(region.size)}; ${reload}`);
    else if (!sizes) notes.push(`kvmfr does not show the size it was loaded with; /dev/kvmfr${n} must have at least ${mib}M, or QEMU cannot map it`);
  }
  return [{ ...step, title: 'load the kvmfr module', notes, skip: 'it is loaded' }];
}

/** Before QEMU starts: the device node is there (udev may still be making it), then gets the owner and mode asked. */
function planKvmfrDevice(region: SharedRegion, { sysroot, report }: StepContext): StepDraft {
  const access = accessOf(region, sysroot, report);
  const { path } = region;
  const step = { id: `kvmfr-device ${path}`, phase: 'launch' as const, from: [region.pathKey, ...(access?.from ?? [])] };
  const check: StepAction = { do: { kind: 'wait-char-device', path, timeoutMs: DEVICE_WAIT_MS }, undo: [] };
  const found = sysroot.stat(path);
  // A QEMU started before the module makes a plain file there; the launch would fail on it.
  if (found && found.kind !== 'char-device') report(region.pathKey, `${path} is a ${found.kind === 'file' ? 'plain file' : found.kind}, not the kvmfr device (a QEMU started before the module was loaded makes one); remove it`);
  const given = access?.text ? access : undefined;
  return {
    ...step,
    title: `check that ${path} is the kvmfr device${given ? `, and ${giveText('it', given)} for the run` : ''}`,
    notes: given ? ['its owner and mode are given back afterwards'] : [],
    actions: [check, ...(given ? [give(path, given)] : [])],
  };
}

/** The prepare steps: the kvmfr module, then the files. */
export function planSharedMemoryFiles(context: StepContext): StepDraft[] {
  const regions = sharedRegions(context.profile);
  return [
    ...planKvmfrModule(
      regions.filter((region) => region.kvmfr !== undefined),
      context,
    ),
    ...regions.flatMap((region) => (region.kvmfr === undefined ? [planFile(region, context)] : [])),
  ];
}

/** The launch steps: each kvmfr device checked just before QEMU starts. */
export function planKvmfrDevices(context: StepContext): StepDraft[] {
  return sharedRegions(context.profile)
    .filter((region) => region.kvmfr !== undefined)
    .map((region) => planKvmfrDevice(region, context));
}
