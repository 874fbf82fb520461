/** `teardown <profile>`: replays a leftover journal in reverse, after a crash, kill -9 or prepare-host. */
import { nodeHostIo } from '../apply/host-io.js';
import { createLogger } from '../apply/log.js';
import { teardownVm } from '../apply/teardown.js';
import { UsageError } from '../errors.js';
import { Sysroot } from '../host/sysroot.js';

export { default as minimist } from 'minimist';
export { runCli, unknownOption } from './run.js';
export { UsageError } from '../errors.js';

export const TEARDOWN_USAGE = `Usage: teardown <vm> [--sysroot DIR] [--stop] [--quiet | --json]

Puts the host back as it was before boot-vm <vm> or prepare-host <vm> changed it, from the
journal /run/boot-vm/<vm>.journal, undoing each change in reverse. Needs no profile: the
journal holds what to undo. With no journal there is nothing to do (exit 0), so it is safe
to run twice.

      --sysroot DIR   the host's /run (and /sys, /proc) are under DIR
      --stop          if the VM's QEMU still runs, send it SIGTERM and wait for it to exit
  -q, --quiet         print only failures and warnings
      --json          one JSON object per log line
  -h, --help          show this help

Exit status: 0 done (or nothing to do), 1 a change could not be undone or the VM still runs.
`;

export interface TeardownCliOptions {
  vm: string;
  sysroot?: string;
  stop: boolean;
  quiet: boolean;
  json: boolean;
}

export async function teardownCli(options: TeardownCliOptions, env: NodeJS.ProcessEnv): Promise<string> {
  if (!/^[A-Za-z0-9._-]+$/.test(options.vm) || options.vm.startsWith('.')) throw new UsageError(`expected a VM name (a profile's file name without .yaml), got "${options.vm}"`);
  const log = createLogger({ mode: options.json ? 'json' : options.quiet ? 'quiet' : 'text', total: 0 });
  return teardownVm(options.vm, { sysroot: new Sysroot(options.sysroot ?? '/'), io: nodeHostIo, log, env, stop: options.stop });
}
