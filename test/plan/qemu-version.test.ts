import t from 'tap';
import { chooseQemuVersion, type QemuProbe } from '../../lib/plan/qemu-version.js';
import { NEWEST_KNOWN_QEMU, type DetectedVersion } from '../../lib/qemu/version.js';
import { noQemu } from '../fixtures/helpers.js';
import { profileOf, recorder } from '../fixtures/trees.js';

const NEWEST = `${NEWEST_KNOWN_QEMU.major}.${NEWEST_KNOWN_QEMU.minor}`;

/** A probe that answers `version` (from /usr/bin/<binary>) and records which binaries it was asked. */
function answering(version: string) {
  const asked: string[] = [];
  const [major, minor] = version.split('.').map(Number) as [number, number];
  const probe = (binary: string): DetectedVersion => {
    asked.push(binary);
    return { version: { major, minor }, path: `/usr/bin/${binary}` };
  };
  return { probe, asked };
}

function choose(qemu: Record<string, unknown>, cli: { major: number; minor: number } | undefined, probe: QemuProbe, launching = false) {
  const { diagnostics } = recorder();
  const choice = chooseQemuVersion(profileOf({ memory: { size: '1G' }, qemu }), cli, probe, launching, diagnostics);
  return { ...choice, errors: diagnostics.errors, warnings: diagnostics.warnings };
}

t.test('--qemu-version wins over qemu.version and the binary', async (t) => {
  const qemu = answering('8.2');
  t.strictSame(choose({ version: '7.2' }, { major: 9, minor: 1 }, qemu.probe), { version: { major: 9, minor: 1 }, note: 'QEMU version ← --qemu-version', errors: [], warnings: [] });
  t.strictSame(qemu.asked, [], 'the binary is not asked');
});

t.test('qemu.version wins over the binary', async (t) => {
  const qemu = answering('8.2');
  t.strictSame(choose({ version: '7.2.19' }, undefined, qemu.probe), { version: { major: 7, minor: 2 }, note: 'QEMU version ← qemu.version', errors: [], warnings: [] });
  t.strictSame(qemu.asked, [], 'the binary is not asked');
});

t.test('otherwise the binary is asked', async (t) => {
  const qemu = answering('8.2');
  t.strictSame(choose({}, undefined, qemu.probe), { version: { major: 8, minor: 2 }, note: 'QEMU 8.2 ← detected: /usr/bin/qemu-system-x86_64 --version', errors: [], warnings: [] });
  t.strictSame(qemu.asked, ['qemu-system-x86_64']);
});

t.test('the binary asked is qemu.binary', async (t) => {
  const qemu = answering('9.2');
  t.strictSame(choose({ binary: '/opt/my-qemu' }, undefined, qemu.probe).version, { major: 9, minor: 2 });
  t.strictSame(qemu.asked, ['/opt/my-qemu']);
});

t.test('a binary that cannot answer: a warning in a dry-run, planning for the newest known QEMU', async (t) => {
  t.strictSame(choose({}, undefined, noQemu), {
    version: NEWEST_KNOWN_QEMU,
    note: `QEMU ${NEWEST} ← assumed: qemu-system-x86_64 was not found on PATH`,
    errors: [],
    warnings: [`qemu.binary: qemu-system-x86_64 was not found on PATH; planning for QEMU ${NEWEST} (give --qemu-version X.Y to plan for another)`],
  });
});

t.test('a binary that cannot answer: an error when launching', async (t) => {
  const result = choose({ binary: '/opt/qemu/bin/qemu-system-x86_64' }, undefined, () => ({ problem: '/opt/qemu/bin/qemu-system-x86_64 was not found' }), true);
  t.strictSame([result.errors, result.warnings], [['qemu.binary: /opt/qemu/bin/qemu-system-x86_64 was not found'], []]);
});

t.test('a version older than 2.12 is an error at the key it came from', async (t) => {
  t.strictSame(choose({}, { major: 2, minor: 11 }, noQemu).errors, ['qemu.version: QEMU 2.11 is older than 2.12, the oldest boot-vm plans for']);
  t.strictSame(choose({ version: '1.7' }, undefined, noQemu).errors, ['qemu.version: QEMU 1.7 is older than 2.12, the oldest boot-vm plans for']);
  t.strictSame(choose({}, undefined, answering('2.11').probe).errors, ['qemu.binary: QEMU 2.11 is older than 2.12, the oldest boot-vm plans for']);
});

t.test('2.12 itself is fine', async (t) => {
  t.strictSame(choose({ version: '2.12' }, undefined, noQemu).errors, []);
});
