// The three inspection scripts against this machine (`/`), checked against what the test reads
// from /sys and /proc itself. In CI that is a VM without IOMMU groups; elsewhere it may differ.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import t from 'tap';
import { parseCpuList } from '../../lib/cpu-list.js';
import { checkIommuCli, cpuTopologyCli, doctorCli } from '../fixtures/cli.js';
import { tree } from '../fixtures/trees.js';

const read = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};
const groups = existsSync('/sys/kernel/iommu_groups') ? readdirSync('/sys/kernel/iommu_groups').filter((name) => /^\d+$/.test(name)) : [];
const present = parseCpuList(read('/sys/devices/system/cpu/present') ?? '') ?? [];
const online = new Set(parseCpuList(read('/sys/devices/system/cpu/online') ?? '') ?? present);
const env = (t: Parameters<typeof tree>[0]) => ({ PATH: process.env.PATH ?? '', HOME: tree(t, {}) });

t.test('check-iommu tells the truth about the IOMMU groups here', async (t) => {
  const result = checkIommuCli([], { env: env(t) });
  t.equal(result.status, 0, result.stderr);
  if (groups.length === 0) {
    t.match(result.stdout, /^no IOMMU groups: the IOMMU is off or this machine has none; to turn it on, enable .* in the firmware setup, add .*iommu=on iommu=pt to the kernel command line/);
  } else {
    t.equal(result.stdout.match(/^IOMMU group \d+: /gm)?.length, groups.length, 'one heading per group');
  }
  const json = checkIommuCli(['--json'], { env: env(t) });
  t.equal(json.status, 0);
  t.equal(JSON.parse(json.stdout).length, groups.length);
});

t.test('cpu-topology shows the CPUs /sys lists, with their siblings', async (t) => {
  t.ok(present.length > 0, `this machine has CPUs (${present.length})`);
  const text = cpuTopologyCli([], { env: env(t) });
  t.equal(text.status, 0, text.stderr);
  t.match(text.stdout, new RegExp(`^${present.length} CPUs? `));
  const json = cpuTopologyCli(['--json'], { env: env(t) });
  const cpus = JSON.parse(json.stdout) as { cpu: number; online: boolean; threadSiblings: number[] }[];
  t.strictSame(cpus.map((cpu) => cpu.cpu), present);
  for (const cpu of cpus) {
    t.equal(cpu.online, online.has(cpu.cpu), `CPU ${cpu.cpu} online`);
    const siblings = read(`/sys/devices/system/cpu/cpu${cpu.cpu}/topology/thread_siblings_list`);
    if (cpu.online && siblings !== undefined) t.strictSame(cpu.threadSiblings, parseCpuList(siblings), `CPU ${cpu.cpu} siblings`);
  }
});

t.test('cpu-topology --suggest 1 here: a CPU off the first core, or a one-line refusal', async (t) => {
  const first = Math.min(...[...online]);
  const firstCore = parseCpuList(read(`/sys/devices/system/cpu/cpu${first}/topology/thread_siblings_list`) ?? `${first}`) ?? [first];
  const result = cpuTopologyCli(['--suggest', '1', '--json'], { env: env(t) });
  if (online.size > firstCore.length) {
    t.equal(result.status, 0, result.stderr);
    const { vcpus, emulator } = JSON.parse(result.stdout);
    t.equal(vcpus.length, 1);
    t.notOk(firstCore.includes(vcpus[0]), 'not on the host core');
    t.strictSame(emulator, firstCore);
  } else {
    t.equal(result.status, 2);
    t.match(result.stderr, /^cannot give 1 vCPUs whole cores here/);
  }
});

t.test('doctor runs against this machine without crashing, and its verdicts match the facts', async (t) => {
  const result = doctorCli(['mediapc'], { env: env(t) });
  t.notMatch(result.stderr, /internal error/);
  t.equal(result.stderr, '');
  const line = (check: string) => result.stdout.split('\n').find((text) => text.slice(6).startsWith(`${check}: `)) ?? '';
  t.match(line('/dev/kvm'), existsSync('/dev/kvm') ? /^pass/ : /^FAIL/);
  t.match(line('IOMMU'), groups.length > 0 ? /^pass/ : /^FAIL {2}IOMMU: off/);
  const flags = / (vmx|svm)( |$)/m.test(read('/proc/cpuinfo') ?? '');
  t.match(line('CPU virtualization'), flags ? /^pass/ : /^FAIL/);
  for (const address of ['0000:01:00.0', '0000:00:14.0']) {
    const short = address.slice(5);
    t.match(line(`passthrough ${short}`), existsSync(`/sys/bus/pci/devices/${address}`) ? /^pass/ : /^FAIL .*no such PCI device/);
  }
  const missingCpus = [2, 3].filter((cpu) => !present.includes(cpu));
  const offlineCpus = [2, 3].filter((cpu) => present.includes(cpu) && !online.has(cpu));
  t.match(line('pinned CPUs'), missingCpus.length > 0 ? /^FAIL .*do not exist/ : offlineCpus.length > 0 ? /^FAIL .*offline/ : /^pass/, 'mediapc pins to CPUs 2 and 3');
  t.equal(result.status, /^FAIL/m.test(result.stdout) ? 1 : 0, 'exit 1 exactly when a check fails');
  const json = doctorCli(['mediapc', '--json'], { env: env(t) });
  t.equal(JSON.parse(json.stdout).ok, json.status === 0);
});

t.test('doctor --boot-config for this machine names its CPU vendor', async (t) => {
  const vendor = /^vendor_id\s*:\s*(\S+)/m.exec(read('/proc/cpuinfo') ?? '')?.[1];
  const result = doctorCli(['mediapc', '--boot-config'], { env: env(t) });
  t.equal(result.status, 0);
  const param = vendor === 'AuthenticAMD' ? 'amd_iommu=on iommu=pt' : vendor === 'GenuineIntel' ? 'intel_iommu=on iommu=pt' : 'intel_iommu=on amd_iommu=on iommu=pt';
  t.match(result.stdout, new RegExp(`^${param}`, 'm'));
});
