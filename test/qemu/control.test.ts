import t from 'tap';
import { buildControl, buildExtraArgs, buildIdentity, controlPaths, defaultPidfile, defaultQmpSocket } from '../../lib/qemu/control.js';
import { profileOf } from '../fixtures/trees.js';
import { buildInput, words } from '../fixtures/build-input.js';

t.test('-name and the options that drop implicit config', async (t) => {
  t.strictSame(words(buildIdentity(buildInput({}, { name: 'mediapc' }))), ['-name', 'guest=mediapc,debug-threads=on', '-nodefaults', '-no-user-config']);
  t.strictSame(words(buildIdentity(buildInput({}, { name: 'a,b' }))).slice(0, 2), ['-name', 'guest=a,,b,debug-threads=on'], 'a comma in the name is doubled');
});

t.test('default pidfile and QMP socket under /run/boot-vm', async (t) => {
  t.equal(defaultPidfile('mediapc'), '/run/boot-vm/mediapc.pid');
  t.equal(defaultQmpSocket('mediapc'), '/run/boot-vm/mediapc.qmp');
  t.strictSame(buildControl(buildInput({}, { name: 'mediapc' })), [
    { words: ['-pidfile', '/run/boot-vm/mediapc.pid'], from: [], notes: ['default: /run/boot-vm/mediapc.pid'] },
    { words: ['-chardev', 'socket,id=qmp,path=/run/boot-vm/mediapc.qmp,server=on,wait=off'], from: [], notes: ['QMP socket, default: /run/boot-vm/mediapc.qmp'] },
    { words: ['-mon', 'chardev=qmp,mode=control'], from: [], notes: [] },
  ]);
});

t.test('with host.runAs, the pidfile and QMP socket default to the VM\'s own directory', async (t) => {
  t.strictSame(buildControl(buildInput({ host: { runAs: 'qemu' } }, { name: 'mediapc' })), [
    { words: ['-pidfile', '/run/boot-vm/mediapc/qemu.pid'], from: ['host.runAs'], notes: ['default with host.runAs (/run/boot-vm/mediapc is given to qemu for the run): /run/boot-vm/mediapc/qemu.pid'] },
    { words: ['-chardev', 'socket,id=qmp,path=/run/boot-vm/mediapc/qmp.sock,server=on,wait=off'], from: ['host.runAs'], notes: ['QMP socket, default with host.runAs (/run/boot-vm/mediapc is given to qemu for the run): /run/boot-vm/mediapc/qmp.sock'] },
    { words: ['-mon', 'chardev=qmp,mode=control'], from: [], notes: [] },
  ]);
});

t.test('with host.runAs, a given pidfile or socket needs a directory of its own: not the journals\', not a shared one', async (t) => {
  const errorsOf = (data: Record<string, unknown>) => {
    const input = buildInput({ host: { runAs: 'qemu' }, ...data });
    buildControl(input);
    return input.diagnostics.errors;
  };
  t.strictSame(errorsOf({ pidfile: '/run/boot-vm/vm.pid' }), [{ key: 'pidfile', message: "with host.runAs, /run/boot-vm would be given to qemu for the run, and it holds the journals, which stay root's; put the pidfile in a directory of its own, or leave pidfile out (then it goes in /run/boot-vm/<name>/)" }]);
  t.strictSame(errorsOf({ qmp: '/run/vm.qmp' }), [{ key: 'qmp', message: 'with host.runAs, /run would be given to qemu for the run, and it is shared; put the socket in a directory of its own, or leave qmp out (then it goes in /run/boot-vm/<name>/)' }]);
  t.strictSame(errorsOf({ qmp: '/vm.qmp' }).map((error) => error.key), ['qmp'], 'the root directory too');
  t.strictSame(errorsOf({ pidfile: '/run/vms/vm.pid', qmp: '/run/boot-vm/vm/qmp.sock' }), [], 'directories of their own');
  const dots = buildInput({ host: { runAs: 'qemu' } }, { name: '..' });
  buildControl(dots);
  t.strictSame(dots.diagnostics.errors, [{ key: 'host.runAs', message: 'the VM\'s name ".." (its profile\'s file name) names no directory of its own under /run/boot-vm; rename the profile file' }], 'a profile file named ...yaml');
  const without = buildInput({ pidfile: '/run/boot-vm/vm.pid' });
  buildControl(without);
  t.strictSame(without.diagnostics.errors, [], 'without host.runAs, anywhere');
});

t.test('controlPaths decides for the argv and the plan alike', async (t) => {
  const memory = { size: '1G' };
  t.strictSame(controlPaths('vm', profileOf({ memory })), { pidfile: '/run/boot-vm/vm.pid', qmp: '/run/boot-vm/vm.qmp' });
  t.strictSame(controlPaths('vm', profileOf({ memory, host: { runAs: 'qemu' } })), { pidfile: '/run/boot-vm/vm/qemu.pid', qmp: '/run/boot-vm/vm/qmp.sock' });
  t.strictSame(controlPaths('vm', profileOf({ memory, pidfile: '/run/vm/x.pid', host: { runAs: 'qemu' } })), { pidfile: '/run/vm/x.pid', qmp: '/run/boot-vm/vm/qmp.sock' }, 'a given path wins');
});

t.test('a given pidfile and QMP socket, commas doubled in the socket path', async (t) => {
  t.strictSame(buildControl(buildInput({ pidfile: '/tmp/a,b.pid', qmp: '/tmp/q=m,p.sock' })), [
    { words: ['-pidfile', '/tmp/a,b.pid'], from: ['pidfile'], notes: [] },
    { words: ['-chardev', 'socket,id=qmp,path=/tmp/q=m,,p.sock,server=on,wait=off'], from: ['qmp'], notes: [] },
    { words: ['-mon', 'chardev=qmp,mode=control'], from: ['qmp'], notes: [] },
  ], '-pidfile takes its path as a plain word');
});

t.test('daemonize appends -daemonize', async (t) => {
  t.strictSame(buildControl(buildInput({ daemonize: true })).at(-1), { words: ['-daemonize'], from: ['daemonize'], notes: [] });
  t.equal(buildControl(buildInput({})).length, 3);
});

t.test('extraArgs are passed verbatim, one arg each', async (t) => {
  t.strictSame(buildExtraArgs(buildInput({ extraArgs: ['-device', 'usb-host,vendorid=0x046d,,x', '', "it's $HOME"] })), [
    { words: ['-device'], from: ['extraArgs[0]'], notes: ['appended verbatim, not checked'] },
    { words: ['usb-host,vendorid=0x046d,,x'], from: ['extraArgs[1]'], notes: ['appended verbatim, not checked'] },
    { words: [''], from: ['extraArgs[2]'], notes: ['appended verbatim, not checked'] },
    { words: ["it's $HOME"], from: ['extraArgs[3]'], notes: ['appended verbatim, not checked'] },
  ]);
  t.strictSame(buildExtraArgs(buildInput({})), []);
});
