/**
 * A plan as a systemd service: boot-vm launches the VM in the foreground and puts the host back
 * when QEMU exits, so the unit runs boot-vm itself and leaves the stop to boot-vm's own SIGTERM
 * handling (lib/apply/launch.ts, lib/apply/stop.ts).
 */
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_STOP_TIMEOUT_S, STOP_ESCALATION_MS } from '../apply/stop.js';
import { LAUNCHER_TEARDOWN_TIMEOUT_MS } from '../apply/vm-stop.js';
import type { Plan } from '../plan/plan.js';
import type { HookName } from '../plan/hooks.js';
import type { ExportContext, Warn } from './context.js';

/** systemd's PATH for system services (systemd ≥ 246 on a merged /usr): node must be on it for boot-vm.mjs's `#!/usr/bin/env node`. */
export const SYSTEMD_DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin';

export const unitName = (profile: string) => `boot-vm-${profile}.service`;

/** One word of an Exec line: as is when plain, else double-quoted; `%` and `$` are systemd's specifier and variable signs. */
export function systemdWord(word: string): string {
  const escaped = word.replaceAll('%', '%%').replaceAll('$', '$$$$');
  return /^[A-Za-z0-9_@+=:,./%$-]+$/.test(escaped) ? escaped : `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** A path on a line that takes the rest of it (WorkingDirectory=, RequiresMountsFor=): only specifiers need escaping. */
const systemdPath = (path: string) => path.replaceAll('%', '%%');

const hookSeconds = (plan: Plan, hook: HookName) => {
  for (const step of plan.steps) for (const { do: action } of step.actions) if (action.kind === 'hook' && action.hook === hook) return action.timeoutMs / 1000;
  return 0;
};

/** Files the VM opens that a mount may provide (images, not devices): the unit waits for their mounts. */
function mountedFiles(plan: Plan): string[] {
  const { profile } = plan.resolved;
  const files = [...profile.disks.map((disk) => disk.path), ...profile.cdroms.map((cdrom) => cdrom.path)];
  return [...new Set(files.filter((file) => file.startsWith('/') && !file.startsWith('/dev/')))];
}

export function systemdUnit(plan: Plan, context: ExportContext, warn: Warn = () => {}): string {
  const { profile } = plan.resolved;
  const name = unitName(plan.profile);
  const checkout = dirname(context.bootVm);
  const stopTimeout = DEFAULT_STOP_TIMEOUT_S;
  const beforeStop = hookSeconds(plan, 'beforeStop');
  const afterStop = hookSeconds(plan, 'afterStop');
  const escalation = STOP_ESCALATION_MS / 1000;
  const teardown = LAUNCHER_TEARDOWN_TIMEOUT_MS / 1000;
  const stopSec = beforeStop + stopTimeout + escalation + teardown + afterStop;
  const execStart = [context.bootVm, context.profileArg, ...(context.qemuBinary ? ['--qemu-binary', context.qemuBinary] : []), '--stop-timeout', String(stopTimeout)];
  if (profile.display !== 'none' && typeof profile.display === 'string') warn(`display: ${profile.display} opens a window, and a system service has no graphical session to open it in; use display: none or { vnc: … } for a VM run by systemd`);
  const mounts = mountedFiles(plan);
  const network = profile.network.length > 0;
  const lines = [
    `# /etc/systemd/system/${name}`,
    `# ${plan.profile} under systemd, exported by boot-vm from ${plan.file}.`,
    `# Install: copy this file to /etc/systemd/system/, then \`systemctl daemon-reload\` and`,
    `# \`systemctl start ${name.replace(/\.service$/, '')}\` (\`systemctl enable\` it to start it at boot).`,
    '',
    '[Unit]',
    `Description=${(profile.description ?? `boot-vm ${plan.profile}`).replaceAll('%', '%%').replace(/\s*\n\s*/g, ' ')}`,
    `Documentation=${systemdPath(pathToFileURL(`${checkout}/README.md`).href)}`,
    '# The prepare steps load modules and bind devices: after the boot has loaded its own.',
    'After=systemd-modules-load.service local-fs.target',
    ...(network ? ['# The network cards need the host network up (a tap script, a bridge).', 'Wants=network-online.target', 'After=network-online.target'] : []),
    ...(mounts.length > 0 ? ['# The disk images, with the mounts they live on.', `RequiresMountsFor=${mounts.map(systemdPath).join(' ')}`] : []),
    '',
    '[Service]',
    '# boot-vm stays in the foreground until QEMU has exited and the host is put back (QEMU, and',
    '# swtpm for a TPM, are its children). exec: started once boot-vm itself runs.',
    'Type=exec',
    '# boot-vm looks a profile name up in ./profiles.',
    `WorkingDirectory=${systemdPath(checkout)}`,
    `ExecStart=${execStart.map(systemdWord).join(' ')}`,
    '# Stop: SIGTERM to boot-vm alone. It presses the guest\'s ACPI power button, waits --stop-timeout',
    '# for the guest to shut down, then QMP quit, then SIGKILL, and puts the host back, in that order.',
    '# No ExecStop= (`scripts/vm.mjs stop` does the same from outside): systemd runs ExecStop= also',
    '# after the VM has ended by itself, when there is nothing left to stop.',
    'KillSignal=SIGTERM',
    '# mixed: QEMU and swtpm, in process groups of their own in this cgroup, are not signalled by',
    '# systemd: boot-vm stops them in order. SIGKILL reaches them only when TimeoutStopSec runs out.',
    'KillMode=mixed',
    '# The longest boot-vm takes to stop:',
    ...[
      ...(beforeStop > 0 ? [`${beforeStop} s for the beforeStop hook`] : []),
      `${stopTimeout} s for the guest to shut down (--stop-timeout: change both together)`,
      `${escalation} s for the QMP exchanges, quit and SIGKILL`,
      `${teardown} s for the host's teardown`,
      ...(afterStop > 0 ? [`${afterStop} s for the afterStop hook`] : []),
    ].map((part) => `#   ${part}`),
    `TimeoutStopSec=${stopSec}`,
    '# A VM that stopped, or failed, stays stopped: a failed launch has put the host back and says why.',
    'Restart=no',
    '# The QEMU version and parsed-profile caches, in /var/cache/boot-vm (a system service has no $HOME).',
    'Environment=XDG_CACHE_HOME=/var/cache',
    'CacheDirectory=boot-vm',
    ...(context.nodeDir && !SYSTEMD_DEFAULT_PATH.split(':').includes(context.nodeDir)
      ? ['# boot-vm.mjs starts with `#!/usr/bin/env node`: the node it was exported with.', `Environment=${systemdWord(`PATH=${context.nodeDir}:${SYSTEMD_DEFAULT_PATH}`)}`]
      : []),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ];
  return lines.join('\n') + '\n';
}
