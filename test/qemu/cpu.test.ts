import t from 'tap';
import * as v from 'valibot';
import { profileSchema } from '../../lib/profile/schema.js';
import { buildCpu, buildSmp, resolveTopology } from '../../lib/qemu/cpu.js';
import { buildInput, type ProfileData } from '../fixtures/build-input.js';

const cpuOf = (data: ProfileData, at?: string) => {
  const input = buildInput(data, at ? { version: at } : {});
  const args = buildCpu(input);
  return { args, errors: input.diagnostics.errors, warnings: input.diagnostics.warnings };
};

t.test('-cpu is the model, kvm=off when hidden, the Hyper-V flags, then the extra flags', async (t) => {
  const { args, errors } = cpuOf({ cpu: { model: 'host', hidden: true, hyperv: { relaxed: true, synic: true }, flags: ['+invtsc', 'l3-cache=on'] } });
  t.strictSame(errors, []);
  t.strictSame(args, [
    {
      words: ['-cpu', 'host,kvm=off,hv-relaxed=on,hv-vpindex=on,hv-synic=on,invtsc=on,l3-cache=on'],
      from: ['cpu.model', 'cpu.hidden', 'cpu.hyperv.relaxed', 'cpu.hyperv.synic', 'cpu.flags'],
      notes: ['hv-vpindex=on ← added: cpu.hyperv.synic needs it'],
    },
  ]);
});

t.test('a bare default profile gives -cpu host', async (t) => {
  t.strictSame(cpuOf({}).args, [{ words: ['-cpu', 'host'], from: ['cpu.model'], notes: [] }]);
});

t.test('flags are normalized to key=value', async (t) => {
  const { args, errors } = cpuOf({ cpu: { model: 'Skylake-Client', flags: ['+invtsc', '-hypervisor', 'pdpe1gb', 'l3-cache=on', 'host-phys-bits-limit=39'] } });
  t.strictSame(errors, []);
  t.equal(args[0]!.words[1], 'Skylake-Client,invtsc=on,hypervisor=off,pdpe1gb=on,l3-cache=on,host-phys-bits-limit=39');
});

t.test('Hyper-V or kvm flags in cpu.flags and repeated flags are errors', async (t) => {
  t.strictSame(cpuOf({ cpu: { flags: ['hv-relaxed', '+hv_vapic', 'kvm=off', '-kvm'] } }).errors, [
    { key: 'cpu.flags[0]', message: 'set Hyper-V flags under cpu.hyperv, not cpu.flags (hv-relaxed)' },
    { key: 'cpu.flags[1]', message: 'set Hyper-V flags under cpu.hyperv, not cpu.flags (hv_vapic)' },
    { key: 'cpu.flags[2]', message: 'hide KVM with cpu.hidden: true, not cpu.flags' },
    { key: 'cpu.flags[3]', message: 'hide KVM with cpu.hidden: true, not cpu.flags' },
  ]);
  t.strictSame(cpuOf({ cpu: { flags: ['invtsc', 'x2apic', '-invtsc', 'x2apic=off'] } }).errors, [
    { key: 'cpu.flags[2]', message: 'invtsc is listed twice' },
    { key: 'cpu.flags[3]', message: 'x2apic is listed twice' },
  ], 'a flag counts as the same whatever its spelling');
});

t.test('a +/- prefix is the value, so the schema refuses one with another value', async (t) => {
  for (const flag of ['+kvm=off', '-l3-cache=on']) {
    const result = v.safeParse(profileSchema, { memory: { size: '1G' }, cpu: { flags: [flag] } });
    t.equal(result.success, false, flag);
    t.strictSame(result.issues?.map((issue) => issue.message), ['expected a CPU flag like "invtsc", "-hypervisor" or "l3-cache=on"'], flag);
  }
});

