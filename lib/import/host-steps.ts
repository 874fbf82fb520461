/**
 * Host steps of an imported script (the blog's on-boot.sh): each command becomes the profile's
 * `host` key that makes boot-vm do the same (lib/plan/steps/*.ts), a note when boot-vm does it
 * anyway (binding to vfio-pci, modprobe, sleep, mounting hugetlbfs), or a warning naming the line.
 */
import { parseCpuList, parseCpuMask } from '../cpu-list.js';

export interface ImportNote {
  line?: number;
  message: string;
}

/** One simple command of the script other than QEMU's: words expanded, quotes removed. */
export interface HostCommand {
  words: string[];
  /** `> path` or `>> path` (`| tee [-a] path` is turned into this too). */
  redirect?: { path: string; append: boolean };
  line: number;
  /** The command as written (continuations joined), for comments and warnings. */
  text: string;
}

export interface HostImport {
  /** Keys of the profile's `host:` mapping (lib/profile/schema.ts `host`). */
  host: Record<string, unknown>;
  /** When the script reserves huge pages (nr_hugepages, hugepagesz). */
  memory: { hugepages?: '2M' | '1G' };
  /** Profile key path (`host.sysctl.vm.stat_interval`, `host.ignoreMsrs`) → the source line(s) it came from (`line 3: echo …`), for a YAML comment. */
  comments: Record<string, string>;
  warnings: ImportNote[];
  /** Lines understood and dropped on purpose, because boot-vm does them itself (unbind/bind, modprobe vfio-pci, sleep…). */
  notes: ImportNote[];
  /** Owner and mode the script gives a shared memory file (`/dev/shm/looking-glass`, `/dev/kvmfr0`), by path: for the matching region's `owner` and `mode`. */
  sharedMemoryAccess?: Record<string, { owner?: string; mode?: string; line: number }>;
  /** `swtpm … --tpmstate dir=DIR`: for `tpm.stateDir` (boot-vm runs swtpm itself). */
  tpm?: { stateDir: string; line: number };
}

// The same pattern as the schema's sysctl keys: others are written as a generic step.
const SYSCTL_KEY = /^[a-z0-9_]+(\.[a-z0-9_-]+)+$/;
const PAGE_SIZES: Record<string, '2M' | '1G'> = { '2048': '2M', '1048576': '1G' };
const BOOT_VM_BINDS = 'boot-vm binds each passthrough device to vfio-pci itself (host.bindVfio) and gives it back afterwards';
// Commands that change nothing boot-vm would have to do.
const HARMLESS = new Set(['set', 'shopt', 'true', ':', 'cd', 'exit', 'wait', 'trap', 'read', 'clear', 'echo', 'printf', '[', '[[', 'test', 'lspci', 'ls', 'cat', 'dmesg', 'grep', 'free', 'lsmod', 'return', 'logger']);

export function importHostSteps(commands: HostCommand[]): HostImport {
  const importer = new HostImporter();
  for (const command of commands) importer.read(command);
  return importer.result();
}

class HostImporter {
  private readonly host: Record<string, unknown> = {};
  private readonly memory: HostImport['memory'] = {};
  private readonly sources = new Map<string, HostCommand[]>();
  private readonly warnings: ImportNote[] = [];
  private readonly notes: ImportNote[] = [];
  private readonly sysctl: Record<string, string | number> = {};
  private readonly steps: { write: { path: string; value: string } }[] = [];
  private readonly unloadModules: string[] = [];
  private readonly stopServices: string[] = [];
  private readonly sharedMemoryAccess: NonNullable<HostImport['sharedMemoryAccess']> = {};
  private tpm: HostImport['tpm'];

