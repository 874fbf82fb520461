// The systemd export: every shipped profile's unit passes `systemd-analyze verify` (skipped where
// systemd-analyze is missing, unless REQUIRE_LIBVIRT=1, which CI sets for this tools), the
// stop is left to boot-vm with a timeout above its own, and mediapc's unit is compared with a golden
// file. BOOT_VM_REGENERATE=1 rewrites it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { DEFAULT_STOP_TIMEOUT_S, STOP_ESCALATION_MS } from '../../lib/apply/stop.js';
import { LAUNCHER_TEARDOWN_TIMEOUT_MS } from '../../lib/apply/vm-stop.js';
import type { ExportContext } from '../../lib/export/context.js';
import { systemdUnit, unitName } from '../../lib/export/systemd.js';
import { planShipped, shippedProfiles } from '../fixtures/export.js';
import { FIXTURES, REPO } from '../fixtures/helpers.js';

const regenerate = process.env.BOOT_VM_REGENERATE === '1';
const BOOT_VM = join(REPO, 'boot-vm.mjs');
const context = (profileArg: string, extra: Partial<ExportContext> = {}): ExportContext => ({ bootVm: BOOT_VM, profileArg, nodeDir: '/usr/bin', ...extra });

const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const noAnalyze = analyze.error ? 'systemd-analyze is not installed (Debian: systemd)' : undefined;
if (noAnalyze && process.env.REQUIRE_LIBVIRT === '1') t.fail(`REQUIRE_LIBVIRT=1: ${noAnalyze}`);

/** `systemd-analyze verify` on the unit, written under its own name (which it checks) in a directory of its own. */
function verify(t: Test, name: string, text: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'boot-vm-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, name);
  writeFileSync(file, text);
  const result = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

t.test('every shipped profile: systemd-analyze verify passes', { skip: noAnalyze }, async (t) => {
  for (const profile of shippedProfiles()) {
    const plan = planShipped(profile);
    const text = systemdUnit(plan, context(profile));
    t.equal(text.split('\n')[0], `# /etc/systemd/system/${unitName(profile)}`, `${profile}: the first line names the file`);
    const { status, output } = verify(t, unitName(profile), text);
    t.equal(status, 0, `${profile}: verified`);
    t.notMatch(output, unitName(profile), `${profile}: nothing said about the unit`);
  }
});

t.test('a profile outside the checkout, by its absolute path with a space; node off the default PATH', { skip: noAnalyze }, async (t) => {
  const text = systemdUnit(planShipped('mediapc'), context('/srv/my vms/media%pc.yaml', { nodeDir: '/opt/node 20/bin', qemuBinary: '/opt/qemu/bin/qemu-system-x86_64' }));
  t.match(text, `\nExecStart=${BOOT_VM} "/srv/my vms/media%%pc.yaml" --qemu-binary /opt/qemu/bin/qemu-system-x86_64 --stop-timeout ${DEFAULT_STOP_TIMEOUT_S}\n`, 'quoted, % escaped, --qemu-binary passed on');
  t.match(text, '\nEnvironment="PATH=/opt/node 20/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"\n');
  const { status, output } = verify(t, 'boot-vm-mediapc.service', text);
  t.equal(status, 0, output);
});

t.test('the stop: SIGTERM to boot-vm alone, above its longest stop', async (t) => {
  const text = systemdUnit(planShipped('windows11'), context('windows11'));
  const lines = text.split('\n');
  t.ok(lines.includes('KillMode=mixed'), 'QEMU and swtpm are left to boot-vm');
  t.ok(lines.includes('Type=exec') && lines.includes('Restart=no'));
  t.notOk(lines.some((line) => line.startsWith('ExecStop=')), 'no ExecStop: boot-vm stops on SIGTERM');
  // windows11 has beforeStop and afterStop hooks of 90 s each.
  const stop = Number(/^TimeoutStopSec=(\d+)$/m.exec(text)![1]);
  t.equal(stop, 90 + 120 + 50 + 120 + 90, 'beforeStop hook, guest (--stop-timeout 120), QMP quit and SIGKILL, teardown, afterStop hook');
  t.equal(DEFAULT_STOP_TIMEOUT_S + STOP_ESCALATION_MS / 1000 + LAUNCHER_TEARDOWN_TIMEOUT_MS / 1000, 290, 'the unit follows boot-vm\'s own stop timeouts: a change there changes this sum');
  t.match(text, '\nWorkingDirectory=' + REPO.replace(/\/$/, '') + '\n', 'names are looked up in the checkout');
});

t.test('golden: mediapc', async (t) => {
  const golden = join(FIXTURES, 'export', 'mediapc.service');
  const text = systemdUnit(planShipped('mediapc'), context('mediapc')).replaceAll(REPO.replace(/\/$/, ''), '$REPO');
  if (regenerate) writeFileSync(golden, text);
  t.equal(text, readFileSync(golden, 'utf8'), 'test/fixtures/export/mediapc.service (BOOT_VM_REGENERATE=1 rewrites it)');
});
