/**
 * A plan as a standalone bash script, for a machine without Node: the host steps in order, each
 * change registering its undo, QEMU run and waited for, and an EXIT trap that undoes the changes
 * in reverse however the script ends. The functions it calls are lib/export/shell-library.sh,
 * copied in. What boot-vm does over QMP has no shell form: said in the script and warned.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatCpuList } from '../cpu-list.js';
import type { Plan } from '../plan/plan.js';
import { chrtWords, type Action, type Owner, type Step } from '../plan/step.js';
import { shellQuote as q } from '../qemu/shell-quote.js';
import type { Warn } from './context.js';

const LIBRARY = new URL('../../lib/export/shell-library.sh', import.meta.url);
let library: string | undefined;
/** The functions' text, without its own header comment. */
const shellLibrary = () => (library ??= readFileSync(LIBRARY, 'utf8').replace(/^(#.*\n)+/, ''));

/** How long to wait for QEMU's vCPU and IO threads: guest memory is allocated (prealloc) before they run, as launch.ts waits for QMP. */
const THREAD_TIMEOUT_S = 300;

/** A host path under the script's ROOT. */
const at = (path: string) => `"\${ROOT}"${q(path)}`;
const seconds = (ms: number) => String(Math.ceil(ms / 1000));
const octal = (mode: number) => mode.toString(8).padStart(4, '0');
const owner = (who: Owner | undefined) => (who ? `${who.uid}:${who.gid}` : '-');
const words = (argv: string[]) => argv.map(q).join(' ');

/** An action as one shell command; `undo` is the shell code of its undo, registered once it has made its change. */
function command(action: Action, undo: string): string | undefined {
  const then = undo === '' ? '' : `\nundo ${q(undo)}`;
  switch (action.kind) {
    case 'set':
      return `set_value ${at(action.path)} ${q(action.value)} ${q(undo)}`;
    case 'restore':
      return `restore_value ${at(action.path)}`;
    case 'trigger':
      return `put ${at(action.path)} ${q(action.value)}${then}`;
    case 'run':
      return `run ${words(action.argv)}${then}`;
    case 'stop-service':
      return `stop_service ${q(action.unit)} ${q(undo)}`;
    case 'unload-modules':
      return `unload_modules ${seconds(action.timeoutMs)} ${words(action.modules)}`;
    case 'mkdir':
      return `make_dir ${at(action.path)} ${q(undo)}`;
    case 'rmdir':
      return `remove_dir ${at(action.path)}`;
    case 'remove-dir':
      return `rm -rf -- ${at(action.path)}`;
    case 'copy-file':
      return `copy_file ${at(action.from)} ${at(action.to)} ${octal(action.mode)} ${owner(action.owner)}`;
    case 'chown':
      return `give ${at(action.path)} ${owner(action.owner)} ${q(undo)}`;
    case 'restore-owner':
      return `give_back ${at(action.path)}`;
    case 'set-owner':
      return `set_owner ${at(action.path)} ${action.mode === undefined ? '-' : octal(action.mode)} ${owner(action.owner)} ${q(undo)}`;
    case 'create-file':
      return `create_file ${at(action.path)} ${octal(action.mode)} ${owner(action.owner)} ${q(undo)}`;
    case 'remove-file':
      return `rm -f -- ${at(action.path)}`;
    case 'wait-char-device':
      return `wait_char_device ${at(action.path)} ${seconds(action.timeoutMs)}`;
    case 'wait-driver':
      return `wait_driver ${q(action.device)} ${q(action.driver)} ${seconds(action.timeoutMs)}`;
    case 'reserve-hugepages':
      return `reserve_hugepages ${at(action.path)} ${action.add} ${q(action.pageSize)} ${q(undo)}`;
    case 'release-hugepages':
      return `release_hugepages ${at(action.path)}`;
    case 'make-kept-dir':
      return `make_kept_dir ${at(action.path)} ${octal(action.mode)} ${owner(action.owner)}`;
    case 'start-helper':
      return `start_helper ${q(action.name)} ${at(action.socket)} ${at(action.log)} ${seconds(action.timeoutMs)} ${q(undo)} ${words(action.argv)}`;
    case 'stop-helper':
      return `stop_helper ${q(action.name)} ${seconds(action.timeoutMs)}`;
    case 'irq-affinity':
      // Its undo first: the follower, in the background, changes IRQs until the teardown stops it.
      return `${undo === '' ? '' : `undo ${q(undo)}\n`}follow_irqs ${seconds(action.timeoutMs)} ${formatCpuList(action.guestCpus)} ${formatCpuList(action.hostCpus)} ${words(action.devices)} &\nFOLLOWER=$!`;
    case 'restore-irq-affinity':
      return 'restore_irqs';
    // Put in WRAP before QEMU starts, or done with QEMU running (threadsCommands), or no shell form (hooks).
    case 'wrap':
    case 'pin-threads':
    case 'start-guest':
    case 'hook':
      return undefined;
  }
}

/** Each undo action's shell code, in the order the journal's entry runs them. */
const undoCode = (undo: Action[]) =>
  undo
    .map((action) => command(action, ''))
    .filter((line) => line !== undefined)
    .join('; ');

const header = (step: Step) => [`# ${step.n} ${step.phase}: ${step.title}${step.skip ? ` — skipped: ${step.skip}` : ''}  ← ${step.from.join(', ')}`, ...step.notes.map((note) => `#   ${note}`)];
const announce = (step: Step) => `step ${step.n} ${q(`${step.phase}: ${step.title}${step.skip ? `: skipped (${step.skip})` : ''}`)}`;

/** A step's lines; the pinning's and hooks' are said, not done (threads mode is done by threadsCommands). */
function stepLines(step: Step, warn: Warn): string[] {
  // A hook step is not announced as it comes: it does nothing here, and a stop hook's turn is not yet.
  const hookOnly = step.actions.length > 0 && step.actions.every(({ do: action }) => action.kind === 'hook');
  const lines = [...header(step), ...(hookOnly && !step.skip ? [] : [announce(step)])];
  if (step.skip) return lines;
  for (const { do: action, undo } of step.actions) {
    const line = command(action, undoCode(undo));
    if (line !== undefined) lines.push(line);
    else if (action.kind === 'wrap') lines.push(`# QEMU starts under: ${words(action.argv)} (in WRAP below)`);
    else if (action.kind === 'hook') {
      lines.push(`# not run: ${action.hook}() of ${action.file} is JavaScript that boot-vm runs (zx); do by hand what it does`);
      warn(`step ${step.n}: the ${action.hook} hook of ${action.file} is not run by the shell export: it is JavaScript that boot-vm runs`);
    }
  }
  return lines;
}

/** The IO threads' ids, as `-object iothread,id=…` names them (QEMU names each thread `IO <id>`). */
const iothreadIds = (argv: string[]) => argv.flatMap((word, i) => (argv[i - 1] === '-object' && word.startsWith('iothread,') ? [/(?:^|,)id=([^,]+)/.exec(word)?.[1] ?? ''] : []));

/**
 * Threads-mode pinning without QMP: QEMU starts under `taskset -c <emulator CPUs>` (so every thread
 * it makes starts there, as boot-vm's `taskset -a` pins them), without `-S`, since only QMP could
 * `cont` it; each vCPU and IO thread is found by its name (debug-threads=on) and pinned once it
 * exists, then read back. The guest's first moments run on the emulator's CPUs.
 */
function threadsCommands(action: Extract<Action, { kind: 'pin-threads' | 'start-guest' }>, plan: Plan, pinned: { tid: string; cpus: string }[]): string[] {
  if (action.kind === 'start-guest') {
    return [
      "# boot-vm reads every thread back over /proc, then sends QMP cont to the paused guest; without QMP the guest",
      '# started with QEMU (no -S): the pinned threads are read back here, and a mismatch stops QEMU and undoes the steps.',
      ...pinned.map(({ tid, cpus }) => `check_pinned "${tid}" ${cpus}`),
    ];
  }
  const cpus = formatCpuList(action.cpus);
  switch (action.threads) {
    case 'emulator':
      return [`# done as QEMU starts: WRAP ends with taskset -c ${cpus}, which every thread QEMU makes inherits`];
    case 'iothreads':
      return iothreadIds(plan.argv).flatMap((id, i) => {
        pinned.push({ tid: `\${IOTHREAD[${i}]}`, cpus });
        return [`IOTHREAD[${i}]=$(thread_of ${q(`IO ${id}`)} ${THREAD_TIMEOUT_S})`, `run taskset -p -c ${cpus} "\${IOTHREAD[${i}]}" > /dev/null`];
      });
    case 'vcpus': {
      const scheduler = action.scheduler;
      return action.cpus.flatMap((cpu, vcpu) => {
        const tid = `\${VCPU[${vcpu}]}`;
        pinned.push({ tid, cpus: String(cpu) });
        return [
          `VCPU[${vcpu}]=$(thread_of ${q(`CPU ${vcpu}/`)} ${THREAD_TIMEOUT_S})`,
          `run taskset -p -c ${cpu} "${tid}" > /dev/null`,
          ...(scheduler ? [`run chrt ${chrtWords(scheduler).join(' ')} -p ${scheduler.priority} "${tid}"`] : []),
          ...(scheduler?.nice !== undefined ? [`run renice -n ${scheduler.nice} -p "${tid}" > /dev/null`] : []),
        ];
      });
    }
  }
}

const isThreadAction = (action: Action): action is Extract<Action, { kind: 'pin-threads' | 'start-guest' }> => action.kind === 'pin-threads' || action.kind === 'start-guest';

/** An array assignment, one element per line (each option with its value). */
function arrayLines(name: string, groups: string[][]): string[] {
  if (groups.length === 0) return [`${name}=()`];
  return [`${name}=(`, ...groups.map((group) => `  ${words(group)}`), ')'];
}

export function shellScript(plan: Plan, warn: Warn): string {
  const live = plan.steps.filter((step) => !step.skip);
  // boot-vm starts QEMU paused (-S) to pin its threads before QMP `cont`: without QMP, the script cannot start a paused guest.
  const paused = plan.argv.includes('-S');
  const emulator = live.flatMap((step) => step.actions.flatMap(({ do: action }) => (action.kind === 'pin-threads' && action.threads === 'emulator' ? [action.cpus] : [])))[0];
  const daemon = plan.argv.includes('-daemonize');
  const wrap = live.flatMap((step) => step.actions.flatMap(({ do: action }) => (action.kind === 'wrap' ? [action.argv] : [])));
  if (emulator) wrap.push(['taskset', '-c', formatCpuList(emulator)]);
  const planWrappers = plan.args.slice(0, plan.wrappers).map((arg) => arg.words);
  const qemuArgs = plan.args.slice(plan.wrappers).map((arg) => arg.words.filter((word) => word !== '-S')).filter((group) => group.length > 0);
  const before = plan.steps.filter((step) => step.phase === 'prepare' || step.phase === 'launch');
  const after = plan.steps.filter((step) => step.phase === 'running' || step.phase === 'stop');
  const prepared = before.flatMap((step) => stepLines(step, warn));
  const pinned: { tid: string; cpus: string }[] = [];
  let warned = false;
  const warnUnpaused = (how: string) => {
    if (paused && !warned) warn(`pinning.mode threads: the shell export cannot speak QMP, so QEMU runs without -S and the guest starts at once${how}`);
    warned = true;
  };
  const running = after.flatMap((step) => {
    if (step.skip || !step.actions.some(({ do: action }) => isThreadAction(action))) return stepLines(step, warn);
    warnUnpaused(": QEMU starts under taskset -c with the emulator's CPUs, and each vCPU (and IO) thread is pinned by its name once it exists, then read back");
    return [...header(step), announce(step), ...step.actions.flatMap(({ do: action }) => (isThreadAction(action) ? threadsCommands(action, plan, pinned) : []))];
  });
  warnUnpaused('');
  const controlDirs = [...new Set([dirname(plan.control.pidfile), dirname(plan.control.qmp)])];
  const lines = [
    '#!/bin/bash',
    `# ${plan.profile}: boot-vm's plan as a standalone script, for a machine without Node. Exported by`,
    `# boot-vm (scripts/export.mjs --format shell) from ${plan.file}, planned for QEMU ${plan.qemuVersion} on ${plan.sysroot}.`,
    `# Run as root, it applies the ${plan.steps.length} host step${plan.steps.length === 1 ? '' : 's'} in order, each change registering its undo, runs QEMU,`,
    '# and when the script exits (QEMU exited, a step failed, Ctrl-C, SIGTERM) undoes them in reverse.',
    '# Unlike boot-vm it keeps no journal (kill -9 leaves the changes for you to undo), reserves no',
    '# devices, and speaks no QMP: Ctrl-C or SIGTERM makes QEMU quit at once, without pressing the',
    "# guest's power button (shut the guest down from inside it), and a second one kills QEMU.",
    '# ROOT=DIR rehearses it on a copy of a host tree, as boot-vm --sysroot DIR does: every host path',
    '# is under DIR, host commands (modprobe, systemctl, chrt, taskset…) are printed instead of run, and',
    '# only QEMU runs, with the planned command line (a stand-in QEMU has to put its files under DIR).',
    'set -euo pipefail',
    'ROOT=${ROOT:-}',
    `VM=${q(plan.profile)}`,
    `TOTAL=${plan.steps.length}`,
    '',
    shellLibrary().trimEnd(),
    '',
    ...prepared,
    '',
    '# QEMU. Its pidfile and QMP socket go in a directory removed again afterwards, with what QEMU leaves there.',
    ...controlDirs.map((dir) => `make_dir ${at(dir)} ${q(`rmdir --ignore-fail-on-non-empty -- ${at(dir)}`)}`),
    `undo ${q(`rm -f -- ${at(plan.control.pidfile)} ${at(plan.control.qmp)}`)}`,
    '# WRAP: words before QEMU that apply to it alone; against a ROOT tree they are printed, not run.',
    ...arrayLines('WRAP', [...wrap, ...planWrappers]),
    ...arrayLines('QEMU', qemuArgs),
    'start_qemu',
    ...(daemon
      ? [
          "# -daemonize: QEMU's first process exits once the VM runs; the VM is the process in the pidfile.",
          'wait_qemu "$QEMU_PID"',
          '(( QEMU_STATUS == 0 )) || exit "$QEMU_STATUS"',
          'QEMU_STATUS=',
          `poll 10 test -s ${at(plan.control.pidfile)} || { say "QEMU wrote no pid to ${plan.control.pidfile}"; exit 1; }`,
          `QEMU_PID=$(< ${at(plan.control.pidfile)})`,
        ]
      : []),
    ...running,
    '',
    daemon ? '# Not our child: polled until it exits. Its own exit status is not ours to read.' : '# Until QEMU exits; the EXIT trap then puts the host back and exits with its status.',
    ...(daemon ? ['while alive "$QEMU_PID"; do sleep 1 & wait $! || true; done', 'QEMU_STATUS=0'] : ['wait_qemu "$QEMU_PID"']),
    'exit "$QEMU_STATUS"',
  ];
  return lines.join('\n') + '\n';
}
