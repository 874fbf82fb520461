#!/usr/bin/env node
// npm run bench: how much a dry-run of the shipped mediapc profile costs over starting Node at
// all. Target: median wall time ≤ 1.5 × `node -e 0`, with boot-vm's caches warm (any run but
// the first). Also reports a cold run (empty cache: the YAML parser loads and QEMU is asked its
// version) and peak memory (max RSS). Then check-iommu, cpu-topology and doctor on a generated
// 512-CPU host against a small one (target ≤ 2×).
// Usage: node bench/run.mjs [--runs N]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import minimist from 'minimist';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const RSS_HOOK = fileURLToPath(new URL('rss-on-exit.mjs', import.meta.url));
const TARGET = 1.5;
const runs = Number(minimist(process.argv.slice(2), { default: { runs: 21 } }).runs);

const COMMANDS = {
  'node -e 0': ['-e', '0'],
  'boot-vm mediapc --dry-run': ['boot-vm.mjs', 'mediapc', '--dry-run'],
};

function run(args, extra = [], env = process.env) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [...extra, ...args], { cwd: REPO, encoding: 'utf8', env });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return { ms, stderr: result.stderr };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

// Warm the file cache and boot-vm's QEMU version cache, as on any second run.
for (const args of Object.values(COMMANDS)) run(args);

const times = Object.fromEntries(Object.keys(COMMANDS).map((name) => [name, []]));
// Interleave the commands so a burst of load on the machine hits both alike.
for (let i = 0; i < runs; i++) for (const [name, args] of Object.entries(COMMANDS)) times[name].push(run(args).ms);

const rss = Object.fromEntries(
  Object.entries(COMMANDS).map(([name, args]) => [name, Number(/bench-maxrss-kib (\d+)/.exec(run(args, ['--import', RSS_HOOK]).stderr)[1])]),
);

const cold = [];
for (let i = 0; i < 5; i++) {
  const cache = mkdtempSync(join(tmpdir(), 'boot-vm-bench-'));
  cold.push(run(COMMANDS['boot-vm mediapc --dry-run'], [], { ...process.env, XDG_CACHE_HOME: cache }).ms);
  rmSync(cache, { recursive: true, force: true });
}

const baseline = median(times['node -e 0']);
console.log(`${runs} runs each, median wall time and peak memory (max RSS):`);
for (const name of Object.keys(COMMANDS)) {
  const ms = median(times[name]);
  console.log(`  ${name.padEnd(28)} ${ms.toFixed(1).padStart(7)} ms  ${(ms / baseline).toFixed(2)}×  ${(rss[name] / 1024).toFixed(1).padStart(6)} MiB`);
}
console.log(`  ${'… cold (empty cache)'.padEnd(28)} ${median(cold).toFixed(1).padStart(7)} ms  ${(median(cold) / baseline).toFixed(2)}×  (median of 5)`);
const ratio = median(times['boot-vm mediapc --dry-run']) / baseline;
console.log(`dry-run / node -e 0 = ${ratio.toFixed(2)}× (target ≤ ${TARGET}×): ${ratio <= TARGET ? 'met' : 'MISSED'}`);

// The inspection scripts on a generated scale host (512 CPUs, 8 nodes, 1024 PCI devices, 4096
// IRQs; written to a temporary directory, not committed) against the blog's small host.
// Target: each ≤ 2× its time on the small host.
const SCALE_TARGET = 2;
const scaleRoot = mkdtempSync(join(tmpdir(), 'boot-vm-bench-scale-'));
const { scaleHost, writeHost } = await import('../test/fixtures/hosts/generate.mjs');
writeHost(join(scaleRoot, 'host'), scaleHost());
writeFileSync(join(scaleRoot, 'scale.yaml'), 'cpu: { cores: 8, threads: 2 }\npinning: auto\nmemory: { size: 16G, hugepages: 1G }\npassthrough:\n  - host: "07:00.0"\n  - host: "07:00.1"\n');
const small = join(REPO, 'test/fixtures/hosts/z77-i5-2500');
const scale = join(scaleRoot, 'host');
const INSPECT = {
  'check-iommu': [['scripts/check-iommu.mjs', '--sysroot', small], ['scripts/check-iommu.mjs', '--sysroot', scale]],
  'cpu-topology': [['scripts/cpu-topology.mjs', '--sysroot', small], ['scripts/cpu-topology.mjs', '--sysroot', scale]],
  'cpu-topology --suggest': [['scripts/cpu-topology.mjs', '--sysroot', small, '--suggest', '2'], ['scripts/cpu-topology.mjs', '--sysroot', scale, '--suggest', '16']],
  doctor: [['scripts/doctor.mjs', 'mediapc', '--sysroot', small], ['scripts/doctor.mjs', join(scaleRoot, 'scale.yaml'), '--sysroot', scale]],
};
// doctor exits 1 when a check fails; here that is an answer, not a crash.
const timeInspect = (args) => {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: REPO, encoding: 'utf8' });
  if (result.status !== 0 && result.status !== 1) throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
};
const inspectRuns = Math.max(5, Math.ceil(runs / 2));
console.log(`inspection scripts, small host (z77-i5-2500) vs scale host (512 CPUs, 8 nodes, 1024 PCI devices, 4096 IRQs), median of ${inspectRuns}:`);
let scaleMet = true;
for (const [name, [smallArgs, scaleArgs]] of Object.entries(INSPECT)) {
  timeInspect(smallArgs);
  timeInspect(scaleArgs);
  const smallTimes = [];
  const scaleTimes = [];
  for (let i = 0; i < inspectRuns; i++) {
    smallTimes.push(timeInspect(smallArgs));
    scaleTimes.push(timeInspect(scaleArgs));
  }
  const scaleRatio = median(scaleTimes) / median(smallTimes);
  scaleMet &&= scaleRatio <= SCALE_TARGET;
  console.log(`  ${name.padEnd(24)} ${median(smallTimes).toFixed(1).padStart(7)} ms → ${median(scaleTimes).toFixed(1).padStart(7)} ms  ${scaleRatio.toFixed(2)}× (target ≤ ${SCALE_TARGET}×)`);
}
rmSync(scaleRoot, { recursive: true, force: true });
console.log(`scale host / small host: ${scaleMet ? 'met' : 'MISSED'}`);
process.exitCode = ratio <= TARGET && scaleMet ? 0 : 1;
