import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { detectQemuVersion, findExecutable } from '../../lib/apply/probe-qemu.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import { buildPlan } from '../../lib/plan/plan.js';
import { renderCommand, renderExplain, renderJson, renderShell } from '../../lib/plan/render.js';
import { wrapperWords } from '../../lib/plan/step.js';
import { FIXTURES, REPO, load, planOn, readBackShell, writeTree } from '../fixtures/helpers.js';
import { qemuUnavailable, withQemuProcess } from '../fixtures/qemu-run.js';

const mediapc = () => planOn(join(FIXTURES, 'argv/mediapc.yaml'), 'z77-i5-2500');

t.test('the command puts one option per line, wrappers and binary first, like the blog', async (t) => {
  const lines = renderCommand(mediapc()).split('\n');
  t.equal(lines[0], 'prlimit --memlock=9663676416:9663676416 \\', "the launch steps' wrapper first");
  t.equal(lines[1], 'chrt -r 1 \\');
  t.equal(lines[2], 'taskset -c 2-3 \\');
  t.equal(lines[3], 'qemu-system-x86_64 \\');
  t.equal(lines[4], '    -name guest=mediapc,debug-threads=on \\');
  t.equal(lines.at(-2), '    -mon chardev=qmp,mode=control', 'the last option has no continuation');
  t.equal(lines.at(-1), '', 'ends with a newline');
});

t.test('the command reproduces the exact argv when a shell reads it', async (t) => {
  const plan = planOn(join(FIXTURES, 'argv/path-escaping.yaml'), 'lab');
  const shell = renderCommand(plan);
  t.match(shell, `file=/vm/odd,,name'\\''s disk.img`, "a quote in a path is closed, escaped and reopened");
  t.same(readBackShell(shell), [...wrapperWords(plan.steps), ...plan.argv]);
  t.equal(wrapperWords(plan.steps)[0], 'prlimit', 'the memlock step wraps the command');
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
  t.same(json.steps, JSON.parse(JSON.stringify(plan.steps)), 'the steps as data');
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
  const plan = buildPlan(load(`${dir}/odd.yaml`, dir, process.env), { sysroot: new Sysroot('/'), strict: false, launching: false, probeQemuVersion: (binary) => detectQemuVersion(binary, process.env), findProgram: (name) => findExecutable(name, process.env) });
  t.same(plan.warnings, [], 'nothing is missing on this host');
  t.strictSame(plan.steps, [], 'a TCG guest without pinning or devices needs no host step here');
  const shell = spawn('sh', ['-c', renderShell(plan)], { stdio: ['ignore', 'ignore', 'pipe'] });
  await withQemuProcess(t, shell, qmpSocket, async (qmp) => {
    const blocks = await qmp.execute<{ device: string; inserted?: { file: string } }[]>('query-block');
    const files = Object.fromEntries(blocks.filter((block) => block.inserted).map((block) => [block.device, block.inserted!.file]));
    t.same(files, { 'drive-disk0': disk0, 'drive-disk1': disk1, 'drive-cd0': cdrom }, 'QEMU opened the very files');
    const pid = Number(readFileSync(pidfile, 'utf8'));
    t.same(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1), plan.argv, 'QEMU got exactly the planned argv');
  });
});

t.test('the full form: numbered steps with their undo, the command under # QEMU, then the running steps', async (t) => {
  const plan = mediapc();
  const root = plan.sysroot;
  const lines = renderShell(plan).split('\n');
  t.match(lines[0], /^# mediapc: \d+ host steps on .*z77-i5-2500; each change is undone, in reverse, when QEMU exits$/);
  const bind = lines.findIndex((line) => /^# \d+ prepare: bind 0000:00:1a\.0 \[8086:1e2d\] to vfio-pci {2}← passthrough\[2\]\.host, host\.bindVfio$/.test(line));
  t.not(bind, -1, 'a step header names the step, its phase and its keys');
  t.strictSame(lines.slice(bind + 1, bind + 10), [
    '#   now on ehci-pci, which gets it back afterwards',
    `echo vfio-pci > ${root}/sys/bus/pci/devices/0000:00:1a.0/driver_override`,
    `echo 0000:00:1a.0 > ${root}/sys/bus/pci/drivers/ehci-pci/unbind`,
    `echo 0000:00:1a.0 > ${root}/sys/bus/pci/drivers_probe`,
    `# wait up to 10s until ${root}/sys/bus/pci/devices/0000:00:1a.0/driver is vfio-pci`,
    `#   undo: echo 0000:00:1a.0 > ${root}/sys/bus/pci/drivers/vfio-pci/unbind`,
    `#   undo: echo > ${root}/sys/bus/pci/devices/0000:00:1a.0/driver_override`,
    `#   undo: echo 0000:00:1a.0 > ${root}/sys/bus/pci/drivers/ehci-pci/bind`,
    `# ${plan.steps.find((step) => step.id === 'bind-vfio 0000:00:1d.0')!.n} prepare: bind 0000:00:1d.0 [8086:1e26] to vfio-pci  ← passthrough[3].host, host.bindVfio`,
  ], 'each line does one thing; the undo runs in reverse and restores driver_override once');
  t.ok(lines.some((line) => /^# \d+ prepare: bind 0000:01:00\.0 \[10de:1b81\] to vfio-pci — skipped: already on vfio-pci {2}← passthrough\[0\]\.host, host\.bindVfio$/.test(line)), 'what this host needs no change for is said, not done');
  const qemu = lines.indexOf('# QEMU');
  t.ok(qemu > bind, 'the command comes after the prepare and launch steps');
  t.equal(lines[qemu + 1], 'prlimit --memlock=9663676416:9663676416 \\');
  t.match(lines.slice(qemu).find((line) => line.startsWith('# ') && line !== '# QEMU'), /^# \d+ running: send the passed devices' IRQs to CPUs 2-3 and the other IRQs to CPUs 0-1/);
});
