/**
 * A QEMU command line → profile keys: the reverse of the builders in lib/qemu/. Options are read
 * as QEMU reads them (`-option value`, `driver,key=value,…`, old spellings included); what a
 * profile key says becomes that key, what boot-vm adds itself becomes a note, and the rest is kept
 * verbatim in `extraArgs` (properties of a device boot-vm builds are kept as `-set` on its id).
 */
import { formatCpuList } from '../cpu-list.js';
import { hypervFlags, type HypervFlag } from '../profile/schema.js';
import { formatSize } from '../size.js';
import { Draft, describeSource } from './draft.js';
import { hugepagesOfPath, keep, keepProps, parseOption, sourceOf, type ParsedOption } from './parsed-option.js';
import { importDevices } from './qemu-devices.js';
import { groupOptions, parseBool, parseNumber, parseQemuSize } from './qemu-props.js';
import type { ScriptCommand } from './script.js';

export interface ImportedOptions {
  draft: Draft;
  /** The VM name from `-name`, for `--name`'s default. */
  name?: string;
}

/** Hyper-V flags as QEMU spells them after `hv-` (`stimer-direct`) → the profile's camelCase key. */
const HYPERV_KEYS = new Map((Object.keys(hypervFlags) as HypervFlag[]).map((key) => [key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`), key]));

/** Options boot-vm always writes itself. */
const ALWAYS_ADDED: Record<string, string> = {
  '-nodefaults': 'boot-vm always adds -nodefaults: every device comes from the profile',
  '-no-user-config': 'boot-vm always adds -no-user-config',
};

export function importQemuOptions(command: ScriptCommand): ImportedOptions {
  const draft = new Draft();
  const options = groupOptions(command.args).map(parseOption);
  const has = (name: string) => options.some((option) => option.name === name);
  const binary = command.binary.text;
  if (binary !== 'qemu-system-x86_64') draft.set(['qemu', 'binary'], binary, { text: binary, line: command.binary.line });
  let name: string | undefined;
  const rest: ParsedOption[] = [];
  let accelSeen = false;
  let machineSeen = false;

  for (const option of options) {
    const source = sourceOf(option);
    const { props } = option;
    switch (option.name) {
      case '':
        draft.warn(option.line, `${option.value}: a word where an option was expected; kept verbatim in extraArgs`);
        draft.keep(option.words, option.line);
        break;
      case '-name': {
        name = option.head ?? props.get('guest');
        draft.note(option.line, `${source.text}: boot-vm names the VM after its profile (-name guest=<name>,debug-threads=on)`);
        const others = option.order.filter((key) => key !== 'guest' && key !== 'debug-threads');
        if (others.length > 0) keepProps(draft, option, '-name', others);
        break;
      }
      case '-nodefaults':
      case '-no-user-config':
        draft.note(option.line, ALWAYS_ADDED[option.name]!);
        break;
      case '-enable-kvm':
        accelSeen = true;
        draft.set(['machine', 'accel'], 'kvm', source);
        draft.modernise(option.line, '-enable-kvm → -machine accel=kvm');
        break;
      case '-accel':
        accelSeen = true;
        if (draft.set(['machine', 'accel'], option.head, source, option.words) && option.order.length > 0) keepProps(draft, option, '-accel', option.order, option.head);
        if (draft.get(['machine', 'accel']) !== undefined) draft.modernise(option.line, `-accel ${option.head} → -machine accel=${option.head}`);
        break;
      case '-M':
      case '-machine':
        machineSeen = true;
        if (props.has('accel')) accelSeen = true;
        importMachine(draft, option);
        break;
      case '-cpu':
        importCpu(draft, option);
        break;
      case '-smp':
        importSmp(draft, option);
        break;
      case '-m':
        importMemorySize(draft, option);
        break;
      case '-mem-prealloc':
        draft.set(['memory', 'prealloc'], true, source);
        draft.modernise(option.line, '-mem-prealloc → prealloc=on on the memory backend');
        break;
      case '-mem-path':
        importMemPath(draft, option);
        break;
      case '-overcommit':
        for (const key of option.order) {
          if (key === 'mem-lock' && parseBool(props.get(key)) !== undefined) draft.set(['memory', 'lock'], parseBool(props.get(key)), { text: `-overcommit mem-lock=${props.get(key) ?? 'on'}`, line: option.line });
          else keepProps(draft, option, '-overcommit', [key]);
        }
        break;
      case '-realtime':
        for (const key of option.order) {
          if (key === 'mlock' && parseBool(props.get(key)) !== undefined) {
            draft.set(['memory', 'lock'], parseBool(props.get(key)), source);
            if (parseBool(props.get(key))) draft.modernise(option.line, '-realtime mlock=on → -overcommit mem-lock=on (-realtime was removed in QEMU 6.0)');
          } else keepProps(draft, option, '-realtime', [key]);
        }
        break;
      case '-no-hpet':
        draft.set(['clock', 'hpet'], false, source);
        draft.modernise(option.line, '-no-hpet → -machine hpet=off (QEMU ≥ 5.2; -no-hpet was removed in 9.0)');
        break;
      case '-localtime':
        draft.set(['clock', 'base'], 'localtime', source);
        draft.modernise(option.line, '-localtime → -rtc base=localtime');
        break;
      case '-no-kvm-pit-reinjection':
        draft.set(['clock', 'pitLostTickPolicy'], 'discard', source);
        draft.modernise(option.line, '-no-kvm-pit-reinjection → -global kvm-pit.lost_tick_policy=discard');
        break;
      case '-rtc':
        importRtc(draft, option);
        break;
      case '-global':
        importGlobal(draft, option);
        break;
      case '-daemonize':
        draft.set(['daemonize'], true, source);
        break;
      case '-pidfile':
        draft.set(['pidfile'], option.value, source, option.words);
        break;
      case '-runas':
        draft.set(['host', 'runAs'], option.value, source, option.words);
        break;
      case '-run-with':
        if (option.order.length === 1 && props.has('user')) draft.set(['host', 'runAs'], props.get('user'), source, option.words);
        else keep(draft, option);
        break;
      case '-vga':
        if (['none', 'std', 'virtio', 'qxl'].includes(option.value ?? '')) draft.set(['vga'], option.value, source);
        else keep(draft, option);
        break;
      case '-display':
        importDisplay(draft, option);
        break;
      case '-vnc':
        if (option.value !== undefined && /^[A-Za-z0-9.:[\]-]*:\d+$/.test(option.value)) {
          draft.set(['display'], { vnc: option.value }, source);
          draft.modernise(option.line, `-vnc ${option.value} → -display vnc=${option.value}`);
        } else keep(draft, option);
        break;
      case '-sdl':
        draft.set(['display'], 'sdl', source);
        draft.modernise(option.line, '-sdl → -display sdl');
        break;
      case '-nographic':
        draft.set(['display'], 'none', source);
        draft.warn(option.line, '-nographic: the display is none; the serial console and monitor it put on the terminal are not kept (boot-vm adds -nodefaults; QMP is the way in)');
        break;
      case '-serial':
      case '-parallel':
      case '-monitor':
        if (option.value === 'none') draft.note(option.line, `${source.text}: boot-vm's -nodefaults leaves it out`);
        else keep(draft, option);
        break;
      case '-qmp': {
        const path = /^unix:([^,]+)(,.*)?$/.exec(option.value ?? '')?.[1];
        if (path !== undefined && draft.set(['qmp'], path, source, option.words)) draft.modernise(option.line, `${source.text} → -chardev socket,id=qmp,path=${path},server=on,wait=off -mon chardev=qmp,mode=control`);
        else if (path === undefined) keep(draft, option);
        break;
      }
      case '-soundhw':
        importSoundhw(draft, option);
        break;
      default:
        rest.push(option);
    }
  }
  if (!machineSeen) {
    draft.set(['machine', 'type'], 'q35', { text: '(no -machine)', line: command.binary.line }, undefined, "no -machine in the script: QEMU's default is the i440FX pc machine; boot-vm plans Q35 only");
    draft.warn(command.binary.line, "no -machine: QEMU's default is the i440FX pc machine, and boot-vm plans Q35 only (its PCIe root ports are what passthrough needs); the guest sees a different chipset");
  }
  if (!has('-cpu')) draft.set(['cpu', 'model'], 'qemu64', { text: '(no -cpu)', line: command.binary.line }, undefined, "no -cpu in the script: QEMU's default model (boot-vm's own default is host)");
  if (!accelSeen) draft.warn(command.binary.line, 'no -enable-kvm or accel=kvm: QEMU would run this under TCG; the profile uses KVM (machine.accel: tcg to keep TCG)');
  importDevices(draft, rest, { nodefaults: has('-nodefaults') });
  importPinning(draft, command);
  if (!has('-nodefaults')) draft.note(undefined, "boot-vm adds -nodefaults: QEMU's default serial port, parallel port, monitor and empty CD-ROM are not kept");
  return { draft, ...(name === undefined ? {} : { name }) };
}

