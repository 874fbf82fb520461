// hooks: a zx script's beforePrepare, afterStart, beforeStop and afterStop. The plan reads which it
// exports without running it and shows each as a step; launches on this machine (no --sysroot:
// hooks run on the live host only) with the fake QEMU run each once, in order, with its arguments,
// from the launcher, vm.mjs stop or teardown.mjs; a failing or hanging hook does what its phase
// says. The profile's one host step makes a file in a temporary directory, so "the host" is
// that file (and the journal in /run/boot-vm).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { readModuleExports } from '../../lib/plan/module-exports.js';
import { renderJson, renderShell } from '../../lib/plan/render.js';
import { FIXTURES, planOn, writeTree } from '../fixtures/helpers.js';
import { alive, copyHost, FAKE_QEMU, start, waitFor, waitForLine, type Launcher } from '../fixtures/launch.js';

t.setTimeout(120_000);

const HOOKS = join(FIXTURES, 'hooks.mjs');

t.test('which hooks a script exports, read from its text', async (t) => {
  const read = (source: string) => {
    const { names, unreadable } = readModuleExports(source);
    return { names: [...names].sort(), ...(unreadable ? { unreadable } : {}) };
  };
  t.strictSame(read(readFileSync(HOOKS, 'utf8')).names, ['afterStart', 'afterStop', 'beforePrepare', 'beforeStop'], 'the fixture: const, function, and a list');
  t.strictSame(
    read(
      [
        '// export function beforePrepare() {}',
        '/* export const afterStart = 1; */',
        "const s = 'export function beforeStop() {}';",
        'const u = `${"}"} export function afterStop() {} ${`${1}`}`;',
        'const r = /["`]/g;',
        'function f() { return { export: 1 } }',
        'export async function* gen() {}',
        'export { f as "afterStop", s as default };',
        'export * as ns from "./x.mjs";',
      ].join('\n'),
    ).names,
    ['afterStop', 'default', 'gen', 'ns'],
    'comments, strings, templates and regular expressions are skipped; only top-level exports count',
  );
  t.strictSame(read('export const { beforeStop } = hooks;\n'), { names: [], unreadable: { line: 1, text: 'export const {…' } }, 'a destructured export cannot be read');
  t.strictSame(read('\nexport * from "./more.mjs";\n'), { names: [], unreadable: { line: 2, text: 'export * from …' } });
});

t.test('the dry-run shows each exported hook as a step in its place; the file is relative to the profile that names it', async (t) => {
  const dir = writeTree({
    'base/base.yaml': 'memory: { size: 1G }\nhost: { sysctl: { vm.stat_interval: 120 } }\nhooks: ./vm.hooks.mjs\n',
    'base/vm.hooks.mjs': 'export async function afterStart({ $ }) {}\nexport const beforePrepare = () => {};\n',
    'profiles/vm.yaml': 'extends: ../base/base.yaml\npinning: { vcpus: [1] }\n',
  });
  const plan = planOn(join(dir, 'profiles/vm.yaml'), 'lab');
  const hooks = plan.steps.filter((step) => step.id.startsWith('hook '));
  t.strictSame(hooks.map((step) => `${step.n} ${step.phase} ${step.id}`), ['1 prepare hook beforePrepare', `${plan.steps.length} running hook afterStart`], 'before every step, after the guest starts; what the script does not export has no step');
  t.strictSame(hooks[0]!.actions, [{ do: { kind: 'hook', hook: 'beforePrepare', file: join(dir, 'base/vm.hooks.mjs'), timeoutMs: 90_000 }, undo: [] }], "the base profile's directory; the default timeout");
  const text = renderShell(plan);
  t.match(text, new RegExp(`^# 1 prepare: run the beforePrepare hook of \\S*base/vm\\.hooks\\.mjs \\(up to 90s\\)  ← hooks\\n#   before any other step; .*\\n# await beforePrepare\\(\\{ vm, plan, \\$ \\}\\) exported by ${join(dir, 'base/vm.hooks.mjs')}; at 90s its \\$ commands get SIGTERM and it has failed$`, 'm'));
  t.ok(text.indexOf('# QEMU') < text.indexOf('running: run the afterStart hook'), 'afterStart after the command, with the running steps');
  t.match(JSON.parse(renderJson(plan, false)).steps[0], { id: 'hook beforePrepare', phase: 'prepare', from: ['hooks'] }, '--json has them as steps');
  const stops = planOn(join(writeTree({ 'vm.yaml': `memory: { size: 1G }\nhooks: { file: ${HOOKS}, timeout: 5 }\n` }), 'vm.yaml'), 'lab').steps;
  t.strictSame(stops.filter((step) => step.id.startsWith('hook ')).map((step) => `${step.phase} ${step.id} ${step.title.replace(/.* \(/, '(')}`), ['prepare hook beforePrepare (up to 5s)', 'running hook afterStart (up to 5s)', 'stop hook beforeStop (up to 5s)', 'stop hook afterStop (up to 5s)']);
});

