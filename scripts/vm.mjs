#!/usr/bin/env node
// vm status|stats|stop|list: the VMs boot-vm runs, from another terminal; see --help.
import { loadLib } from './load-lib.mjs';

const { minimist, runCli, unknownOption, vmCli, VM_USAGE, UsageError } = await loadLib('cli/vm.bundle.js');

const OPTIONS = { boolean: ['json', 'help'], string: ['timeout', 'interval', 'count', 'sysroot'], alias: { h: 'help' } };

await runCli('vm', async () => {
  const args = minimist(process.argv.slice(2), { ...OPTIONS, unknown: (arg) => unknownOption(arg, OPTIONS) });
  if (args.help) return VM_USAGE;
  if (args._.length === 0) throw new UsageError('which verb: status, stats, stop or list? (see --help)');
  if (args._.length > 2) throw new UsageError(`one profile at a time, got ${args._.slice(1).join(', ')}`);
  for (const name of OPTIONS.string) {
    if (args[name] === '' || Array.isArray(args[name])) throw new UsageError(`--${name} takes one value`);
  }
  let stopper;
  // During stop, Ctrl-C skips what the current step waits for. stats blocks the event loop between
  // samples, so a handler would run late: the default action ends it at once.
  if (args._[0] !== 'stats') process.on('SIGINT', () => (stopper ? stopper.escalate() : process.exit(130)));
  // `vm stats | head`: the reader is gone, so is the point of going on.
  process.stdout.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
  const { stdout, stderr, exitCode } = await vmCli(
    { verb: String(args._[0]), profile: args._[1] === undefined ? undefined : String(args._[1]), json: args.json, timeout: args.timeout, interval: args.interval, count: args.count, sysroot: args.sysroot },
    process.cwd(),
    process.env,
    { onStopper: (created) => (stopper = created), stdout: process.stdout },
  );
  for (const line of stderr) process.stderr.write(`${line}\n`);
  process.exitCode = exitCode;
  return stdout;
});
