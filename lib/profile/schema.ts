/**
 * The profile format, written once: the TypeScript types (`Profile`), the runtime validation
 * and the generated `profile.schema.json` all come from the schemas below.
 * Messages are the text users see after `file:line:col: key:`, so they say what was expected.
 */
import * as v from 'valibot';
import { CPU_LIST_PATTERN, parseCpuList } from '../cpu-list.js';
import { PCI_ADDRESS_PATTERN } from '../pci-address.js';
import { SIZE_PATTERN, parseSize, powerOfTwoAtLeast } from '../size.js';

const bool = () => v.boolean('expected true or false');

const isMapping = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A mapping of known keys. Anything else (a list, a number) gets one clear message; strictObject
 * alone would take a list for a mapping with keys 0, 1, …. Unknown keys are reported by the loader.
 */
const mapping = <const E extends v.ObjectEntries>(entries: E) => v.pipe(v.custom<Record<string, unknown>>(isMapping, 'expected a mapping of keys'), v.strictObject(entries));

const int = (min: number, max: number, message: string) =>
  v.pipe(v.number(message), v.integer(message), v.minValue(min, message), v.maxValue(max, message));

const text = () => v.pipe(v.string('expected a string'), v.nonEmpty('expected a non-empty string'));

// Control characters cannot be passed safely through QEMU's option parser or a shell line.
const path = () =>
  v.pipe(
    v.string('expected an absolute path'),
    v.startsWith('/', 'expected an absolute path'),
    v.check((value) => !/[\0-\x1f\x7f]/.test(value), 'expected a path without control characters'),
  );

const size = () =>
  v.pipe(
    v.string('expected a size like 8G'),
    v.regex(SIZE_PATTERN, 'expected a size like 8G'),
    v.check((value) => parseSize(value) !== undefined, 'size is too large'),
    v.transform((value) => parseSize(value)!),
  );

const cpuList = () =>
  v.union(
    [
      v.array(int(0, 8191, 'expected a CPU number')),
      v.pipe(
        v.string(),
        v.regex(CPU_LIST_PATTERN, 'expected a CPU list like [2, 3] or "2-3,6"'),
        v.check((value) => parseCpuList(value) !== undefined, 'expected a CPU list like [2, 3] or "2-3,6"'),
        v.transform((value) => parseCpuList(value)!),
      ),
    ],
    'expected a CPU list like [2, 3] or "2-3,6"',
  );

const pciId = () => int(0, 0xffff, 'expected a 16-bit id like 0x10de');

const bootIndex = () => int(0, 999, 'expected a boot position from 0 to 999');

export const QEMU_VERSION_PATTERN = /^(\d+)\.(\d+)(?:\.(\d+))?$/;

const qemu = mapping({
  binary: v.optional(text(), 'qemu-system-x86_64'),
  version: v.optional(v.pipe(v.string('expected a version like "7.2" (quoted)'), v.regex(QEMU_VERSION_PATTERN, 'expected a version like "7.2"'))),
});

const machine = mapping({
  type: v.optional(v.pipe(v.string('expected q35 or pc-q35-X.Y'), v.regex(/^(q35|pc-q35-\d+\.\d+)$/, 'expected q35 or pc-q35-X.Y (only the Q35 chipset has PCIe root ports)')), 'q35'),
  accel: v.optional(v.picklist(['kvm', 'tcg'], 'expected kvm or tcg'), 'kvm'),
  vmport: v.optional(bool(), false),
  dumpGuestCore: v.optional(bool(), false),
  kernelIrqchip: v.optional(v.picklist(['on', 'off', 'split'], 'expected on, off or split')),
});

