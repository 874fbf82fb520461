import t from 'tap';
import { checkBootIndexes } from '../../lib/qemu/boot-order.js';
import { buildInput, type ProfileData } from '../fixtures/build-input.js';

const errorsOf = (data: ProfileData) => {
  const input = buildInput(data);
  checkBootIndexes(input);
  return input.diagnostics.errors;
};

t.test('distinct boot positions are fine, and devices may have none', async (t) => {
  t.strictSame(errorsOf({ disks: [{ path: '/vm/a.img', bootIndex: 1 }, { path: '/vm/b.img' }], cdroms: [{ path: '/iso/a.iso', bootIndex: 0 }], network: [{ bootIndex: 2 }, {}] }), []);
});

t.test('a repeated boot position is an error naming its first owner', async (t) => {
  t.strictSame(
    errorsOf({
      disks: [{ path: '/vm/a.img', bootIndex: 1 }, { path: '/vm/b.img', bootIndex: 2 }],
      cdroms: [{ path: '/iso/a.iso', bootIndex: 1 }],
      network: [{ bootIndex: 1 }, { bootIndex: 2 }],
    }),
    [
      { key: 'cdroms[0].bootIndex', message: 'boot position 1 is already taken by disks[0].bootIndex' },
      { key: 'network[0].bootIndex', message: 'boot position 1 is already taken by disks[0].bootIndex' },
      { key: 'network[1].bootIndex', message: 'boot position 2 is already taken by disks[1].bootIndex' },
    ],
  );
  t.strictSame(errorsOf({ cdroms: [{ path: '/iso/a.iso', bootIndex: 0 }], network: [{ bootIndex: 0 }] }), [{ key: 'network[0].bootIndex', message: 'boot position 0 is already taken by cdroms[0].bootIndex' }], 'position 0 counts too');
});
