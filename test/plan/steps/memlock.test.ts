// planMemlock (lib/plan/steps/memlock.ts): QEMU is started under prlimit with guest memory + 1G
// of locked memory when the guest locks its memory or has VFIO devices; skipped when boot-vm has
// CAP_IPC_LOCK (CapEff bit 14 of /proc/self/status) or its limits allow that much already.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { Sysroot } from '../../../lib/host/sysroot.js';
import type { StepContext } from '../../../lib/plan/steps/context.js';
import { planMemlock } from '../../../lib/plan/steps/memlock.js';
import { host } from '../../fixtures/helpers.js';
import { profileOf, recorder, sysrootOf } from '../../fixtures/trees.js';

const GIB = 1024 ** 3;
const LIMIT_8G = 9 * GIB;

function contextOf(data: Record<string, unknown>, sysroot: Sysroot): StepContext {
  return { name: 'vm', profile: profileOf({ memory: { size: '8G' }, ...data }), sysroot, report: recorder().report };
}

const status = (capEff: string) => ({ 'proc/self/status': `Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t${capEff}\nCapEff:\t${capEff}\nCapBnd:\t000001ffffffffff\n` });
const limits = (soft: string, hard: string) => ({
  'proc/self/limits': [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max stack size            8388608              unlimited            bytes     ',
    `Max locked memory         ${soft.padEnd(21)}${hard.padEnd(21)}bytes     `,
    'Max address space         unlimited            unlimited            bytes     ',
    '',
  ].join('\n'),
});
const WRAP = { do: { kind: 'wrap', argv: ['prlimit', `--memlock=${LIMIT_8G}:${LIMIT_8G}`] }, undo: [] };

t.test('passthrough: QEMU runs under prlimit with guest memory + 1G', async (t) => {
  t.strictSame(planMemlock(contextOf({ passthrough: [{ host: '01:00.0' }] }, host('lab'))), [
    {
      id: 'memlock-limit',
      phase: 'launch',
      title: "raise QEMU's locked-memory limit to 9G (guest memory + 1G)",
      from: ['memory.size', 'passthrough', 'host.memlock'],
      actions: [WRAP],
    },
  ]);
});

t.test('memory.lock is named when it asked for the step', async (t) => {
  const [step] = planMemlock(contextOf({ memory: { size: '8G', lock: true }, passthrough: [{ host: '01:00.0' }] }, host('lab')));
  t.strictSame(step!.from, ['memory.size', 'memory.lock', 'host.memlock']);
  const [alone] = planMemlock(contextOf({ memory: { size: '2G', lock: true } }, host('lab')));
  t.equal(alone!.title, "raise QEMU's locked-memory limit to 3G (guest memory + 1G)");
  t.strictSame(alone!.actions, [{ do: { kind: 'wrap', argv: ['prlimit', `--memlock=${3 * GIB}:${3 * GIB}`] }, undo: [] }]);
  const [odd] = planMemlock(contextOf({ memory: { size: '1536M', lock: true } }, host('lab')));
  t.equal(odd!.title, "raise QEMU's locked-memory limit to 2560M (guest memory + 1G)");
});

t.test('no step: nothing locks memory, or host.memlock false', async (t) => {
  t.strictSame(planMemlock(contextOf({}, host('lab'))), []);
  t.strictSame(planMemlock(contextOf({ passthrough: [{ host: '01:00.0' }], host: { memlock: false } }, host('lab'))), []);
  t.strictSame(planMemlock(contextOf({ memory: { size: '8G', lock: true }, host: { memlock: false } }, host('lab'))), []);
});

const CAP_SKIP = 'boot-vm runs with CAP_IPC_LOCK, which QEMU inherits: locking memory is not limited';

t.test('CAP_IPC_LOCK (bit 14 of CapEff): skipped', async (t) => {
  const skip = (capEff: string) => planMemlock(contextOf({ memory: { size: '8G', lock: true } }, sysrootOf(t, status(capEff))))[0]!.skip;
  t.equal(skip('0000000000004000'), CAP_SKIP, 'that bit alone');
  t.equal(skip('000001ffffffffff'), CAP_SKIP, 'root’s full set');
  t.equal(skip('0000000000003fff'), undefined, 'the bits below it');
  t.equal(skip('0000000000008000'), undefined, 'the bit above it');
  t.equal(skip('0000000000000000'), undefined, 'none');
});

t.test('with host.runAs, CAP_IPC_LOCK does not count (QEMU drops it with root), the limit does', async (t) => {
  const runAs = { memory: { size: '8G', lock: true }, host: { runAs: 'qemu' } };
  const step = planMemlock(contextOf(runAs, sysrootOf(t, status('000001ffffffffff'))))[0]!;
  t.strictSame(step.actions, [WRAP], 'the wrapper despite the capability');
  t.strictSame(step.notes, ['QEMU keeps this limit when it becomes qemu; CAP_IPC_LOCK it would not keep']);
  t.equal(planMemlock(contextOf(runAs, sysrootOf(t, { ...status('000001ffffffffff'), ...limits('unlimited', 'unlimited') })))[0]!.skip, 'the limit is unlimited already');
});

t.test('CAP_IPC_LOCK lacking and no limits file: the wrapper', async (t) => {
  t.strictSame(planMemlock(contextOf({ memory: { size: '8G', lock: true } }, sysrootOf(t, status('00000000a80425fb'))))[0]!.actions, [WRAP]);
});

t.test('limits: skipped when both soft and hard allow guest memory + 1G', async (t) => {
  const plan = (soft: string, hard: string) => planMemlock(contextOf({ memory: { size: '8G', lock: true } }, sysrootOf(t, { ...status('0000000000000000'), ...limits(soft, hard) })))[0]!;
  t.equal(plan('unlimited', 'unlimited').skip, 'the limit is unlimited already');
  t.equal(plan(String(LIMIT_8G), String(LIMIT_8G)).skip, `the limit is ${LIMIT_8G} already`, 'exactly enough');
  t.equal(plan(String(LIMIT_8G), 'unlimited').skip, `the limit is ${LIMIT_8G} already`);
  t.equal(plan('8388608', '8388608').skip, undefined, 'the usual 8M');
  t.strictSame(plan('8388608', '8388608').actions, [WRAP]);
  t.equal(plan('unlimited', String(LIMIT_8G - 1)).skip, undefined, 'the hard limit one byte short');
  t.equal(plan(String(LIMIT_8G - 1), 'unlimited').skip, undefined, 'the soft limit one byte short');
});

t.test('the live host: the skip follows this process’s own CapEff and limits', async (t) => {
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]!;
  const hasCap = ((BigInt(`0x${capEff}`) >> 14n) & 1n) === 1n;
  const [soft, hard] = /^Max locked memory\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))!.slice(1);
  const enough = [soft, hard].every((limit) => limit === 'unlimited' || Number(limit) >= LIMIT_8G);
  const [step] = planMemlock(contextOf({ memory: { size: '8G', lock: true } }, new Sysroot('/')));
  t.equal(step!.skip, hasCap ? CAP_SKIP : enough ? `the limit is ${soft} already` : undefined);
});
