import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { chooseQemuVersion } from '../../lib/plan/qemu-version.js';
import { NEWEST_KNOWN_QEMU } from '../../lib/qemu/version.js';
import { profileOf, recorder, tree, writeScript } from '../fixtures/trees.js';

const NEWEST = `${NEWEST_KNOWN_QEMU.major}.${NEWEST_KNOWN_QEMU.minor}`;
const NOTHING_ON_PATH = { PATH: '', HOME: '/nonexistent' };

/** A PATH holding a qemu-system-x86_64 that prints `version` and counts its runs. */
function qemuOnPath(t: Parameters<typeof tree>[0], version: string) {
  const dir = tree(t, { runs: '' });
  const binary = writeScript(dir, 'qemu-system-x86_64', `echo run >> '${dir}/runs'\necho "QEMU emulator version ${version}"`);
  return { binary, env: { PATH: dir, HOME: join(dir, 'home'), XDG_CACHE_HOME: join(dir, 'cache') }, runs: () => readFileSync(join(dir, 'runs'), 'utf8').split('\n').filter(Boolean).length };
}

function choose(qemu: Record<string, unknown>, cli: { major: number; minor: number } | undefined, env: NodeJS.ProcessEnv, launching = false) {
  const { diagnostics } = recorder();
  const choice = chooseQemuVersion(profileOf({ memory: { size: '1G' }, qemu }), cli, env, launching, diagnostics);
  return { ...choice, errors: diagnostics.errors, warnings: diagnostics.warnings };
}

t.test('--qemu-version wins over qemu.version and the binary', async (t) => {
  const qemu = qemuOnPath(t, '8.2.2');
  t.strictSame(choose({ version: '7.2' }, { major: 9, minor: 1 }, qemu.env), { version: { major: 9, minor: 1 }, note: 'QEMU version ← --qemu-version', errors: [], warnings: [] });
  t.equal(qemu.runs(), 0);
});

t.test('qemu.version wins over the binary', async (t) => {
  const qemu = qemuOnPath(t, '8.2.2');
  t.strictSame(choose({ version: '7.2.19' }, undefined, qemu.env), { version: { major: 7, minor: 2 }, note: 'QEMU version ← qemu.version', errors: [], warnings: [] });
  t.equal(qemu.runs(), 0);
});

t.test('otherwise the binary is asked', async (t) => {
  const qemu = qemuOnPath(t, '8.2.2');
  t.strictSame(choose({}, undefined, qemu.env), { version: { major: 8, minor: 2 }, note: `QEMU 8.2 ← detected: ${qemu.binary} --version`, errors: [], warnings: [] });
  t.equal(qemu.runs(), 1);
});

t.test('the binary asked is qemu.binary', async (t) => {
  const qemu = qemuOnPath(t, '6.2.0');
  const other = writeScript(tree(t, {}), 'my-qemu', 'echo "QEMU emulator version 9.2.0"');
  t.strictSame(choose({ binary: other }, undefined, qemu.env).version, { major: 9, minor: 2 });
});

t.test('a binary that cannot answer: a warning in a dry-run, planning for the newest known QEMU', async (t) => {
  t.strictSame(choose({}, undefined, NOTHING_ON_PATH), {
    version: NEWEST_KNOWN_QEMU,
    note: `QEMU ${NEWEST} ← assumed: qemu-system-x86_64 was not found on PATH`,
    errors: [],
    warnings: [`qemu.binary: qemu-system-x86_64 was not found on PATH; planning for QEMU ${NEWEST} (give --qemu-version X.Y to plan for another)`],
  });
});

t.test('a binary that cannot answer: an error when launching', async (t) => {
  const result = choose({ binary: '/opt/qemu/bin/qemu-system-x86_64' }, undefined, NOTHING_ON_PATH, true);
  t.strictSame([result.errors, result.warnings], [['qemu.binary: /opt/qemu/bin/qemu-system-x86_64 was not found'], []]);
});

t.test('a version older than 2.12 is an error at the key it came from', async (t) => {
  t.strictSame(choose({}, { major: 2, minor: 11 }, NOTHING_ON_PATH).errors, ['qemu.version: QEMU 2.11 is older than 2.12, the oldest boot-vm plans for']);
  t.strictSame(choose({ version: '1.7' }, undefined, NOTHING_ON_PATH).errors, ['qemu.version: QEMU 1.7 is older than 2.12, the oldest boot-vm plans for']);
  const qemu = qemuOnPath(t, '2.11.1');
  t.strictSame(choose({}, undefined, qemu.env).errors, ['qemu.binary: QEMU 2.11 is older than 2.12, the oldest boot-vm plans for']);
});

t.test('2.12 itself is fine', async (t) => {
  t.strictSame(choose({ version: '2.12' }, undefined, NOTHING_ON_PATH).errors, []);
});