t.test('a missing or unreadable hooks file is an input error naming file:line and the key', async (t) => {
  const dir = writeTree({ 'vm.yaml': 'memory: { size: 1G }\nhooks:\n  file: ./gone.hooks.mjs\n', 'star.yaml': 'memory: { size: 1G }\nhooks: ./star.mjs\n', 'star.mjs': '// re-exports\nexport * from "./real.mjs";\n' });
  const missing = await start('boot-vm.mjs', [join(dir, 'vm.yaml'), '--dry-run', '--qemu-version', '7.2']).done;
  t.equal(missing.status, 2);
  t.equal(missing.stderr, `${join(dir, 'vm.yaml')}:3:9: hooks.file: no hooks file ${join(dir, 'gone.hooks.mjs')}\n`);
  t.throws(() => planOn(join(dir, 'star.yaml'), 'lab'), { message: `${join(dir, 'star.yaml')}:2:8: hooks: ${join(dir, 'star.mjs')}:2: export * from … exports names that cannot be known without running the file; export beforePrepare, afterStart, beforeStop, afterStop by name` });
});

/** A VM on this machine whose one host step makes `mark`, with the fixture's hooks. */
function vm(t: Test, name: string, timeout = 30) {
  const dir = writeTree({});
  const vmName = `hooks${process.pid}${name}`;
  const mark = join(dir, 'mark');
  const log = join(dir, 'hooks.log');
  const profile = join(dir, `${vmName}.yaml`);
  writeFileSync(
    profile,
    ['machine: { accel: tcg }', 'cpu: { model: max }', 'memory: { size: 64M }', `host: { steps: [ { run: [touch, ${mark}], undo: [rm, ${mark}] } ] }`, `hooks: { file: ${HOOKS}, timeout: ${timeout} }`, ''].join('\n'),
  );
  const launchers: Launcher[] = [];
  t.teardown(() => {
    // Only when a test failed half-way: its launcher and fake QEMU must not outlive it.
    for (const launcher of launchers) if (launcher.child.exitCode === null) launcher.child.kill('SIGKILL');
    const qemu = existsSync(`/run/boot-vm/${vmName}.pid`) ? Number(readFileSync(`/run/boot-vm/${vmName}.pid`, 'utf8')) : 0;
    if (qemu > 0 && alive(qemu)) process.kill(qemu, 'SIGKILL');
    for (const file of ['journal', 'pid', 'qmp']) rmSync(`/run/boot-vm/${vmName}.${file}`, { force: true });
  });
  const env = { FAKE_QEMU_SYSROOT: '/', MARK: mark, HOOKS_LOG: log };
  const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').trimEnd().split('\n') : []);
  const args = (hook: string, prepared: boolean) => `${hook} vm=${vmName} plan=${vmName} BOOT_VM_NAME=${vmName} BOOT_VM_QMP=/run/boot-vm/${vmName}.qmp prepared=${prepared ? 'yes' : 'no'}`;
  const launch = (extra: string[] = [], more: NodeJS.ProcessEnv = {}) => {
    const launcher = start('boot-vm.mjs', [profile, '--qemu-binary', FAKE_QEMU, '--qemu-version', '7.2', ...extra], { ...env, ...more });
    launchers.push(launcher);
    return launcher;
  };
  return { vmName, profile, mark, log, lines, args, launch, env };
}

