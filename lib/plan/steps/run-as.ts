/**
 * `host.runAs`: QEMU opens its devices and files as root, then becomes that user (-runas or
 * -run-with user=) and goes on using them. For the run, the user gets the VFIO group nodes, the
 * hugetlbfs directory, the UEFI variable store and a directory of the VM's own for the pidfile and
 * QMP socket (which QEMU removes on exit); afterwards each goes back to the owner and mode it had.
 */
import { dirname } from 'node:path';
import { readUser } from '../../host/users.js';
import { readDeviceGroup } from '../../host/iommu.js';
import type { Sysroot } from '../../host/sysroot.js';
import { formatPciAddress, parsePciAddress } from '../../pci-address.js';
import type { Profile } from '../../profile/schema.js';
import { controlPaths, runAsDirProblem, runDir } from '../../qemu/control.js';
import type { Report } from '../host-checks.js';
import type { Owner, StepAction, StepDraft } from '../step.js';
import type { StepContext } from './context.js';

/** The user `host.runAs` names, with its ids from the host's /etc/passwd. */
export function resolveRunAs(profile: Profile, sysroot: Sysroot, report: Report): Owner | undefined {
  const user = profile.host.runAs;
  if (user === undefined) return undefined;
  const ids = readUser(sysroot, user);
  if (!ids) report('host.runAs', `no user ${user} in ${sysroot.path('/etc/passwd')}`);
  return ids && { user, ...ids };
}

const give = (path: string, owner: Owner): StepAction => ({ do: { kind: 'chown', path, owner }, undo: [{ kind: 'restore-owner', path }] });

export function planRunAs(context: StepContext): StepDraft[] {
  const { name, profile, sysroot, report, runAs, memoryPath, firmware } = context;
  const user = profile.host.runAs;
  if (user === undefined) return [];
  const step = { id: `run-as ${user}`, phase: 'launch' as const, from: ['host.runAs'] };
  if (!runAs) return [{ ...step, title: `give ${user} the files QEMU uses as that user`, skip: `this host has no user ${user}` }];
  const actions: StepAction[] = [];
  const what: string[] = [];
  const notes: string[] = [];
  // The pidfile's and the QMP socket's directories: the VM's own (made here), or the profile's.
  const paths = controlPaths(name, profile);
  // A directory that cannot be given is an error of the command line's (lib/qemu/control.ts).
  for (const dir of new Set([dirname(paths.pidfile), dirname(paths.qmp)].filter((dir) => runAsDirProblem(dir) === undefined))) {
    if (dir === runDir(name)) {
      actions.push({ do: { kind: 'mkdir', path: dir }, undo: [{ kind: 'remove-dir', path: dir }] }, give(dir, runAs));
      notes.push(`${dir} holds QEMU's pidfile and QMP socket; it is removed afterwards, with anything QEMU left in it`);
    } else {
      if (!sysroot.exists(dir)) report(dirname(paths.pidfile) === dir ? 'pidfile' : 'qmp', `${dir} does not exist on this host`);
      actions.push(give(dir, runAs));
    }
    what.push(dir);
  }
  const groups = new Set(profile.passthrough.flatMap((device) => readDeviceGroup(sysroot, formatPciAddress(parsePciAddress(device.host)!)) ?? []));
  for (const group of [...groups].sort((a, b) => a - b)) actions.push(give(`/dev/vfio/${group}`, runAs));
  if (groups.size > 0) what.push(`/dev/vfio/${[...groups].sort((a, b) => a - b).join(',')}`);
  if (memoryPath) {
    actions.push(give(memoryPath.path, runAs));
    what.push(memoryPath.path);
  }
  if (firmware) {
    actions.push(give(firmware.vars, runAs));
    what.push(firmware.vars);
  }
  notes.push('QEMU opens them as root before it becomes that user; each goes back to the owner and mode it had when QEMU exits');
  const from = [...step.from, ...(groups.size > 0 ? ['passthrough'] : []), ...(memoryPath ? ['memory.hugepages'] : []), ...(firmware ? ['firmware.vars'] : [])];
  return [{ ...step, from, title: `give ${user} (uid ${runAs.uid}) ${what.join(', ')} for the run`, notes, actions }];
}