function importMachine(draft: Draft, option: ParsedOption): void {
  const at = (text: string) => ({ text, line: option.line });
  const type = option.head ?? option.props.get('type');
  if (type !== undefined) {
    if (/^(q35|pc-q35-\d+\.\d+)$/.test(type)) draft.set(['machine', 'type'], type, at(`-machine ${type}`));
    else {
      draft.set(['machine', 'type'], 'q35', at(`-machine ${type}`), undefined, `-machine ${type} (line ${option.line}): boot-vm plans Q35 only`);
      draft.warn(option.line, `-machine ${type}: boot-vm plans the Q35 machine only (its PCIe root ports are what passthrough needs); the guest sees a different chipset`);
    }
  }
  const left: string[] = [];
  for (const key of option.order) {
    const value = option.props.get(key);
    const text = value === undefined ? key : `${key}=${value}`;
    const bool = parseBool(value);
    switch (key.replaceAll('_', '-')) {
      case 'type':
        break;
      case 'accel':
        if (!draft.set(['machine', 'accel'], value, at(text))) left.push(key);
        break;
      case 'vmport':
        if (bool === undefined || !draft.set(['machine', 'vmport'], bool, at(text))) left.push(key);
        break;
      case 'dump-guest-core':
        if (bool === undefined || !draft.set(['machine', 'dumpGuestCore'], bool, at(text))) left.push(key);
        break;
      case 'kernel-irqchip': {
        const irqchip = value === undefined ? 'on' : bool === undefined ? value : bool ? 'on' : 'off';
        if (!draft.set(['machine', 'kernelIrqchip'], irqchip, at(text))) left.push(key);
        if (key.includes('_')) draft.modernise(option.line, `${key} → kernel-irqchip`);
        break;
      }
      case 'hpet':
        if (bool === undefined || !draft.set(['clock', 'hpet'], bool, at(text))) left.push(key);
        break;
      case 'memory-backend':
        // Matched with its -object by the device import.
        draft.note(option.line, `${text}: boot-vm attaches the memory backend itself`);
        break;
      default:
        left.push(key);
    }
  }
  if (left.length > 0) keepProps(draft, option, '-machine', left);
}