  result(): HostImport {
    if (Object.keys(this.sysctl).length > 0) this.host.sysctl = this.sysctl;
    if (this.steps.length > 0) this.host.steps = this.steps;
    if (this.unloadModules.length > 0) this.host.unloadModules = this.unloadModules;
    if (this.stopServices.length > 0) this.host.stopServices = this.stopServices;
    const comments: Record<string, string> = {};
    for (const [key, commands] of this.sources) {
      const lines = [...new Set(commands.map((command) => command.line))];
      comments[key] = `${lines.length > 1 ? 'lines' : 'line'} ${lines.join(', ')}: ${[...new Set(commands.map((command) => command.text))].join('; ')}`;
    }
    const result: HostImport = { host: this.host, memory: this.memory, comments, warnings: once(this.warnings), notes: once(this.notes) };
    if (Object.keys(this.sharedMemoryAccess).length > 0) result.sharedMemoryAccess = this.sharedMemoryAccess;
    if (this.tpm) result.tpm = this.tpm;
    return result;
  }

  private set(key: string, value: unknown, command: HostCommand): void {
    const old = this.host[key];
    if (old !== undefined && JSON.stringify(old) !== JSON.stringify(value)) {
      this.warnings.push({ line: command.line, message: `${command.text}: host.${key} was ${JSON.stringify(old)} from an earlier line; the later ${JSON.stringify(value)} is kept` });
    }
    this.host[key] = value;
    this.source(`host.${key}`, command);
  }

  private source(key: string, command: HostCommand): void {
    const list = this.sources.get(key) ?? [];
    if (!list.includes(command)) list.push(command);
    this.sources.set(key, list);
  }

  private warn(command: HostCommand, why: string): void {
    this.warnings.push({ line: command.line, message: `${command.text}: ${why}` });
  }

  private note(command: HostCommand, why: string): void {
    this.notes.push({ line: command.line, message: `${command.text}: ${why}` });
  }