t.test('a launch runs each hook once, in order, with its arguments; SIGTERM runs beforeStop before QEMU is asked to stop', async (t) => {
  const { lines, args, launch, mark, vmName } = vm(t, 'a');
  const launcher = launch(['--json']);
  // Its step event, not its line in the log: the hook has written the line before it returns.
  await waitFor('the afterStart hook to be done', () => /"id":"hook afterStart".*"result":"done"/.test(launcher.stderr()));
  t.strictSame(lines(), [args('beforePrepare', false), args('afterStart', true)], 'beforePrepare before the host step, afterStart once the guest runs');
  const journal = JSON.parse(readFileSync(`/run/boot-vm/${vmName}.journal`, 'utf8'));
  t.equal(journal.plan.profile, vmName, 'the journal keeps the plan for the stop hooks of other processes');
  launcher.child.kill('SIGTERM');
  const result = await launcher.done;
  t.equal(result.status, 0, result.stderr);
  t.strictSame(lines(), [args('beforePrepare', false), args('afterStart', true), args('beforeStop', true), args('afterStop', false)], 'beforeStop while the host is prepared, afterStop once it is put back');
  t.notOk(existsSync(mark));
  const events = result.stderr.trimEnd().split('\n').map((line) => JSON.parse(line) as { event: string; id?: string; result?: string; message?: string });
  const order = events.filter((event) => event.id?.startsWith('hook ') || /SIGTERM|power button|QEMU exited/.test(event.message ?? '')).map((event) => event.id ? `${event.id}: ${event.result}` : event.message!.replace(/[;(].*/, '').trim());
  t.strictSame(order, ['hook beforePrepare: done', 'hook afterStart: done', 'SIGTERM: stopping the VM', 'hook beforeStop: done', "pressed the guest's power button", 'QEMU exited with status 0', 'hook afterStop: done'], 'logged as step events, each in its place');
});

t.test('a failing beforePrepare stops the launch with the host unchanged; afterStop does not run', async (t) => {
  const { lines, args, launch, mark, vmName } = vm(t, 'b');
  const result = await launch([], { HOOKS_FAIL: 'beforePrepare' }).done;
  t.equal(result.status, 1);
  t.match(result.stderr, /^boot-vm: \[1\/5\] prepare: run the beforePrepare hook of \S+ \(up to 30s\): failed \(a command exited with status 3: beforePrepare went wrong\)$/m);
  t.match(result.stderr.trimEnd().split('\n').at(-1), /^the beforePrepare hook failed: a command exited with status 3: beforePrepare went wrong; nothing was changed on the host$/);
  t.notMatch(result.stderr, /QEMU started|touch/);
  t.strictSame(lines(), [args('beforePrepare', false)]);
  t.notOk(existsSync(mark), 'the host step never ran');
  t.notOk(existsSync(`/run/boot-vm/${vmName}.journal`), 'no journal left');
});

t.test('an afterStart that hangs is stopped at its timeout, its command killed; QEMU is stopped and the host put back', async (t) => {
  const { lines, args, launch, mark, log } = vm(t, 'c', 1);
  const result = await launch([], { HOOKS_HANG: 'afterStart' }).done;
  t.equal(result.status, 1);
  t.match(result.stderr, /running: run the afterStart hook of \S+ \(up to 1s\): failed \(did not finish in 1s; the commands it started through \$ were sent SIGTERM\)/);
  t.match(result.stderr.trimEnd().split('\n').at(-1), /^the afterStart hook failed: did not finish in 1s; .*; QEMU was stopped, everything done before it was undone$/);
  const sleeper = Number(readFileSync(`${log}.pid`, 'utf8'));
  await waitFor(`the hook's sleep (pid ${sleeper}) to be gone`, () => !alive(sleeper), 5_000);
  t.strictSame(lines(), [args('beforePrepare', false), args('afterStart', true), args('afterStop', false)], 'no beforeStop for a guest whose start failed; afterStop after the undo');
  t.notOk(existsSync(mark), 'undone');
});

t.test('vm.mjs stop runs beforeStop itself; failing stop hooks are reported and the stop and teardown go on', async (t) => {
  const { lines, args, launch, mark, profile, env } = vm(t, 'd');
  const launcher = launch([], { HOOKS_FAIL: 'beforeStop,afterStop' });
  await waitForLine(launcher, /afterStart hook .*: done/);
  const stop = await start('scripts/vm.mjs', ['stop', profile], { ...env, HOOKS_FAIL: 'beforeStop' }).done;
  t.equal(stop.status, 0, stop.stderr);
  t.match(stop.stderr, /^boot-vm: \[\d+\/0\] stop: run the beforeStop hook of \S+ \(up to 30s\): failed \(a command exited with status 3: beforeStop went wrong\)$/m);
  t.match(stop.stdout, /stopped in .*: the guest shut down after the ACPI power button; its launcher \(pid \d+\) put the host back/);
  const result = await launcher.done;
  t.equal(result.status, 0, "QEMU's status, whatever afterStop did");
  t.match(result.stderr, /stop: run the afterStop hook of \S+ \(up to 30s\): failed \(a command exited with status 3: afterStop went wrong\)/);
  t.notOk(existsSync(mark));
  t.strictSame(lines().map((line) => line.split(' ')[0]), ['beforePrepare', 'afterStart', 'beforeStop', 'afterStop']);
  t.equal(lines()[2], args('beforeStop', true));
});

t.test('after the launcher was killed, teardown.mjs --stop runs beforeStop, stops QEMU, puts the host back, then runs afterStop', async (t) => {
  const { lines, args, launch, mark, profile, env } = vm(t, 'e');
  const launcher = launch();
  await waitForLine(launcher, /afterStart hook .*: done/);
  launcher.child.kill('SIGKILL');
  await launcher.done;
  const teardown = await start('scripts/teardown.mjs', [profile, '--stop'], env).done;
  t.equal(teardown.status, 0, teardown.stderr);
  t.match(teardown.stdout, /the host is back as it was \(1 change undone\)/);
  t.strictSame(lines(), [args('beforePrepare', false), args('afterStart', true), args('beforeStop', true), args('afterStop', false)]);
  t.notOk(existsSync(mark));
});

t.test('a --sysroot rehearsal shows the hooks but does not run them', async (t) => {
  const root = copyHost(t, 'lab');
  const { lines, profile } = vm(t, 'f');
  const launcher = start('boot-vm.mjs', [profile, '--sysroot', root, '--qemu-binary', FAKE_QEMU, '--qemu-version', '7.2'], { FAKE_QEMU_SYSROOT: root });
  await waitForLine(launcher, /afterStart hook .*: skipped/);
  launcher.child.kill('SIGTERM');
  const result = await launcher.done;
  t.equal(result.status, 0, result.stderr);
  for (const hook of ['beforePrepare', 'afterStart', 'beforeStop', 'afterStop']) t.match(result.stderr, new RegExp(`run the ${hook} hook of \\S+ \\(up to 30s\\): skipped \\(logged, not run: ${root} is not the live host\\)`));
  t.strictSame(lines(), [], 'none ran');
});
