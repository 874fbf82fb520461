/** Host steps as shell lines: what each does, then `# undo:` lines, paths under the plan's sysroot. */
import { formatCpuList } from '../cpu-list.js';
import { Sysroot } from '../host/sysroot.js';
import { shellQuote } from '../qemu/shell-quote.js';
import { chrtWords, type Action, type Step } from './step.js';

/** driver_override reads `(null)` when unset; writing an empty line unsets it. */
export const restoredText = (was: string) => (was === '(null)' ? '' : was);

const octal = (mode: number) => mode.toString(8).padStart(4, '0');

const echo = (value: string, path: string) => (value === '' ? `echo > ${shellQuote(path)}` : `echo ${shellQuote(value)} > ${shellQuote(path)}`);

function renderAction(action: Action, sysroot: Sysroot, was: Map<string, string | undefined>): string {
  const at = (path: string) => sysroot.path(path);
  switch (action.kind) {
    case 'set':
    case 'trigger':
      return echo(action.value, at(action.path));
    case 'restore': {
      const old = was.get(action.path);
      return old === undefined ? `# put back the value ${at(action.path)} had` : echo(restoredText(old), at(action.path));
    }
    case 'run':
      return action.argv.map(shellQuote).join(' ');
    case 'stop-service':
      return `systemctl is-active --quiet ${shellQuote(action.unit)} && systemctl stop ${shellQuote(action.unit)}  # started again afterwards only if it was running`;
    case 'unload-modules':
      return [`# wait up to ${action.timeoutMs / 1000}s until no other module, reference or process uses them (refused otherwise, naming who does)`, ...action.modules.map((module) => `rmmod ${shellQuote(module)}`)].join('\n');
    case 'mkdir':
      return `mkdir -p ${shellQuote(at(action.path))}`;
    case 'rmdir':
      return `rmdir ${shellQuote(at(action.path))}`;
    case 'remove-dir':
      return `rm -rf ${shellQuote(at(action.path))}`;
    case 'copy-file': {
      const owner = action.owner ? ` -o ${shellQuote(action.owner.user)} -g ${action.owner.gid}` : '';
      return `install -D -m ${action.mode.toString(8).padStart(4, '0')}${owner} ${shellQuote(at(action.from))} ${shellQuote(at(action.to))}`;
    }
    case 'chown':
      return `chown ${shellQuote(action.owner.user)}:${action.owner.gid} ${shellQuote(at(action.path))}`;
    case 'restore-owner':
      return `# give ${at(action.path)} back to the owner and mode it had`;
    case 'set-owner':
      return [
        ...(action.owner ? [`chown ${shellQuote(action.owner.user)}:${action.owner.gid} ${shellQuote(at(action.path))}`] : []),
        ...(action.mode !== undefined ? [`chmod ${octal(action.mode)} ${shellQuote(at(action.path))}`] : []),
      ].join('\n');
    case 'create-file': {
      const owner = action.owner ? ` -o ${shellQuote(action.owner.user)} -g ${action.owner.gid}` : '';
      return `install -m ${octal(action.mode)}${owner} /dev/null ${shellQuote(at(action.path))}  # a new empty file: fails if one is there`;
    }
    case 'remove-file':
      return `rm -f ${shellQuote(at(action.path))}`;
    case 'wait-char-device':
      return `# wait up to ${action.timeoutMs / 1000}s for ${at(action.path)}, then check it is a character device (test -c)`;
    case 'wait-driver':
      return `# wait up to ${action.timeoutMs / 1000}s until ${at(`/sys/bus/pci/devices/${action.device}/driver`)} is ${action.driver}`;
    case 'reserve-hugepages':
      return `echo $(( $(cat ${shellQuote(at(action.path))}) + ${action.add} )) > ${shellQuote(at(action.path))}  # then read back: fewer than asked is a failure`;
    case 'release-hugepages':
      return `echo $(( $(cat ${shellQuote(at(action.path))}) - <pages added> )) > ${shellQuote(at(action.path))}`;
    case 'wrap':
      return `# QEMU starts under: ${action.argv.map(shellQuote).join(' ')}`;
    case 'irq-affinity':
      return [
        `# wait up to ${action.timeoutMs / 1000}s for the vfio IRQs in ${at('/proc/interrupts')}${action.devices.length > 0 ? ` (${action.devices.join(', ')})` : ''}, then`,
        `#   echo ${formatCpuList(action.guestCpus)} > ${at('/proc/irq')}/<vfio IRQ>/smp_affinity_list`,
        `#   echo ${formatCpuList(action.hostCpus)} > ${at('/proc/irq')}/<every other IRQ>/smp_affinity_list`,
      ].join('\n');
    case 'restore-irq-affinity':
      return `# put back each IRQ's smp_affinity_list`;
    case 'make-kept-dir': {
      const owner = action.owner ? ` -o ${shellQuote(action.owner.user)} -g ${action.owner.gid}` : '';
      return `install -d -m ${action.mode.toString(8).padStart(4, '0')}${owner} ${shellQuote(at(action.path))}`;
    }
    case 'start-helper':
      return `${action.argv.map(shellQuote).join(' ')} 2> ${shellQuote(at(action.log))} &  # then wait up to ${action.timeoutMs / 1000}s for ${at(action.socket)}`;
    case 'stop-helper':
      return `kill <${action.name} pid>  # then wait for it to exit; SIGKILL after ${action.timeoutMs / 1000}s`;
    case 'pin-threads':
      return renderPinning(action);
    case 'start-guest':
      return [
        `# read Cpus_allowed_list from /proc/<QEMU pid>/task/<tid>/status and the policy, priority and nice value from …/stat for every thread`,
        `# then over QMP: {"execute": "cont"}`,
      ].join('\n');
  }
}