/** Hyper-V enlightenments, named as QEMU names them without the `hv-` prefix, in camelCase. */
export const hypervFlags = {
  relaxed: bool(),
  vapic: bool(),
  spinlocks: v.union([v.literal(false), int(0xfff, 0xffffffff, 'expected a retry count of at least 0xfff (4095)')], 'expected a retry count of at least 0xfff (4095), or false'),
  time: bool(),
  crash: bool(),
  reset: bool(),
  vpindex: bool(),
  runtime: bool(),
  synic: bool(),
  stimer: bool(),
  stimerDirect: bool(),
  tlbflush: bool(),
  tlbflushExt: bool(),
  tlbflushDirect: bool(),
  ipi: bool(),
  frequencies: bool(),
  reenlightenment: bool(),
  evmcs: bool(),
  avic: bool(),
  xmmInput: bool(),
  emsrBitmap: bool(),
  noNonarchCoresharing: v.picklist(['on', 'off', 'auto'], 'expected on, off or auto'),
  vendorId: v.union(
    [v.literal(false), v.pipe(v.string(), v.regex(/^[\x21-\x2b\x2d-\x7e]{1,12}$/, 'expected up to 12 printable characters (no comma or space)'))],
    'expected up to 12 printable characters (no comma or space), or false',
  ),
};
export type HypervFlag = keyof typeof hypervFlags;

const hyperv = mapping(Object.fromEntries(Object.entries(hypervFlags).map(([name, schema]) => [name, v.optional(schema)])) as {
  [K in HypervFlag]: v.OptionalSchema<(typeof hypervFlags)[K], undefined>;
});

// One -cpu feature: `invtsc`, `+invtsc`, `-hypervisor` or `l3-cache=on` (a +/- prefix takes no
// value: it is the value); commas would split it.
const cpuFlag = v.pipe(
  v.string('expected a CPU flag like "invtsc" or "-hypervisor"'),
  v.regex(/^([+-][A-Za-z0-9][A-Za-z0-9_.-]*|[A-Za-z0-9][A-Za-z0-9_.-]*(=[^,\s]+)?)$/, 'expected a CPU flag like "invtsc", "-hypervisor" or "l3-cache=on"'),
);

const cpu = mapping({
  model: v.optional(v.pipe(text(), v.regex(/^[A-Za-z0-9._-]+$/, 'expected a CPU model name like host or Cascadelake-Server')), 'host'),
  hidden: v.optional(bool(), false),
  hyperv: v.optional(hyperv, {}),
  flags: v.optional(v.array(cpuFlag, 'expected a list of CPU flags'), []),
  sockets: v.optional(int(1, 64, 'expected a number of sockets from 1 to 64'), 1),
  cores: v.optional(int(1, 1024, 'expected a number of cores from 1 to 1024')),
  threads: v.optional(int(1, 8, 'expected a number of threads per core from 1 to 8'), 1),
});

/** A CPU list, or `auto`: cpu-topology's suggestion on the host the plan is for. */
const autoCpuList = () => v.union([v.literal('auto'), cpuList()], 'expected a CPU list like [2, 3] or "2-3,6", or auto');

const pinningMapping = mapping({
  vcpus: v.optional(autoCpuList()),
  // One CPU set every QEMU thread shares (the server guide's `taskset -c 14-17,32-35` for 16 vCPUs): process mode only.
  cpus: v.optional(cpuList()),
  emulator: v.optional(autoCpuList()),
  iothreads: v.optional(cpuList()),
  // The default follows the measurements in profiles/README.md: a busy vCPU at nice -20 waits least,
  // and unlike fifo/rr it is never stalled by the kernel's real-time throttling.
  scheduler: v.optional(
    mapping({
      policy: v.picklist(['rr', 'fifo', 'other', 'batch', 'idle'], 'expected rr, fifo, other, batch or idle'),
      priority: v.optional(int(0, 99, 'expected a priority from 0 to 99')),
      nice: v.optional(int(-20, 19, 'expected a nice value from -20 to 19')),
    }),
    { policy: 'other', nice: -20 },
  ),
  mode: v.optional(v.picklist(['process', 'threads'], 'expected process or threads'), 'threads'),
});

type PinningMapping = v.InferOutput<typeof pinningMapping>;

/**
 * Pinning with every CPU list filled in; `auto` says which form asked the plan to choose the CPUs.
 * With `cpus` (one set shared by all vCPUs, process mode) `vcpus` is empty: no vCPU has a CPU of its own.
 */
export type Pinning = Omit<PinningMapping, 'vcpus' | 'emulator'> & { vcpus: number[]; emulator?: number[]; auto?: 'pinning' | 'vcpus' };