t.test('tcg: the host model is an error, hv-vpindex a warning', async (t) => {
  const host = cpuOf({ machine: { accel: 'tcg' } });
  t.strictSame(host.errors, [{ key: 'cpu.model', message: 'the host model needs machine.accel: kvm; under tcg use max' }]);
  const max = cpuOf({ machine: { accel: 'tcg' }, cpu: { model: 'max', hyperv: { synic: true } } });
  t.strictSame(max.errors, []);
  t.strictSame(max.warnings, [{ key: 'cpu.hyperv', message: 'QEMU under tcg rejects hv-vpindex ("kernel doesn\'t allow setting HyperV VP_INDEX"); it needs kvm' }], 'also when hv-vpindex was only added as a dependency');
  t.strictSame(cpuOf({ machine: { accel: 'tcg' }, cpu: { model: 'max', hyperv: { relaxed: true } } }).warnings, [], 'other enlightenments are fine under tcg');
  t.strictSame(cpuOf({ cpu: { hyperv: { vpindex: true } } }).warnings, [], 'no warning under kvm');
});

t.test('Hyper-V version errors come through buildCpu', async (t) => {
  t.strictSame(cpuOf({ cpu: { hyperv: { avic: true } } }, '6.1').errors, [{ key: 'cpu.hyperv.avic', message: 'QEMU 6.1 lacks hv-avic (added in 6.2)' }]);
});

t.test('-smp: cores derived from the pinned vCPU count', async (t) => {
  const input = buildInput({ cpu: { threads: 2 }, pinning: { vcpus: '2-5' } });
  t.strictSame(buildSmp(input), [
    {
      words: ['-smp', '4,sockets=1,cores=2,threads=2'],
      from: ['cpu.sockets', 'pinning.vcpus', 'cpu.threads'],
      notes: ['cores=2 ← derived: 4 pinned vCPUs / (1 socket(s) × 2 thread(s))'],
    },
  ]);
  t.strictSame(input.diagnostics.errors, []);
});

t.test('-smp: a pinned count the sockets × threads cannot divide is an error', async (t) => {
  const input = buildInput({ cpu: { sockets: 2 }, pinning: { vcpus: [2, 3, 4] } });
  const topology = resolveTopology(input);
  t.strictSame(input.diagnostics.errors, [
    { key: 'pinning.vcpus', message: '3 pinned vCPUs cannot be split into 2 socket(s) × 1 thread(s); set cpu.cores, cpu.sockets and cpu.threads to match' },
  ]);
  t.equal(topology.derivedCores, true);
});

t.test('-smp: an explicit topology must match the pinned count', async (t) => {
  const input = buildInput({ cpu: { cores: 2, threads: 2 }, pinning: { vcpus: [2, 3, 4] } });
  const [smp] = buildSmp(input);
  t.strictSame(input.diagnostics.errors, [{ key: 'cpu.cores', message: 'the topology gives 1 × 2 × 2 = 4 vCPUs but pinning.vcpus lists 3 host CPUs' }]);
  t.strictSame(smp, { words: ['-smp', '4,sockets=1,cores=2,threads=2'], from: ['cpu.sockets', 'cpu.cores', 'cpu.threads'], notes: [] });
  const matching = buildInput({ cpu: { sockets: 2, cores: 2, threads: 1 }, pinning: { vcpus: '0-3' } });
  t.strictSame(buildSmp(matching)[0]!.words, ['-smp', '4,sockets=2,cores=2,threads=1']);
  t.strictSame(matching.diagnostics.errors, []);
});

t.test('-smp: no pinning and no cores gives one vCPU', async (t) => {
  const input = buildInput({});
  t.strictSame(buildSmp(input), [{ words: ['-smp', '1,sockets=1,cores=1,threads=1'], from: ['cpu.sockets', 'cpu.threads'], notes: [] }]);
  t.strictSame(input.diagnostics.errors, []);
  t.strictSame(buildSmp(buildInput({ cpu: { cores: 6, threads: 2 } }))[0]!.words, ['-smp', '12,sockets=1,cores=6,threads=2'], 'explicit cores without pinning');
});
