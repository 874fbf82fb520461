/** `vm stats`' output: a block of text per interval (redrawn in place on a terminal), or a JSON line. */
import { formatCpuList } from '../cpu-list.js';
import type { IntervalStats } from './vcpu-stats.js';

/** Moves a terminal's cursor home and clears the screen, so each interval replaces the last, as top does. */
export const REDRAW = '\x1b[H\x1b[2J';

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  // Numbers align right, the last column (free text) left.
  return rows.map((row) => `  ${row.map((cell, i) => (i === row.length - 1 ? cell : /^[\d.-]+$/.test(cell) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd());
}

const fixed = (value: number, digits = 1) => value.toFixed(digits);

export function renderStatsText(stats: IntervalStats): string {
  const { sampling } = stats;
  const clock = stats.time.slice(11, 19);
  const lines = [
    `${stats.vm} at ${clock} UTC, ${fixed(stats.seconds, 2)} s: ${sampling.samples} samples every ${sampling.periodMs} ms, ${sampling.scans} scans for other tasks, ${fixed(sampling.cpuPercent, 2)} % of a CPU`,
    ...table([
      ['vCPU', 'tid', 'on-CPU ms/s', 'run delay ms/s', 'longest wait ms', 'vol. sw/s', 'invol. sw/s', 'CPU', 'allowed', 'policy'],
      ...stats.vcpus.map((vcpu) => [
        String(vcpu.index),
        String(vcpu.tid),
        fixed(vcpu.onCpuMsPerS),
        fixed(vcpu.runDelayMsPerS),
        fixed(vcpu.longestWaitMs),
        fixed(vcpu.voluntarySwitchesPerS, 0),
        fixed(vcpu.involuntarySwitchesPerS, 0),
        String(vcpu.cpu),
        formatCpuList(vcpu.allowed),
        vcpu.policy === 'fifo' || vcpu.policy === 'rr' ? `${vcpu.policy} ${vcpu.priority}` : `${vcpu.policy} nice ${vcpu.nice}`,
      ]),
    ]),
    `  emulator: ${stats.emulator.threads} threads, run delay ${fixed(stats.emulator.runDelayMsPerS)} ms/s together`,
    ...table([
      ['CPU', 'irq/s', 'other tasks runnable'],
      ...stats.cpus.map((cpu) => [String(cpu.cpu), cpu.interruptsPerS === null ? '?' : fixed(cpu.interruptsPerS, 0), cpu.runnable.map((task) => `${task.name} (${task.pid})`).join(', ') || '-']),
    ]),
    ...stats.warnings.map((warning) => `warning: ${warning}`),
  ];
  return `${lines.join('\n')}\n`;
}

export const renderStatsJson = (stats: IntervalStats) => `${JSON.stringify(stats)}\n`;