function importCpu(draft: Draft, option: ParsedOption): void {
  const at = (text: string) => ({ text, line: option.line });
  const model = option.head ?? 'qemu64';
  draft.set(['cpu', 'model'], model, at(`-cpu ${model}`));
  const underscores: string[] = [];
  const flags: string[] = [];
  const unknownHv: string[] = [];
  for (const key of option.order) {
    const value = option.props.get(key);
    const text = value === undefined ? key : `${key}=${value}`;
    // `+flag` / `-flag` are values themselves.
    const plain = key.replace(/^[+-]/, '');
    if (plain === 'kvm' && !/^[+-]/.test(key)) {
      const bool = parseBool(value);
      if (bool === false) draft.set(['cpu', 'hidden'], true, at(text));
      else if (bool === undefined) flags.push(text);
      continue;
    }
    if (/^hv[-_]/.test(plain)) {
      const kebab = plain.slice(3).replaceAll('_', '-');
      if (plain.includes('_')) underscores.push(plain);
      const flag = HYPERV_KEYS.get(kebab);
      const on = key.startsWith('-') ? false : key.startsWith('+') ? true : parseBool(value);
      let parsed: unknown;
      if (flag === 'spinlocks') parsed = parseNumber(value);
      else if (flag === 'vendorId') parsed = value;
      else if (flag === 'noNonarchCoresharing') parsed = value ?? 'on';
      else parsed = on;
      if (flag === undefined || parsed === undefined || !draft.set(['cpu', 'hyperv', flag], parsed, at(text))) unknownHv.push(`hv-${kebab}${value === undefined ? (key.startsWith('-') ? '=off' : '=on') : `=${value}`}`);
      continue;
    }
    flags.push(text);
  }
  if (flags.length > 0) {
    const asGlobal = (flag: string) => (/^[+-]/.test(flag) ? `${flag.slice(1)}=${flag.startsWith('-') ? 'off' : 'on'}` : flag.includes('=') ? flag : `${flag}=on`);
    const ok = flags.filter((flag) => draft.set(['cpu', 'flags'], [...((draft.get(['cpu', 'flags']) as string[] | undefined) ?? []), flag], at(flag), ['-global', `${model}-x86_64-cpu.${asGlobal(flag)}`]));
    if (ok.length > 0) draft.comments['cpu.flags'] = `${ok.join(',')} (line ${option.line})`;
  }
  if (underscores.length > 0) draft.modernise(option.line, `${underscores.join(', ')} → ${underscores.map((flag) => flag.replaceAll('_', '-')).join(', ')} (QEMU's spelling since 4.1)`);
  // A -cpu property boot-vm has no key for is still a property of the CPU's QOM type.
  for (const prop of unknownHv) {
    draft.keep(['-global', `${model}-x86_64-cpu.${prop}`], option.line);
  }
}