/**
 * `pinning: auto` is `{ vcpus: auto, emulator: auto }`. Auto lists are left empty and marked, and
 * the plan fills them from the host's topology (lib/plan/auto-pinning.ts).
 */
const pinning = v.pipe(
  v.custom<Record<string, unknown> | 'auto'>((value) => value === 'auto' || isMapping(value), 'expected auto or a mapping of keys'),
  v.transform((value) => (value === 'auto' ? { vcpus: 'auto', emulator: 'auto' } : value)),
  pinningMapping,
  v.check((value) => value.vcpus !== undefined || value.cpus !== undefined, 'expected vcpus (a host CPU for each vCPU) or cpus (one CPU set for all of them, mode: process)'),
  v.forward(
    v.check((value) => value.vcpus === undefined || value.cpus === undefined, 'cpus and vcpus exclude each other: cpus is one CPU set all vCPUs share, vcpus a CPU for each'),
    ['cpus'],
  ),
  v.forward(
    v.check((value) => value.cpus === undefined || value.mode === 'process', 'a CPU set shared by all vCPUs needs mode: process (threads mode pins each vCPU to a CPU of its own: use vcpus)'),
    ['cpus'],
  ),
  v.check((value) => value.emulator !== 'auto' || value.vcpus === 'auto', 'emulator: auto goes with vcpus: auto'),
  v.transform(({ vcpus, emulator, ...rest }): Pinning => ({
    ...rest,
    vcpus: vcpus === 'auto' || vcpus === undefined ? [] : vcpus,
    ...(emulator === undefined || emulator === 'auto' ? {} : { emulator }),
    ...(vcpus === 'auto' ? { auto: emulator === 'auto' ? 'pinning' : 'vcpus' } : {}),
  })),
);

const memory = mapping({
  size: size(),
  hugepages: v.optional(v.union([v.picklist(['2M', '1G']), v.literal(false)], 'expected 2M, 1G or false'), false),
  backend: v.optional(v.picklist(['file', 'memfd'], 'expected file or memfd')),
  path: v.optional(path()),
  lock: v.optional(bool(), false),
  prealloc: v.optional(bool(), false),
  share: v.optional(bool(), false),
  // One guest NUMA node per host node the pinned vCPUs are on (lib/plan/numa.ts).
  numa: v.optional(v.picklist(['mirror'], 'expected mirror')),
});

const firmware = v.variant(
  'type',
  [
    v.strictObject({
      type: v.literal('ovmf'),
      code: v.optional(path()),
      vars: v.optional(path()),
      varsTemplate: v.optional(path()),
      secureBoot: v.optional(bool(), false),
    }),
    v.strictObject({ type: v.literal('seabios') }),
  ],
  'expected type ovmf or seabios',
);

const passthroughDevice = mapping({
  host: v.pipe(v.string('expected a PCI address like "01:00.0"'), v.regex(PCI_ADDRESS_PATTERN, 'expected a PCI address like "01:00.0" or "0000:01:00.0"')),
  vga: v.optional(bool(), false),
  romfile: v.optional(path()),
  rombar: v.optional(bool()),
  subsystemVendor: v.optional(pciId()),
  subsystemDevice: v.optional(pciId()),
});

const disk = mapping({
  path: path(),
  format: v.optional(v.picklist(['raw', 'qcow2'], 'expected raw or qcow2'), 'raw'),
  bus: v.optional(v.picklist(['virtio', 'sata', 'scsi', 'nvme'], 'expected virtio, sata, scsi or nvme'), 'virtio'),
  cache: v.optional(v.picklist(['none', 'writeback', 'writethrough', 'directsync', 'unsafe'], 'expected none, writeback, writethrough, directsync or unsafe')),
  aio: v.optional(v.picklist(['threads', 'native', 'io_uring'], 'expected threads, native or io_uring')),
  discard: v.optional(bool()),
  readonly: v.optional(bool(), false),
  serial: v.optional(v.pipe(v.string('expected a serial number'), v.regex(/^[A-Za-z0-9_.-]{1,20}$/, 'expected up to 20 letters, digits, dots, dashes or underscores'))),
  iothread: v.optional(int(0, 63, 'expected an IO thread number from 0 to 63')),
  bootIndex: v.optional(bootIndex()),
});