  read(command: HostCommand): void {
    const words = stripSudo(command.words);
    const name = basename(words[0] ?? '');
    const args = words.slice(1);
    if (name === 'exec' && args.length === 0) return this.note(command, "it redirects the script's own output");
    if (command.redirect && (name === 'echo' || name === 'printf')) {
      const value = name === 'echo' ? echoed(args) : printed(args);
      if (command.redirect.append && !command.redirect.path.startsWith('/sys/') && !command.redirect.path.startsWith('/proc/')) this.warn(command, `appending to ${command.redirect.path} is not imported`);
      else this.write(command.redirect.path, value, command);
      return;
    }
    if (command.redirect) {
      this.warn(command, `not imported: ${name}'s output into ${command.redirect.path} is not a host setting boot-vm has`);
      return;
    }
    switch (name) {
      case 'sysctl':
        return this.readSysctl(args, command);
      case 'modprobe':
      case 'insmod':
        return this.readModprobe(args, command);
      case 'rmmod':
        for (const module of args.filter((arg) => !arg.startsWith('-'))) this.unloadModule(module, command);
        return;
      case 'sleep':
        return this.note(command, 'boot-vm waits for each device to reach vfio-pci itself');
      case 'mount':
        return this.readMount(args, command);
      case 'hugeadm': {
        // libhugetlbfs: `hugeadm --pool-pages-min 1G:8` (or 2MB:4096, 2097152:4096).
        const pool = /^(\d+)([KMG]?)B?:/i.exec(args[args.findIndex((arg) => /^--pool-pages-m(in|ax)$/.test(arg)) + 1] ?? '');
        const bytes = pool ? Number(pool[1]) * 1024 ** ' KMG'.indexOf((pool[2] || ' ').toUpperCase()) : 0;
        const size = bytes === 2 * 1024 ** 2 ? '2M' : bytes === 1024 ** 3 ? '1G' : undefined;
        if (!size) return this.warn(command, 'not imported: expected hugeadm --pool-pages-min 2M:N or 1G:N');
        this.hugepages(size, command);
        return this.note(command, 'boot-vm reserves the number of huge pages the VM needs itself, on the node its memory is bound to');
      }
      case 'umount':
        return this.note(command, 'boot-vm unmounts the hugetlbfs it mounted');
      case 'ulimit':
        if (args.some((arg) => /^-[a-zA-Z]*l/.test(arg))) return this.note(command, "boot-vm raises QEMU's locked-memory limit itself (host.memlock)");
        return this.warn(command, 'not imported: boot-vm only sets the locked-memory limit');
      case 'cpupower':
        return this.readCpupower(args, command);
      case 'systemctl':
        return this.readSystemctl(args, command);
      case 'virsh':
        if (/^nodedev-(detach|dettach|reattach|reset)$/.test(args[0] ?? '')) return this.note(command, BOOT_VM_BINDS);
        return this.warn(command, 'not imported: a virsh command');
      case 'mkdir':
        if (args.some((arg) => !arg.startsWith('-') && !/huge/i.test(arg))) return this.warn(command, 'not imported: boot-vm makes only the hugetlbfs mount point');
        return this.note(command, 'boot-vm makes the hugetlbfs mount point itself');
      case 'touch':
      case 'chown':
      case 'chmod':
      case 'chgrp':
        return this.readSharedMemoryAccess(name, args, command);
      case 'swtpm': {
        const stateDir = /(?:^|,)dir=([^,]+)/.exec(args[args.indexOf('--tpmstate') + 1] ?? '')?.[1];
        if (args[0] !== 'socket' || args.indexOf('--tpmstate') < 0 || stateDir === undefined) return this.warn(command, 'not imported: boot-vm runs swtpm itself for tpm; expected swtpm socket --tpmstate dir=…');
        this.tpm = { stateDir, line: command.line };
        return this.note(command, `boot-vm runs swtpm itself (tpm), its state in ${stateDir}`);
      }
      case 'ip':
      case 'brctl':
      case 'tunctl':
        if (/^(tuntap|tap)$/.test(args[0] ?? '') || (args[0] === 'link' && args.includes('master')) || args[0] === 'addif' || name === 'tunctl') {
          return this.warn(command, "not imported: boot-vm does not make tap devices; a network card with bridge: { name: … } lets QEMU's bridge helper add one to the bridge");
        }
        return this.warn(command, 'not imported: boot-vm does not configure host networking');
      case 'source':
      case '.':
        return this.warn(command, 'not imported: the file it reads is not read here; import its lines too');
      default:
        if (HARMLESS.has(name)) return this.note(command, 'changes nothing on the host');
        return this.warn(command, 'not imported: boot-vm has no host setting for it; add it to host.steps as a run step if it is needed');
    }
  }