function importSmp(draft: Draft, option: ParsedOption): void {
  const num = (key: string) => parseNumber(option.props.get(key));
  const cpus = parseNumber(option.head ?? option.props.get('cpus'));
  const sockets = num('sockets') ?? 1;
  const threads = num('threads') ?? 1;
  const dies = num('dies') ?? 1;
  // QEMU ≥ 6.2 fills in cores first: `-smp 4` is 1 socket × 4 cores.
  const cores = num('cores') ?? (cpus !== undefined ? Math.max(1, Math.floor(cpus / (sockets * threads * dies))) : 1);
  const at = { text: sourceOf(option).text, line: option.line };
  draft.set(['cpu', 'sockets'], sockets * dies, at);
  draft.set(['cpu', 'cores'], cores, at);
  draft.set(['cpu', 'threads'], threads, at);
  if (dies > 1) draft.warn(option.line, `dies=${dies}: boot-vm has no dies; the guest gets ${sockets * dies} sockets instead`);
  if (cpus !== undefined && cpus !== sockets * dies * cores * threads) draft.warn(option.line, `${at.text}: ${cpus} vCPUs do not fill ${sockets * dies} × ${cores} × ${threads}; boot-vm gives the guest ${sockets * dies * cores * threads}`);
  const left = option.order.filter((key) => !['cpus', 'sockets', 'cores', 'threads', 'dies'].includes(key) && !(key === 'maxcpus' && num('maxcpus') === sockets * dies * cores * threads));
  if (left.length > 0) keepProps(draft, option, '-smp', left);
  if (!option.order.includes('cores') || !option.order.includes('sockets') || !option.order.includes('threads')) {
    draft.note(option.line, `${at.text}: written as -smp ${sockets * dies * cores * threads},sockets=${sockets * dies},cores=${cores},threads=${threads}, the topology QEMU 7.2 gives it`);
  }
}

function importMemorySize(draft: Draft, option: ParsedOption): void {
  const text = option.head ?? option.props.get('size');
  const bytes = text === undefined ? undefined : parseQemuSize(text, 'M');
  if (bytes === undefined) {
    draft.warn(option.line, `${sourceOf(option).text}: not a size boot-vm reads; kept verbatim in extraArgs`);
    keep(draft, option);
    return;
  }
  draft.set(['memory', 'size'], formatSize(bytes), sourceOf(option));
  const left = option.order.filter((key) => key !== 'size');
  if (left.length > 0) {
    keepProps(draft, option, '-m', left);
    draft.warn(option.line, `${left.join(', ')}: memory hot-plug has no profile key; kept verbatim in extraArgs`);
  }
}

function importMemPath(draft: Draft, option: ParsedOption): void {
  const path = option.value!;
  const source = sourceOf(option);
  const hugepages = hugepagesOfPath(path);
  if (hugepages) draft.set(['memory', 'hugepages'], hugepages, source, undefined, `${describeSource(source)}: a hugetlbfs mount${hugepages === '2M' ? ', 2M pages unless the host steps say otherwise' : ''}`);
  else draft.set(['memory', 'backend'], 'file', source);
  draft.set(['memory', 'path'], path, source, option.words);
  draft.modernise(option.line, `-mem-path ${path} → -object memory-backend-file,mem-path=${path}`);
}

function importRtc(draft: Draft, option: ParsedOption): void {
  const left: string[] = [];
  const at = (key: string) => ({ text: `-rtc ${key}=${option.props.get(key)}`, line: option.line });
  for (const key of option.order) {
    const value = option.props.get(key);
    const path = key === 'base' ? ['clock', 'base'] : key === 'clock' ? ['clock', 'rtcClock'] : key === 'driftfix' ? ['clock', 'driftfix'] : undefined;
    if (path === undefined || !/^(utc|localtime|host|rt|vm|slew|none)$/.test(value ?? '') || !draft.set(path, value, at(key))) left.push(key);
  }
  if (left.length > 0) keepProps(draft, option, '-rtc', left);
}

