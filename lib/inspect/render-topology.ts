/** cpu-topology's output: a table of cores, the per-CPU JSON, and a --suggest proposal. */
import { formatCpuList } from '../cpu-list.js';
import type { CpuTopology, LogicalCpu } from '../host/topology.js';
import type { PinningSuggestion } from './suggest-pinning.js';

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const listOrNone = (cpus: number[]) => (cpus.length > 0 ? formatCpuList(cpus) : 'none');
const show = (value: number | undefined) => (value === undefined ? '?' : String(value));

function pad(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]! + 2))).join('').trimEnd());
}

export function renderTopologyText(topology: CpuTopology): string {
  const { cpus } = topology;
  const online = cpus.filter((cpu) => cpu.online);
  const distinct = (key: (cpu: LogicalCpu) => unknown) => new Set(online.map(key)).size;
  const cores = new Map<string, LogicalCpu>();
  for (const cpu of online) if (!cores.has(cpu.threadSiblings.join(','))) cores.set(cpu.threadSiblings.join(','), cpu);
  const smt = [...cores.values()].filter((cpu) => cpu.threadSiblings.length > 1).length;
  const l3Caches = new Set(online.filter((cpu) => cpu.l3Shared.length > 0).map((cpu) => cpu.l3Shared.join(','))).size;
  const lines = [
    `${count(cpus.length, 'CPU')} (${listOrNone(cpus.map((cpu) => cpu.cpu))}): online ${listOrNone(online.map((cpu) => cpu.cpu))}, offline ${listOrNone(cpus.filter((cpu) => !cpu.online).map((cpu) => cpu.cpu))}, isolated ${listOrNone(cpus.filter((cpu) => cpu.isolated).map((cpu) => cpu.cpu))}`,
    `${count(distinct((cpu) => cpu.package), 'package')}, ${online.some((cpu) => cpu.die !== undefined) ? count(distinct((cpu) => `${cpu.package}/${cpu.die}`), 'die') : 'no die_id in sysfs'}, ${count(distinct((cpu) => cpu.node), 'NUMA node')}, ${count(cores.size, 'core')} (${smt} with SMT siblings), ${l3Caches > 0 ? count(l3Caches, 'L3 cache') : 'no L3 cache in sysfs'}`,
  ];
  if (topology.typeSource) {
    const ofType = (type: string) => listOrNone(online.filter((cpu) => cpu.type === type).map((cpu) => cpu.cpu));
    lines.push(`core types: P ${ofType('P')}, E ${ofType('E')} (from ${topology.typeSource})`);
  }
  for (const note of topology.notes ?? []) lines.push(`note: ${note}`);
  const rows = [['node', 'package', 'die', 'core', 'CPUs', 'type', 'L2 shared', 'L3 shared']];
  for (const cpu of cores.values()) {
    rows.push([show(cpu.node), show(cpu.package), show(cpu.die), show(cpu.core), formatCpuList(cpu.threadSiblings), cpu.type ?? '-', listOrNone(cpu.l2Shared), listOrNone(cpu.l3Shared)]);
  }
  return [...lines, '', ...pad(rows)].join('\n') + '\n';
}

/** Per logical CPU: `{"cpu", "package", "node", "core", "threadSiblings", "l2Shared", "l3Shared", "type"}`, plus die, online, isolated. */
export function renderTopologyJson(topology: CpuTopology): string {
  const cpus = topology.cpus.map((cpu) => ({
    cpu: cpu.cpu,
    package: cpu.package ?? null,
    die: cpu.die ?? null,
    node: cpu.node ?? null,
    core: cpu.core ?? null,
    threadSiblings: cpu.threadSiblings,
    l2Shared: cpu.l2Shared,
    l3Shared: cpu.l3Shared,
    type: cpu.type ?? null,
    online: cpu.online,
    isolated: cpu.isolated,
  }));
  return '[\n' + cpus.map((cpu) => `  ${JSON.stringify(cpu)}`).join(',\n') + '\n]\n';
}

export function renderSuggestionText(suggestion: PinningSuggestion): string {
  return [
    `vcpus:    ${suggestion.vcpus.join(',')}    (vCPU 0 on CPU ${suggestion.vcpus[0]}${suggestion.vcpus.length > 1 ? `, vCPU 1 on CPU ${suggestion.vcpus[1]}${suggestion.vcpus.length > 2 ? ', …' : ''}` : ''})`,
    `emulator: ${formatCpuList(suggestion.emulator)}`,
    'why:',
    ...suggestion.reasons.map((reason) => `  - ${reason}`),
    'in a profile:',
    '  pinning:',
    `    vcpus: [${suggestion.vcpus.join(', ')}]`,
    `    emulator: [${suggestion.emulator.join(', ')}]`,
  ].join('\n') + '\n';
}

export function renderSuggestionJson(suggestion: PinningSuggestion): string {
  const { vcpus, emulator, l3, node, reasons } = suggestion;
  const json = JSON.stringify({ vcpus, emulator, l3: l3 ?? null, node: node ?? null, reasons }, null, 2);
  // CPU lists on one line each: [2, 3, 4, 5] reads better than a number per line.
  return json.replace(/\[\s+(\d+(?:,\s+\d+)*)\s+\]/g, (_, list: string) => `[${list.split(/,\s+/).join(', ')}]`) + '\n';
}