const cdrom = mapping({
  path: path(),
  bootIndex: v.optional(bootIndex()),
});

const macAddress = v.pipe(v.string('expected a MAC address like "52:54:00:12:34:56"'), v.regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, 'expected a MAC address like "52:54:00:12:34:56"'));

const scriptPath = () => v.union([v.literal(false), path()], 'expected an absolute path or false');

const nic = mapping({
  model: v.optional(v.picklist(['virtio', 'e1000', 'e1000e', 'rtl8139'], 'expected virtio, e1000, e1000e or rtl8139'), 'virtio'),
  mac: v.optional(macAddress),
  bootIndex: v.optional(bootIndex()),
  tap: v.optional(
    mapping({
      ifname: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,15}$/, 'expected an interface name of up to 15 characters'))),
      script: v.optional(scriptPath()),
      downscript: v.optional(scriptPath()),
      vhost: v.optional(bool()),
    }),
  ),
  bridge: v.optional(mapping({ name: v.pipe(v.string('expected a bridge name'), v.regex(/^[A-Za-z0-9_.-]{1,15}$/, 'expected a bridge name of up to 15 characters')) })),
  user: v.optional(mapping({})),
});

const clock = mapping({
  base: v.optional(v.picklist(['utc', 'localtime'], 'expected utc or localtime')),
  driftfix: v.optional(v.picklist(['slew', 'none'], 'expected slew or none')),
  rtcClock: v.optional(v.picklist(['host', 'rt', 'vm'], 'expected host, rt or vm')),
  hpet: v.optional(bool()),
  pitLostTickPolicy: v.optional(v.picklist(['discard', 'delay'], 'expected discard or delay')),
});

const power = mapping({
  s3: v.optional(bool()),
  s4: v.optional(bool()),
});

const display = v.union(
  [v.picklist(['none', 'gtk', 'sdl']), mapping({ vnc: v.pipe(v.string(), v.regex(/^[A-Za-z0-9.:[\]-]*:\d+$/)) })],
  'expected none, gtk, sdl or { vnc: "127.0.0.1:0" }',
);

const sysctlKey = () => v.pipe(v.string(), v.regex(/^[a-z0-9_]+(\.[a-z0-9_-]+)+$/, 'expected a sysctl key like vm.stat_interval'));
const sysctlValue = () => v.pipe(v.union([v.string(), v.number()], 'expected a value'), v.transform(String), v.check((value) => !/[\n\0]/.test(value), 'expected a one-line value'));
const sysctls = () => v.pipe(v.record(sysctlKey(), sysctlValue(), 'expected a mapping of sysctl keys to values'), v.check((record) => Object.keys(record).length > 0, 'expected at least one sysctl'));
const command = () => v.pipe(v.array(text(), 'expected a command as a list of words'), v.minLength(1, 'expected a command as a list of words'));

/** One user step from `host.steps`, applied after the built-in prepare steps, in order. */
const userStep = v.union(
  [
    v.strictObject({ write: mapping({ path: path(), value: sysctlValue() }) }),
    v.strictObject({ sysctl: sysctls() }),
    v.strictObject({ run: command(), undo: v.optional(command()) }),
  ],
  'expected one of { write: { path, value } }, { sysctl: { key: value } } or { run: [command…], undo: [command…] }',
);

// systemd unit and kernel module names: what systemctl and modprobe take, nothing a shell would read.
const unitName = () => v.pipe(v.string('expected a systemd unit name like display-manager'), v.regex(/^[A-Za-z0-9:_.@\\-]+$/, 'expected a systemd unit name like display-manager'));
const moduleName = () => v.pipe(v.string('expected a kernel module name like nvidia_drm'), v.regex(/^[A-Za-z0-9_-]+$/, 'expected a kernel module name like nvidia_drm'));

