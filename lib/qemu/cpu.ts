import { arg, type Arg, type BuildInput } from './arg.js';
import { buildHypervProps } from './hyperv.js';
import { formatProps } from './props.js';

/** `+invtsc` → `invtsc=on`, `-hypervisor` → `hypervisor=off`, `l3-cache=on` stays. */
function normalizeCpuFlag(flag: string): { name: string; text: string } {
  if (flag.startsWith('+')) return { name: flag.slice(1), text: `${flag.slice(1)}=on` };
  if (flag.startsWith('-')) return { name: flag.slice(1), text: `${flag.slice(1)}=off` };
  const [name = flag] = flag.split('=');
  return { name, text: flag.includes('=') ? flag : `${flag}=on` };
}

/** `-cpu host,kvm=off,hv-relaxed=on,…` */
export function buildCpu({ profile, version, diagnostics }: BuildInput): Arg[] {
  const { cpu, machine } = profile;
  if (cpu.model === 'host' && machine.accel === 'tcg') {
    diagnostics.error('cpu.model', 'the host model needs machine.accel: kvm; under tcg use max');
  }
  const hyperv = buildHypervProps(cpu.hyperv, version, diagnostics);
  if (machine.accel === 'tcg' && hyperv.props.some((prop) => prop.startsWith('hv-vpindex'))) {
    diagnostics.warn('cpu.hyperv', 'QEMU under tcg rejects hv-vpindex ("kernel doesn\'t allow setting HyperV VP_INDEX"); it needs kvm');
  }
  const flags: string[] = [];
  const seen = new Set<string>();
  cpu.flags.forEach((flag, index) => {
    const { name, text } = normalizeCpuFlag(flag);
    const key = `cpu.flags[${index}]`;
    if (/^hv[-_]/.test(name)) diagnostics.error(key, `set Hyper-V flags under cpu.hyperv, not cpu.flags (${name})`);
    else if (name === 'kvm') diagnostics.error(key, 'hide KVM with cpu.hidden: true, not cpu.flags');
    else if (seen.has(name)) diagnostics.error(key, `${name} is listed twice`);
    seen.add(name);
    flags.push(text);
  });
  const props = [...(cpu.hidden ? ['kvm=off'] : []), ...hyperv.props, ...flags];
  const from = ['cpu.model', ...(cpu.hidden ? ['cpu.hidden'] : []), ...hyperv.from, ...(flags.length > 0 ? ['cpu.flags'] : [])];
  // The schema keeps commas out of the model, flags and vendor id, so joining is safe.
  return [arg(['-cpu', [cpu.model, ...props].join(',')], from, hyperv.notes)];
}

/** The guest topology; cores default to what the pinned vCPU count implies. */
export function resolveTopology({ profile, diagnostics }: BuildInput): { sockets: number; cores: number; threads: number; vcpus: number; derivedCores: boolean } {
  const { sockets, threads } = profile.cpu;
  // A CPU set shared by all vCPUs (pinning.cpus) says nothing about how many there are.
  const pinned = profile.pinning && !profile.pinning.cpus ? profile.pinning.vcpus.length : undefined;
  let cores = profile.cpu.cores;
  let derivedCores = false;
  if (cores === undefined) {
    derivedCores = true;
    cores = 1;
    if (pinned !== undefined) {
      if (pinned % (sockets * threads) === 0) cores = pinned / (sockets * threads);
      else diagnostics.error('pinning.vcpus', `${pinned} pinned vCPUs cannot be split into ${sockets} socket(s) × ${threads} thread(s); set cpu.cores, cpu.sockets and cpu.threads to match`);
    }
  }
  const vcpus = sockets * cores * threads;
  if (pinned !== undefined && !derivedCores && pinned !== vcpus) {
    diagnostics.error('cpu.cores', `the topology gives ${sockets} × ${cores} × ${threads} = ${vcpus} vCPUs but pinning.vcpus lists ${pinned} host CPUs`);
  }
  return { sockets, cores, threads, vcpus, derivedCores };
}

/** `-smp 2,sockets=1,cores=2,threads=1` */
export function buildSmp(input: BuildInput): Arg[] {
  const topology = resolveTopology(input);
  const pinning = input.profile.pinning;
  const perVcpu = pinning !== undefined && !pinning.cpus;
  const notes = topology.derivedCores && perVcpu ? [`cores=${topology.cores} ← derived: ${pinning.vcpus.length} pinned vCPUs / (${topology.sockets} socket(s) × ${topology.threads} thread(s))`] : [];
  const from = ['cpu.sockets', ...(topology.derivedCores ? (perVcpu ? ['pinning.vcpus'] : []) : ['cpu.cores']), 'cpu.threads'];
  return [
    arg(['-smp', formatProps(String(topology.vcpus), [['sockets', topology.sockets], ['cores', topology.cores], ['threads', topology.threads]])], from, notes),
  ];
}