function importGlobal(draft: Draft, option: ParsedOption): void {
  const value = option.value ?? '';
  const source = sourceOf(option);
  const match = /^([^.=,]+)\.([^=]+)=(.*)$/.exec(value);
  if (!match) {
    keep(draft, option);
    return;
  }
  const [, driver, property, setting] = match as unknown as [string, string, string, string];
  if (driver === 'kvm-pit' && property === 'lost_tick_policy' && draft.set(['clock', 'pitLostTickPolicy'], setting, source)) return;
  const sleep = /^disable_(s3|s4)$/.exec(property)?.[1] as 's3' | 's4' | undefined;
  if ((driver === 'ICH9-LPC' || driver === 'PIIX4_PM') && sleep && /^[01]$/.test(setting)) {
    draft.set(['power', sleep], setting === '0', source);
    if (driver === 'PIIX4_PM') draft.modernise(option.line, `-global PIIX4_PM.${property} → -global ICH9-LPC.${property} (the Q35 chipset's)`);
    return;
  }
  keep(draft, option);
}

function importDisplay(draft: Draft, option: ParsedOption): void {
  const type = option.head;
  if (option.order.length === 0 && (type === 'none' || type === 'gtk' || type === 'sdl')) {
    draft.set(['display'], type, sourceOf(option));
    return;
  }
  if (type === 'vnc' && option.order.length === 1 && option.props.get('vnc')) {
    draft.set(['display'], { vnc: option.props.get('vnc') }, sourceOf(option), option.words);
    return;
  }
  // With options of its own the display is kept whole: the last -display wins, and extraArgs come last.
  keep(draft, option);
}

function importSoundhw(draft: Draft, option: ParsedOption): void {
  const devices: Record<string, string[]> = { hda: ['-device', 'intel-hda', '-device', 'hda-duplex'], ac97: ['-device', 'AC97'], es1370: ['-device', 'ES1370'] };
  const words = devices[option.value ?? ''];
  if (!words) {
    keep(draft, option);
    return;
  }
  draft.keep(words, option.line);
  draft.modernise(option.line, `-soundhw ${option.value} → ${words.join(' ')} (-soundhw was removed in QEMU 7.1)`);
}

/** taskset, chrt and nice before QEMU → process-mode pinning: taskset gives a set, not an order, so it is kept as the set all threads share. */
function importPinning(draft: Draft, command: ScriptCommand): void {
  const { taskset, chrt, nice } = command;
  if (!taskset) {
    if (chrt || nice) draft.warn((chrt ?? nice)!.line, `${chrt ? `chrt --${chrt.policy} ${chrt.priority}` : `nice -n ${nice!.value}`} without taskset: boot-vm applies a scheduler only with pinning; add pinning.cpus (with mode: process) to keep it`);
    return;
  }
  const cpus = formatCpuList(taskset.cpus);
  const at = { text: `taskset -c ${cpus}`, line: taskset.line };
  draft.set(['pinning', 'cpus'], cpus, at, undefined, `${describeSource(at)}: one set all QEMU threads share (taskset gives no order); for a CPU per vCPU write vcpus and mode: threads`);
  draft.set(['pinning', 'mode'], 'process', at, undefined, `${describeSource(at)}: the mask is set before QEMU starts, as the script does`);
  if (chrt) {
    const chrtAt = { text: `chrt --${chrt.policy} ${chrt.priority}`, line: chrt.line };
    draft.set(['pinning', 'scheduler', 'policy'], chrt.policy, chrtAt);
    if (chrt.priority !== 0 || chrt.policy === 'rr' || chrt.policy === 'fifo') draft.set(['pinning', 'scheduler', 'priority'], chrt.priority, chrtAt);
  } else {
    draft.set(['pinning', 'scheduler', 'policy'], 'other', at, undefined, `${describeSource(at)} alone: QEMU runs at the normal policy (boot-vm's default would be nice -20)`);
  }
  const policy = chrt?.policy ?? 'other';
  if (nice && (policy === 'other' || policy === 'batch')) draft.set(['pinning', 'scheduler', 'nice'], nice.value, { text: `nice -n ${nice.value}`, line: nice.line });
  else if (nice) draft.warn(nice.line, `nice -n ${nice.value}: the kernel ignores nice under ${policy}; left out`);
  else if (policy === 'other' || policy === 'batch') draft.set(['pinning', 'scheduler', 'nice'], 0, at, undefined, 'no nice in the script: 0, as it ran');
}
