/** `teardown <profile>`: replays a leftover journal in reverse, after a crash, kill -9 or prepare-host. */
import { nodeHostIo } from '../apply/host-io.js';
import { createLogger } from '../apply/log.js';
import { teardownVm } from '../apply/teardown.js';
import { Sysroot } from '../host/sysroot.js';
import { vmNameOf } from '../profile/find.js';

export { default as minimist } from 'minimist';
export { runCli, unknownOption } from './run.js';
export { UsageError } from '../errors.js';

export const TEARDOWN_USAGE = `Usage: teardown <profile> [--sysroot DIR] [--stop] [--quiet | --json]

Puts the host back as it was before boot-vm <profile> or prepare-host <profile> changed it,
from the journal /run/boot-vm/<vm>.journal, undoing each change in reverse. <profile> is
what boot-vm took: a name, or a path ending in .yaml whose file name (without .yaml) is the
VM's name. The profile is not read, so it may have changed or be gone: the journal holds
what to undo. With no journal there is nothing to do (exit 0), so it is safe to run twice.
When a launch with hooks left it, the hooks come from the journal; afterStop runs last.

      --sysroot DIR   the host's /run (and /sys, /proc) are under DIR
      --stop          if the VM's QEMU still runs, send it SIGTERM and wait for it to exit
                      (after the beforeStop hook of the launch's profile, if it had hooks)
  -q, --quiet         print only failures and warnings
      --json          one JSON object per log line
  -h, --help          show this help

Exit status: 0 done (or nothing to do), 1 a change could not be undone or the VM still runs.
`;

export interface TeardownCliOptions {
  /** A profile name or path, as boot-vm took it. */
  profile: string;
  sysroot?: string;
  stop: boolean;
  quiet: boolean;
  json: boolean;
}

export async function teardownCli(options: TeardownCliOptions, env: NodeJS.ProcessEnv): Promise<string> {
  const vm = vmNameOf(options.profile);
  const log = createLogger({ mode: options.json ? 'json' : options.quiet ? 'quiet' : 'text', total: 0 });
  return teardownVm(vm, { sysroot: new Sysroot(options.sysroot ?? '/'), io: nodeHostIo, log, env, stop: options.stop });
}