/** The thread ids come from QMP once QEMU is up: the lines name them. */
function renderPinning(action: Extract<Action, { kind: 'pin-threads' }>): string {
  const cpus = formatCpuList(action.cpus);
  switch (action.threads) {
    case 'emulator':
      return `taskset -a -p -c ${cpus} <QEMU pid>  # every thread; the vCPU and IO threads are pinned next`;
    case 'iothreads':
      return `taskset -p -c ${cpus} <thread-id of each IO thread>  # from QMP query-iothreads`;
    case 'vcpus': {
      const scheduler = action.scheduler;
      return action.cpus
        .flatMap((cpu, vcpu) => [
          `taskset -p -c ${cpu} <thread-id of vCPU ${vcpu}>${vcpu === 0 ? '  # from QMP query-cpus-fast' : ''}`,
          ...(scheduler ? [`chrt ${chrtWords(scheduler).join(' ')} -p ${scheduler.priority} <thread-id of vCPU ${vcpu}>`] : []),
          ...(scheduler?.nice !== undefined ? [`renice -n ${scheduler.nice} -p <thread-id of vCPU ${vcpu}>`] : []),
        ])
        .join('\n');
    }
  }
}

/** One step: a `# n phase: title` header, its notes, its lines and their undo. */
export function renderStep(step: Step, sysroot: Sysroot): string[] {
  const header = `# ${step.n} ${step.phase}: ${step.title}${step.skip ? ` — skipped: ${step.skip}` : ''}  ← ${step.from.join(', ')}`;
  const lines = [header, ...step.notes.map((note) => `#   ${note}`)];
  const was = new Map(step.actions.flatMap(({ do: action }) => (action.kind === 'set' ? [[action.path, action.was] as const] : [])));
  for (const { do: action } of step.actions) lines.push(renderAction(action, sysroot, was));
  const restored = new Set<string>();
  // A value restored once is not restored again (the engine skips it the same way).
  const undo = [...step.actions].reverse().flatMap((action) => action.undo).filter((action) => action.kind !== 'restore' || (!restored.has(action.path) && restored.add(action.path)));
  for (const action of undo) lines.push(...renderAction(action, sysroot, was).split('\n').map((line) => `#   undo: ${line.replace(/^# /, '')}`));
  return lines;
}

export function renderSteps(steps: Step[], root: string): string[] {
  const sysroot = new Sysroot(root);
  return steps.flatMap((step) => renderStep(step, sysroot));
}