/** Host preparation: which built-in steps run (see profiles/README.md for their defaults). */
const host = mapping({
  modules: v.optional(bool(), true),
  ignoreMsrs: v.optional(bool(), false),
  unbindConsoles: v.optional(v.union([v.literal('auto'), bool()], 'expected auto, true or false'), 'auto'),
  bindVfio: v.optional(bool(), true),
  bindMethod: v.optional(v.picklist(['driver-override', 'new-id'], 'expected driver-override or new-id'), 'driver-override'),
  rescan: v.optional(bool(), false),
  hugepages: v.optional(bool(), true),
  memlock: v.optional(bool(), true),
  governor: v.optional(v.union([v.literal(false), v.pipe(v.string(), v.regex(/^[a-z]+$/, 'expected a governor name like performance, or false'))], 'expected a governor name like performance, or false')),
  irqAffinity: v.optional(bool()),
  shield: v.optional(v.union([bool(), v.picklist(['systemd', 'cgroup'])], 'expected true, false, systemd or cgroup'), false),
  sysctl: v.optional(sysctls()),
  writebackCpus: v.optional(cpuList()),
  steps: v.optional(v.array(userStep, 'expected a list of steps'), []),
  runAs: v.optional(v.pipe(v.string('expected a user name'), v.regex(/^[A-Za-z_][A-Za-z0-9._-]{0,31}$/, 'expected a user name like qemu'))),
  // Single-GPU handoff: units stopped before the consoles are unbound, modules unloaded after.
  stopServices: v.optional(v.array(unitName(), 'expected a list of systemd units'), []),
  unloadModules: v.optional(v.array(moduleName(), 'expected a list of kernel modules'), []),
});

/** TPM 2.0 through swtpm: `true`, or where its state lives. */
const tpm = v.union(
  [
    v.pipe(
      bool(),
      // Typed as the mapping's output, so that `tpm: true` reads as a TPM with every default.
      v.transform((on): false | { stateDir?: string; model?: 'tpm-crb' | 'tpm-tis' } => (on ? {} : false)),
    ),
    mapping({
      stateDir: v.optional(path()),
      model: v.optional(v.picklist(['tpm-crb', 'tpm-tis'], 'expected tpm-crb or tpm-tis')),
    }),
  ],
  'expected true, false or { stateDir: /path }',
);

// `1000` or `1000:1000`, `alice` or `alice:kvm`: who may open a shared memory file.
const owner = () =>
  v.pipe(v.string('expected user or user:group (names or numbers), quoted'), v.regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9._-]{0,31})?$/, 'expected user or user:group (names or numbers)'));
const fileMode = () =>
  v.pipe(
    v.string('expected an octal mode in quotes like "0660"'),
    v.regex(/^0?[0-7]{3}$/, 'expected an octal mode like "0660"'),
    v.transform((mode) => parseInt(mode, 8)),
  );
const shmName = () => v.pipe(v.string('expected a name'), v.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'expected a name of letters, digits, dots, dashes or underscores'));

/** One ivshmem-plain region: a /dev/shm file (Scream, Looking Glass), or a kvmfr device when `path` is /dev/kvmfrN. */
const sharedMemory = mapping({
  name: shmName(),
  // ivshmem's memory is a PCI BAR: QEMU (7.2 at least) aborts on any other size (pci_register_bar: Assertion `is_power_of_2(size)' failed).
  size: v.pipe(
    size(),
    v.check((bytes) => bytes === powerOfTwoAtLeast(bytes), 'expected a power of two like 2M or 32M (ivshmem memory is a PCI BAR)'),
  ),
  path: v.optional(path()),
  owner: v.optional(owner()),
  mode: v.optional(fileMode()),
});

/** Looking Glass: the region sized from the guest's resolution. */
const lookingGlass = mapping({
  resolution: v.pipe(v.string('expected a resolution like 2560x1440'), v.regex(/^[1-9]\d{2,4}x[1-9]\d{2,4}$/, 'expected a resolution like 2560x1440')),
  name: v.optional(shmName(), 'looking-glass'),
  kvmfr: v.optional(bool(), false),
  owner: v.optional(owner()),
  mode: v.optional(fileMode()),
});

const toggleKeys = ['ctrl-ctrl', 'alt-alt', 'shift-shift', 'meta-meta', 'scrolllock', 'ctrl-scrolllock'] as const;

