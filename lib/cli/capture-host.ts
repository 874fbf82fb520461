/** `capture-host [--sysroot DIR] [--out DIR | --out FILE.tar.gz]`: what boot-vm reads of a host, as a tree --sysroot takes. */
import * as v from 'valibot';
import { probeDeviceProperties } from '../apply/probe-device-props.js';
import { detectQemuVersion, findExecutable } from '../apply/probe-qemu.js';
import { BootVmError } from '../errors.js';
import { captureReads, type Capture } from '../host/capture.js';
import { readHugepageSizes } from '../host/hugepages.js';
import { readPciDevice, isBridgeClass } from '../host/pci.js';
import { readPresentCpus } from '../host/cpus.js';
import { RecordingSysroot } from '../host/recording-sysroot.js';
import { readCpuTopology } from '../host/topology.js';
import { inspectIommu } from '../inspect/check-iommu.js';
import { runDoctor } from '../inspect/doctor.js';
import { parsePciAddress } from '../pci-address.js';
import { buildPlan } from '../plan/plan.js';
import { listProfiles, profileSearchPath } from '../profile/find.js';
import { loadProfile, type LoadedProfile } from '../profile/load.js';
import { profileSchema } from '../profile/schema.js';
import { formatSize } from '../size.js';
import { openSysroot } from './inspect-options.js';
import { captureSummary, writeCaptureDir, writeCaptureTarGz } from './capture-output.js';

export { default as minimist } from 'minimist';
export { runCli, unknownOption } from './run.js';
export { UsageError } from '../errors.js';

export const CAPTURE_HOST_USAGE = `Usage: capture-host [--sysroot DIR] [--out DIR | --out FILE.tar.gz]

Copies what boot-vm reads of this host (the files under /sys, /proc, /dev, /etc, /usr/share…
that cpu-topology, check-iommu, doctor and the plan open for the profiles found, and for any
PCI device, CPU and huge page size) into a tree that --sysroot takes: to plan a VM for this
machine elsewhere, or to attach to a bug report. Links stay links; device files become empty
files; /etc/passwd and /etc/group keep system accounts and the profiles' users only (names and
ids); of processes, only those holding a device file open, with their name. No serial numbers,
MAC addresses, host name or user files. Changes nothing on the host.

      --sysroot DIR   capture the host tree under DIR instead of /
      --out PATH      a new directory, or a file ending in .tar.gz (default host-capture.tar.gz)
  -h, --help          show this help

Exit status: 0 written, 2 bad input.
`;

export interface CaptureHostOptions {
  sysroot?: string;
  out?: string;
}

/** A profile with the widest host reads: every CPU but the host's first pinned, every PCI endpoint passed, huge pages of `size`, the shield of `shield`. */
function widestProfile(sysroot: RecordingSysroot, cwd: string, size: number | undefined, shield: 'cgroup' | 'systemd'): LoadedProfile | undefined {
  const endpoints = sysroot.list('/sys/bus/pci/devices').filter((address) => {
    const found = parsePciAddress(address);
    const pciClass = found && readPciDevice(sysroot, found)?.class;
    return pciClass !== undefined && !isBridgeClass(pciClass);
  });
  const cpus = readPresentCpus(sysroot) ?? [];
  const data = {
    memory: { size: '1G', ...(size === undefined ? { hugepages: false } : { hugepages: formatSize(size) }) },
    // The host keeps a CPU, or the shield and the IRQ step would stop before reading theirs.
    ...(cpus.length > 1 ? { pinning: { vcpus: cpus.slice(1) } } : {}),
    passthrough: endpoints.map((host) => ({ host })),
    host: { shield },
  };
  const parsed = v.safeParse(profileSchema, data);
  if (!parsed.success) return undefined;
  return { name: 'capture', file: 'capture.yaml', cwd, files: [], profile: parsed.output, locate: () => ({}), written: () => undefined };
}

/** Runs every reader against `root` with recording on: what they read is what a capture holds. */
export function recordHostReads(root: string, cwd: string, env: NodeJS.ProcessEnv, progress: (what: string) => void = () => {}): { sysroot: RecordingSysroot; users: Set<string> } {
  const sysroot = new RecordingSysroot(root);
  const users = new Set<string>();
  progress('CPU topology');
  readCpuTopology(sysroot);
  progress('IOMMU groups');
  inspectIommu(sysroot);
  const probes = {
    probeQemuVersion: (binary: string) => detectQemuVersion(binary, env),
    probeDeviceProperties: (binary: string, device: string) => probeDeviceProperties(binary, device, env),
    findProgram: (name: string) => findExecutable(name, env),
  };
  const profiles: LoadedProfile[] = [];
  for (const { name, file } of listProfiles(profileSearchPath(cwd, env))) {
    try {
      profiles.push(loadProfile(file, { cwd, env }));
    } catch (error) {
      if (!(error instanceof BootVmError)) throw error;
      progress(`skipping profile ${name}, which does not load`);
    }
  }
  // The readers' paths for the profiles not written yet: any CPU, any device, each page size.
  const variants: [number | undefined, 'cgroup' | 'systemd'][] = [[undefined, 'cgroup'], [undefined, 'systemd'], ...readHugepageSizes(sysroot).map((size): [number, 'systemd'] => [size, 'systemd'])];
  for (const [size, shield] of variants) {
    const widest = widestProfile(sysroot, cwd, size, shield);
    if (widest) profiles.push(widest);
  }
  for (const loaded of profiles) {
    progress(`profile ${loaded.name}`);
    if (loaded.profile.host.runAs !== undefined) users.add(loaded.profile.host.runAs);
    runDoctor(loaded, { sysroot, ...probes });
    try {
      buildPlan(loaded, { sysroot, strict: false, launching: false, ...probes });
    } catch (error) {
      // A plan that cannot be made has read what it needed to say so.
      if (!(error instanceof BootVmError)) throw error;
    }
  }
  return { sysroot, users };
}

/** Captures the host under `sysroot` (default `/`). */
export function captureHostTree(options: CaptureHostOptions, cwd: string, env: NodeJS.ProcessEnv, progress?: (what: string) => void): Capture {
  const root = openSysroot(options.sysroot).root;
  const { sysroot, users } = recordHostReads(root, cwd, env, progress);
  progress?.('copying');
  return captureReads(root, sysroot.reads, { users });
}

/** The CLI: records, copies, writes; a progress line on a terminal once it has taken a second. */
export function captureHost(options: CaptureHostOptions, cwd: string, env: NodeJS.ProcessEnv, terminal?: NodeJS.WriteStream): string {
  const out = options.out ?? 'host-capture.tar.gz';
  const archive = out.endsWith('.tar.gz') || out.endsWith('.tgz');
  if (!archive) writeCaptureDir(undefined, out); // refuses an existing non-empty directory before any work
  const started = Date.now();
  let shown = false;
  const progress = (what: string) => {
    if (!terminal?.isTTY || Date.now() - started < 1000) return;
    terminal.write(`\r\x1b[Kcapture-host: ${what}…`);
    shown = true;
  };
  const capture = captureHostTree(options, cwd, env, progress);
  progress(`writing ${out}`);
  const bytes = archive ? writeCaptureTarGz(capture, out) : writeCaptureDir(capture, out);
  if (shown) terminal!.write('\r\x1b[K');
  return `${captureSummary(capture, out, bytes, Date.now() - started)}\n`;
}