  private write(path: string, value: string, command: HostCommand): void {
    let match: RegExpExecArray | null;
    if (path === '/proc/sys/vm/nr_hugepages' || path === '/proc/sys/vm/nr_hugepages_mempolicy' || path === '/proc/sys/vm/nr_overcommit_hugepages') {
      this.hugepages('2M', command);
      this.note(command, "huge pages of the default size, taken as 2M (the kernel's unless default_hugepagesz says otherwise); boot-vm reserves the number the VM needs itself");
    } else if ((match = /^\/sys\/(?:kernel\/mm|devices\/system\/node\/node\d+)\/hugepages\/hugepages-(\d+)kB\/nr(?:_overcommit)?_hugepages$/.exec(path))) {
      const size = PAGE_SIZES[match[1]!];
      if (!size) return this.warn(command, `not imported: huge pages of ${match[1]} kB; boot-vm takes 2M or 1G`);
      this.hugepages(size, command);
      this.note(command, 'boot-vm reserves the number of huge pages the VM needs itself, on the node its memory is bound to');
    } else if (path === '/proc/sys/vm/drop_caches' || path === '/proc/sys/vm/compact_memory') {
      this.note(command, 'boot-vm compacts memory before it reserves huge pages');
    } else if (path.startsWith('/proc/sys/') && SYSCTL_KEY.test(path.slice('/proc/sys/'.length).replaceAll('/', '.'))) {
      this.setSysctl(path.slice('/proc/sys/'.length).replaceAll('/', '.'), value, command);
    } else if (path === '/sys/module/kvm/parameters/ignore_msrs') {
      const on = /^(1|y|Y)$/.test(value);
      if (!on && !/^(0|n|N)$/.test(value)) return this.warn(command, `not imported: expected 1/Y or 0/N for ignore_msrs, got ${value}`);
      this.set('ignoreMsrs', on, command);
    } else if (path === '/sys/bus/workqueue/devices/writeback/cpumask') {
      const cpus = parseCpuMask(value);
      if (!cpus) return this.warn(command, `not imported: cannot read the CPU mask ${value}`);
      this.set('writebackCpus', cpus, command);
    } else if (path === '/sys/bus/workqueue/devices/writeback/cpulist') {
      const cpus = parseCpuList(value);
      if (!cpus) return this.warn(command, `not imported: cannot read the CPU list ${value}`);
      this.set('writebackCpus', cpus, command);
    } else if (/^\/sys\/class\/vtconsole\/vtcon(\d+|\*)\/bind$/.test(path) || /^\/sys\/bus\/platform\/drivers\/[a-z-]*framebuffer\/unbind$/.test(path)) {
      if (path.endsWith('/bind') && value !== '0') return this.note(command, 'boot-vm binds the consoles back when the VM stops');
      this.set('unbindConsoles', true, command);
    } else if (/^\/sys\/bus\/platform\/drivers\/[a-z-]*framebuffer\/bind$/.test(path)) {
      this.note(command, 'boot-vm binds the framebuffer back when the VM stops');
    } else if (path === '/sys/bus/pci/drivers/vfio-pci/new_id') {
      this.set('bindMethod', 'new-id', command);
      this.note(command, 'the device ids come from the passthrough devices');
    } else if ((match = /^\/sys\/bus\/pci\/devices\/[^/]+\/driver_override$/.exec(path))) {
      if (value !== 'vfio-pci') return this.note(command, 'boot-vm clears driver_override when the VM stops');
      this.set('bindMethod', 'driver-override', command);
    } else if (/^\/sys\/bus\/pci\/(devices\/[^/]+\/driver\/unbind|drivers\/[^/]+\/(bind|unbind|remove_id)|drivers_probe)$/.test(path)) {
      this.note(command, BOOT_VM_BINDS);
    } else if (path === '/sys/bus/pci/rescan') {
      this.set('rescan', true, command);
    } else if (/^\/sys\/bus\/pci\/devices\/[^/]+\/remove$/.test(path)) {
      this.warn(command, 'not imported: boot-vm does not remove PCI devices (host.rescan rescans the bus)');
    } else if (/^\/sys\/devices\/system\/cpu\/(cpu(\d+|\*)\/cpufreq|cpufreq\/policy(\d+|\*))\/scaling_governor$/.test(path)) {
      this.governor(value, command);
    } else if (/^\/proc\/irq\/[^/]+\/smp_affinity(_list)?$/.test(path) || path === '/proc/irq/default_smp_affinity') {
      this.set('irqAffinity', true, command);
      this.warn(command, "the IRQ masks themselves are not imported: with host.irqAffinity boot-vm sends the passed devices' IRQs to the guest's CPUs and the others off them");
    } else if (path.startsWith('/sys/') || path.startsWith('/proc/sys/')) {
      this.steps.push({ write: { path, value } });
      this.source(`host.steps[${this.steps.length - 1}]`, command);
    } else {
      this.warn(command, `not imported: a write to ${path}, which is not a kernel setting`);
    }
  }

  private setSysctl(key: string, value: string, command: HostCommand): void {
    if (key === 'vm.nr_hugepages' || key === 'vm.nr_overcommit_hugepages' || key === 'vm.drop_caches' || key === 'vm.compact_memory') {
      return this.write(`/proc/sys/${key.replaceAll('.', '/')}`, value, command);
    }
    const old = this.sysctl[key];
    const stored = /^-?\d{1,15}$/.test(value) ? Number(value) : value;
    if (old !== undefined && old !== stored) this.warn(command, `${key} was ${old} from an earlier line; ${value} is kept`);
    this.sysctl[key] = stored;
    this.source(`host.sysctl.${key}`, command);
  }

