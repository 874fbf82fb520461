// removeLeftovers on a temporary tree: an exited QEMU's pidfile and QMP socket removed and named,
// nothing said when there is nothing left, a file that cannot be removed is a warning.
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { nodeHostIo, type HostIo } from '../../lib/apply/host-io.js';
import { removeLeftovers } from '../../lib/apply/leftovers.js';
import { createLogger } from '../../lib/apply/log.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import { tree } from '../fixtures/trees.js';

const CONTROL = { pidfile: '/run/boot-vm/vm.pid', qmp: '/run/boot-vm/vm.qmp' };

function setup(t: Test, files: Record<string, string>, io: HostIo = nodeHostIo) {
  const root = tree(t, files);
  const lines: string[] = [];
  const options = { sysroot: new Sysroot(root), io, log: createLogger({ mode: 'text', total: 0, write: (line) => lines.push(line), isTty: false }) };
  return { root, lines, options };
}

t.test('a pidfile and a QMP socket left over are removed and named', async (t) => {
  const h = setup(t, { 'run/boot-vm/vm.pid': '1234\n', 'run/boot-vm/other.pid': '99\n' });
  // A real unix socket file, as QEMU's QMP server makes one.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(join(h.root, CONTROL.qmp), resolve));
  t.teardown(() => void server.close());
  removeLeftovers(CONTROL, h.options);
  t.strictSame(readdirSync(join(h.root, 'run/boot-vm')), ['other.pid'], "another VM's pidfile stays");
  t.strictSame(h.lines, [`boot-vm: removed what the exited QEMU left: ${join(h.root, CONTROL.pidfile)}, ${join(h.root, CONTROL.qmp)}`]);
});

t.test('nothing left: nothing said', async (t) => {
  const h = setup(t, {});
  removeLeftovers(CONTROL, h.options);
  t.strictSame(h.lines, []);
});

t.test('a file that cannot be removed is a warning, the rest still goes', async (t) => {
  const refusing: HostIo = {
    ...nodeHostIo,
    remove(path) {
      if (path.endsWith('.pid')) throw Object.assign(new Error('EACCES: permission denied, unlink'), { code: 'EACCES' });
      nodeHostIo.remove(path);
    },
  };
  const h = setup(t, { 'run/boot-vm/vm.pid': '1\n', 'run/boot-vm/vm.qmp': '' }, refusing);
  removeLeftovers(CONTROL, h.options);
  t.strictSame(h.lines, [
    `boot-vm: warning: cannot remove ${join(h.root, CONTROL.pidfile)}, which the exited QEMU left: EACCES (permission denied)`,
    `boot-vm: removed what the exited QEMU left: ${join(h.root, CONTROL.qmp)}`,
  ]);
  t.strictSame(readdirSync(join(h.root, 'run/boot-vm')), ['vm.pid']);
});
