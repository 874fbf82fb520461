import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { detectQemuVersion } from '../../lib/apply/probe-qemu.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import { buildPlan } from '../../lib/plan/plan.js';
import { renderExplain, renderJson, renderShell } from '../../lib/plan/render.js';
import { FIXTURES, REPO, load, planOn, readBackShell, writeTree } from '../fixtures/helpers.js';
import { qemuUnavailable, withQemuProcess } from '../fixtures/qemu-run.js';

const mediapc = () => planOn(join(FIXTURES, 'argv/mediapc.yaml'), 'z77-i5-2500');

t.test('the shell form puts one option per line, wrappers and binary first, like the blog', async (t) => {
  const lines = renderShell(mediapc()).split('\n');
  t.equal(lines[0], 'chrt -r 1 \\');
  t.equal(lines[1], 'taskset -c 2-3 \\');
  t.equal(lines[2], 'qemu-system-x86_64 \\');
  t.equal(lines[3], '    -name guest=mediapc,debug-threads=on \\');
  t.equal(lines.at(-2), '    -mon chardev=qmp,mode=control', 'the last option has no continuation');
  t.equal(lines.at(-1), '', 'ends with a newline');
});

t.test('the shell form reproduces the exact argv when a shell reads it', async (t) => {
  const plan = planOn(join(FIXTURES, 'argv/path-escaping.yaml'), 'lab');
  const shell = renderShell(plan);
  t.match(shell, `file=/vm/odd,,name'\\''s disk.img`, "a quote in a path is closed, escaped and reopened");
  t.same(readBackShell(shell), plan.argv);
});

t.test('the explained form names the keys and rules behind each option', async (t) => {
  const text = renderExplain(planOn(join(REPO, 'profiles/mediapc.yaml'), 'z77-i5-2500', { qemuVersion: { major: 7, minor: 2 } }));
  t.equal(text.split('\n')[0], '# mediapc: profiles/mediapc.yaml (extends profiles/windows-base.yaml), planned for QEMU 7.2', 'a header names the files read');
  t.match(text, /^chrt -r 1  ← pinning\.scheduler\.policy, pinning\.scheduler\.priority$/m);
  t.match(text, /^ {8}↳ hv-vpindex=on ← added: cpu\.hyperv\.synic needs it$/m, 'the rule that added hv-vpindex');
  t.match(text, /↳ -machine hpet=off ← rule: QEMU 7\.2 ≥ 5\.2 \(-no-hpet was removed in 9\.0\)/);
  t.match(text, /↳ -overcommit mem-lock=on ← rule: QEMU 7\.2 ≥ 3\.0 \(-realtime mlock=on was removed in 6\.0\)/);
  t.match(text, /-global ICH9-LPC\.disable_s3=1  ← power\.s3 \(profiles\/windows-base\.yaml:\d+\)/, 'a key inherited from a base names its file');
  t.match(text, /-m 8G  ← memory\.size\n/, "the profile's own keys are bare");
  t.match(text, /-vga none  ← vga \(profiles\/windows-base\.yaml:\d+\)/);
  t.match(text, /qemu-system-x86_64  ← qemu\.binary \(default\)/, 'a key nobody wrote is marked default');
});

t.test('JSON has exactly the contract keys, and explain only when asked', async (t) => {
  const plan = mediapc();
  const json = JSON.parse(renderJson(plan, false));
  t.same(Object.keys(json), ['profile', 'qemuVersion', 'argv', 'steps']);
  t.equal(json.profile, 'mediapc');
  t.equal(json.qemuVersion, '7.2');
  t.same(json.argv, plan.argv);
  t.same(json.steps, []);
  t.same(json.argv, readFileSync(join(FIXTURES, 'argv/mediapc.args'), 'utf8').trimEnd().split('\n'), 'the argv is the golden one');
  const explained = JSON.parse(renderJson(plan, true));
  t.same(explained.explain[0], { words: ['chrt', '-r', '1'], from: ['pinning.scheduler.policy', 'pinning.scheduler.priority'], notes: ['every QEMU thread inherits the policy'] });
});

t.test('real QEMU started from the printed shell line sees the exact paths', async (t) => {
  if (qemuUnavailable(t)) return;
  const dir = writeTree({ "it's, a disk.img": '', 'comma,=equals.img': '', 'cd $HOME `x` "q".iso': '' });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const disk0 = `${dir}/it's, a disk.img`;
  const disk1 = `${dir}/comma,=equals.img`;
  const cdrom = `${dir}/cd $HOME \`x\` "q".iso`;
  const pidfile = `${dir}/pid,file's`;
  const qmpSocket = `${dir}/q,m=p's.sock`;
  writeFileSync(
    `${dir}/odd.yaml`,
    [
      'machine: { accel: tcg }',
      'cpu: { model: max, cores: 2 }',
      'memory: { size: 64M }',
      `disks: [ { path: ${JSON.stringify(disk0)} }, { path: ${JSON.stringify(disk1)}, bus: sata } ]`,
      `cdroms: [ { path: ${JSON.stringify(cdrom)} } ]`,
      `pidfile: ${JSON.stringify(pidfile)}`,
      `qmp: ${JSON.stringify(qmpSocket)}`,
      'extraArgs: ["-S"]',
    ].join('\n'),
  );
  const plan = buildPlan(load(`${dir}/odd.yaml`, dir, process.env), { sysroot: new Sysroot('/'), strict: false, launching: false, probeQemuVersion: (binary) => detectQemuVersion(binary, process.env) });
  t.same(plan.warnings, [], 'nothing is missing on this host');
  const shell = spawn('sh', ['-c', renderShell(plan)], { stdio: ['ignore', 'ignore', 'pipe'] });
  await withQemuProcess(t, shell, qmpSocket, async (qmp) => {
    const blocks = await qmp.execute<{ device: string; inserted?: { file: string } }[]>('query-block');
    const files = Object.fromEntries(blocks.filter((block) => block.inserted).map((block) => [block.device, block.inserted!.file]));
    t.same(files, { 'drive-disk0': disk0, 'drive-disk1': disk1, 'drive-cd0': cdrom }, 'QEMU opened the very files');
    const pid = Number(readFileSync(pidfile, 'utf8'));
    t.same(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1), plan.argv, 'QEMU got exactly the planned argv');
  });
});