  private hugepages(size: '2M' | '1G', command: HostCommand): void {
    if (this.memory.hugepages && this.memory.hugepages !== size) this.warn(command, `huge pages of ${this.memory.hugepages} were reserved on an earlier line; ${size} is kept`);
    this.memory.hugepages = size;
    this.source('memory.hugepages', command);
    this.set('hugepages', true, command);
  }

  private governor(value: string, command: HostCommand): void {
    if (!/^[a-z]+$/.test(value)) return this.warn(command, `not imported: ${value} is not a governor name`);
    this.set('governor', value, command);
  }

  private readSysctl(args: string[], command: HostCommand): void {
    let wrote = false;
    for (const arg of args) {
      const assignment = /^([^=\s]+)\s*=\s*(.*)$/.exec(arg);
      if (assignment) {
        const key = assignment[1]!.replaceAll('/', '.');
        wrote = true;
        if (SYSCTL_KEY.test(key)) this.setSysctl(key, assignment[2]!, command);
        else this.warn(command, `not imported: ${key} is not a sysctl key like vm.stat_interval`);
      } else if (arg === '-p' || arg === '--load' || arg === '--system' || arg.startsWith('--load=')) {
        return this.warn(command, 'not imported: it loads sysctl settings from files; put the ones the VM needs under host.sysctl');
      }
    }
    if (!wrote) this.note(command, 'only reads settings');
  }

  private readModprobe(args: string[], command: HostCommand): void {
    const remove = args.some((arg) => arg === '-r' || arg === '--remove' || /^-[a-zA-Z]*r/.test(arg));
    const modules = args.filter((arg) => !arg.startsWith('-') && !arg.includes('='));
    if (remove) {
      for (const module of modules) this.unloadModule(module, command);
      return;
    }
    const parameters = args.filter((arg) => arg.includes('='));
    if (modules.length === 1 && modules[0] === 'kvmfr') return this.note(command, "boot-vm loads kvmfr itself, sized for the profile's /dev/kvmfrN regions");
    if (modules.every((module) => /^(vfio|vfio[-_]pci|vfio[-_]iommu[-_]type1|vfio[-_]virqfd|kvm|kvm[-_](intel|amd))$/.test(module)) && parameters.length === 0) {
      return this.note(command, 'boot-vm loads the vfio and kvm modules itself (host.modules)');
    }
    this.warn(command, 'not imported: boot-vm loads only the vfio and kvm modules; add a host.steps run step if this one is needed');
  }

  private unloadModule(module: string, command: HostCommand): void {
    if (!/^[A-Za-z0-9_-]+$/.test(module)) return this.warn(command, `not imported: ${module} is not a module name`);
    if (!this.unloadModules.includes(module)) this.unloadModules.push(module);
    this.source('host.unloadModules', command);
  }

  /** touch/chown/chmod on a shared memory file: its owner and mode, which boot-vm sets itself from the region's keys. */
  private readSharedMemoryAccess(name: string, args: string[], command: HostCommand): void {
    const operands = args.filter((arg) => !arg.startsWith('-'));
    const paths = (name === 'touch' ? operands : operands.slice(1)).filter((path) => /^\/dev\/(shm\/[^/]+|kvmfr\d+)$/.test(path));
    if (paths.length === 0 || paths.length !== (name === 'touch' ? operands.length : operands.length - 1)) {
      return this.warn(command, 'not imported: boot-vm sets owners and modes only on the shared memory files it makes');
    }
    for (const path of paths) {
      const access = (this.sharedMemoryAccess[path] ??= { line: command.line });
      access.line = command.line;
      if (name === 'chown') access.owner = operands[0]!.replace(/:$/, '');
      if (name === 'chgrp') access.owner = `${access.owner?.split(':')[0] ?? 'root'}:${operands[0]}`;
      if (name === 'chmod') access.mode = operands[0];
    }
    this.note(command, 'boot-vm makes the shared memory file itself, with the owner and mode of its region (sharedMemory or lookingGlass owner, mode)');
  }