/** A host keyboard or mouse given to the guest with -object input-linux. */
const inputDevice = mapping({
  evdev: path(),
  grabAll: v.optional(bool()),
  repeat: v.optional(bool()),
  toggle: v.optional(v.picklist(toggleKeys, `expected one of ${toggleKeys.join(', ')}`)),
});

const usbId = () =>
  v.pipe(
    v.string('expected a 4-digit hex id in quotes like "046d"'),
    v.regex(/^(0x)?[0-9a-fA-F]{4}$/, 'expected a 4-digit hex id in quotes like "046d"'),
    v.transform((id) => parseInt(id.replace(/^0x/, ''), 16)),
  );

/** A host USB device passed to the guest: by its ids, or by where it is plugged in. */
const usbDevice = v.union(
  [
    v.strictObject({ vendor: usbId(), product: usbId() }),
    v.strictObject({
      bus: int(1, 255, 'expected a USB bus number'),
      port: v.pipe(v.string('expected a port path in quotes like "1.4"'), v.regex(/^[1-9]\d{0,2}(\.[1-9]\d{0,2}){0,4}$/, 'expected a port path in quotes like "1.4"')),
    }),
  ],
  'expected { vendor: "046d", product: "c52b" } or { bus: 1, port: "1.4" }',
);

/** A zx script exporting beforePrepare, afterStart, beforeStop and afterStop, relative to the profile that names it. */
const hooks = v.union(
  [
    v.pipe(text(), v.transform((file) => ({ file }))),
    mapping({
      file: text(),
      timeout: v.optional(int(1, 3600, 'expected a timeout in seconds from 1 to 3600')),
    }),
  ],
  'expected a script path like ./windows11.hooks.mjs, or { file, timeout }',
);

export const profileSchema = mapping({
  description: v.optional(v.string('expected a string')),
  extends: v.optional(text()),
  qemu: v.optional(qemu, {}),
  machine: v.optional(machine, {}),
  cpu: v.optional(cpu, {}),
  pinning: v.optional(pinning),
  memory,
  firmware: v.optional(firmware, { type: 'seabios' }),
  passthrough: v.optional(v.array(passthroughDevice, 'expected a list of devices'), []),
  disks: v.optional(v.array(disk, 'expected a list of disks'), []),
  iothreads: v.optional(int(0, 64, 'expected a number of IO threads from 0 to 64'), 0),
  cdroms: v.optional(v.array(cdrom, 'expected a list of CD-ROM images'), []),
  network: v.optional(v.array(nic, 'expected a list of network cards'), []),
  clock: v.optional(clock, {}),
  power: v.optional(power, {}),
  display: v.optional(display, 'none'),
  vga: v.optional(v.picklist(['none', 'std', 'virtio', 'qxl'], 'expected none, std, virtio or qxl'), 'none'),
  pidfile: v.optional(path()),
  qmp: v.optional(path()),
  daemonize: v.optional(bool(), false),
  extraArgs: v.optional(v.array(v.string('expected a string'), 'expected a list of arguments'), []),
  host: v.optional(host, {}),
  tpm: v.optional(tpm, false),
  sharedMemory: v.optional(v.array(sharedMemory, 'expected a list of shared memory regions'), []),
  lookingGlass: v.optional(lookingGlass),
  input: v.optional(v.array(inputDevice, 'expected a list of input devices'), []),
  usb: v.optional(v.array(usbDevice, 'expected a list of USB devices'), []),
  hooks: v.optional(hooks),
});

/** A validated profile, defaults filled in, sizes in bytes, CPU lists expanded. */
export type Profile = v.InferOutput<typeof profileSchema>;
export type PassthroughDevice = Profile['passthrough'][number];
export type Disk = Profile['disks'][number];
export type Nic = Profile['network'][number];
export type Hyperv = Profile['cpu']['hyperv'];
export type HostSettings = Profile['host'];
export type UserStep = HostSettings['steps'][number];
export type Tpm = Exclude<Profile['tpm'], false>;
export type SharedMemory = Profile['sharedMemory'][number];
export type LookingGlass = NonNullable<Profile['lookingGlass']>;
export type InputDevice = Profile['input'][number];
export type UsbDevice = Profile['usb'][number];
export type Hooks = NonNullable<Profile['hooks']>;
