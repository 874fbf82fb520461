/** `prepare-host <profile>`: the prepare steps alone, as the blog's @reboot on-boot.sh did them. */
import { nodeHostIo } from '../apply/host-io.js';
import { createLogger } from '../apply/log.js';
import { prepareHost } from '../apply/prepare.js';
import { planProfile } from './plan-profile.js';

export { default as minimist } from 'minimist';
export { runCli, unknownOption } from './run.js';
export { UsageError } from '../errors.js';

export const PREPARE_HOST_USAGE = `Usage: prepare-host <profile> [--sysroot DIR] [--quiet | --json]

Applies the profile's prepare steps (modules, consoles, vfio-pci binding, huge pages,
tunables, host.steps) and keeps their journal in /run/boot-vm/<profile>.journal, for a
crontab @reboot line or a systemd unit. A later \`boot-vm <profile>\` keeps them and undoes
only its own steps when QEMU exits; scripts/teardown.mjs <profile> undoes them.
Running it again on a prepared host changes nothing.
<profile> is a name or a path ending in .yaml, as boot-vm takes it.

      --sysroot DIR      the host's /sys, /proc, /dev and /run are under DIR (files under DIR
                         change; host commands are logged, not run)
      --qemu-version X.Y plan for this QEMU version instead of asking the binary
  -q, --quiet            print only failures and warnings
      --json             one JSON object per log line
  -h, --help             show this help

Exit status: 0 prepared, 1 a step failed (what was done is undone) or the host holds another
run's journal, 2 bad input.
`;

export interface PrepareHostOptions {
  profile: string;
  sysroot?: string;
  qemuVersion?: string;
  quiet: boolean;
  json: boolean;
}

export async function prepareHostCli(options: PrepareHostOptions, cwd: string, env: NodeJS.ProcessEnv, warn: (line: string) => void): Promise<string> {
  const { plan, sysroot, warnings } = planProfile({ ...options, strict: true, launching: false }, cwd, env);
  for (const warning of warnings) warn(warning);
  const log = createLogger({ mode: options.json ? 'json' : options.quiet ? 'quiet' : 'text', total: plan.steps.length });
  return prepareHost(plan, { sysroot, io: nodeHostIo, log, env });
}