  private readMount(args: string[], command: HostCommand): void {
    if (!args.includes('hugetlbfs')) return this.warn(command, 'not imported: boot-vm mounts only hugetlbfs');
    const size = /pagesize=(\w+)/.exec(args.join(' '))?.[1]?.toUpperCase();
    if (size === '1G' || size === '1024M') this.hugepages('1G', command);
    else if (size === '2M' || size === '2048K') this.hugepages('2M', command);
    this.note(command, 'boot-vm mounts hugetlbfs for the page size when no mount has it');
  }

  private readCpupower(args: string[], command: HostCommand): void {
    const at = args.findIndex((arg) => arg === '-g' || arg === '--governor');
    if (args.includes('frequency-set') && at >= 0 && args[at + 1]) return this.governor(args[at + 1]!, command);
    this.warn(command, 'not imported: boot-vm sets only the governor (host.governor)');
  }

  private readSystemctl(args: string[], command: HostCommand): void {
    const rest = args.filter((arg) => !arg.startsWith('-'));
    const [verb, ...units] = rest;
    if (verb === 'stop' && units.length > 0) {
      for (const unit of units) {
        if (!/^[A-Za-z0-9:_.@\\-]+$/.test(unit)) return this.warn(command, `not imported: ${unit} is not a unit name`);
        const name = unit.replace(/\.service$/, '');
        if (!this.stopServices.includes(name)) this.stopServices.push(name);
      }
      this.source('host.stopServices', command);
      return;
    }
    if (verb === 'start' || verb === 'restart') return this.note(command, 'boot-vm starts the units it stopped (host.stopServices) when the VM stops');
    if (verb === 'set-property' && rest.some((arg) => arg.startsWith('AllowedCPUs='))) {
      this.set('shield', 'systemd', command);
      return this.warn(command, "the CPU list is not imported: with host.shield boot-vm keeps host tasks off the vCPUs' CPUs");
    }
    this.warn(command, 'not imported: boot-vm stops units only for the VM (host.stopServices)');
  }
}

/** Each note once: a loop body reads the same line once per value. */
function once(notes: ImportNote[]): ImportNote[] {
  const seen = new Set<string>();
  return notes.filter((note) => {
    const key = `${note.line}\0${note.message}`;
    return !seen.has(key) && Boolean(seen.add(key));
  });
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function stripSudo(words: string[]): string[] {
  if (!['sudo', 'doas'].includes(basename(words[0] ?? ''))) return words;
  let i = 1;
  while (i < words.length && words[i]!.startsWith('-')) {
    if (words[i] === '--') return words.slice(i + 1);
    i += /^-[A-Za-z]*[ugCDhprtTUR]$/.test(words[i]!) ? 2 : 1;
  }
  return words.slice(i);
}

/** What `echo [-n] [-e] words…` prints, without the newline. */
function echoed(args: string[]): string {
  let i = 0;
  let escapes = false;
  while (/^-[neE]+$/.test(args[i] ?? '')) escapes ||= args[i++]!.includes('e');
  const text = args.slice(i).join(' ');
  return escapes ? text.replace(/\\n/g, '\n').replace(/\\t/g, '\t').trim() : text;
}

/** What `printf FORMAT [args…]` prints for the simple forms scripts use (`%s\n` or a plain string). */
function printed(args: string[]): string {
  const [format = '', ...rest] = args;
  let i = 0;
  return format.replace(/%[sd]|\\n/g, (spec) => (spec === '\\n' ? '' : (rest[i++] ?? ''))).trim();
}
