// Real huge pages, where the machine allows it (root, 2M pages): a TCG VM with 64M on 2M pages,
// preallocated and locked. The pages are reserved and a hugetlbfs mounted for the test, and the
// page count is put back afterwards whatever happens. REQUIRE_HUGEPAGES=1 (set by .ci/run)
// turns "not allowed here" into a failure.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { detectQemuVersion, findExecutable } from '../lib/apply/probe-qemu.js';
import { Sysroot } from '../lib/host/sysroot.js';
import { buildPlan } from '../lib/plan/plan.js';
import { load, writeTree } from './fixtures/helpers.js';
import { hugepagesAvailable, PAGES, POOL, readCount } from './fixtures/hugepages.js';
import { qemuUnavailable, withQemu } from './fixtures/qemu-run.js';



if (hugepagesAvailable(t, 'real huge pages') && !qemuUnavailable(t)) {
  t.test('QEMU preallocates and locks the guest on real 2M pages', async (t) => {
    const before = readCount('nr_hugepages');
    const dir = writeTree({});
    const mount = `${dir}/hugepages`;
    execFileSync('mkdir', [mount]);
    t.teardown(() => {
      execFileSync('umount', [mount], { stdio: 'ignore' });
      writeFileSync(`${POOL}/nr_hugepages`, String(before));
      rmSync(dir, { recursive: true, force: true });
    });
    writeFileSync(`${POOL}/nr_hugepages`, String(before + PAGES));
    t.equal(readCount('nr_hugepages'), before + PAGES, `${PAGES} pages reserved`);
    execFileSync('mount', ['-t', 'hugetlbfs', '-o', 'pagesize=2M', 'hugetlbfs', mount]);
    writeFileSync(
      `${dir}/huge.yaml`,
      [
        'machine: { accel: tcg }',
        'cpu: { model: max }',
        `memory: { size: 64M, hugepages: 2M, path: ${JSON.stringify(mount)}, prealloc: true, lock: true }`,
        `pidfile: ${JSON.stringify(`${dir}/qemu.pid`)}`,
        `qmp: ${JSON.stringify(`${dir}/qmp.sock`)}`,
        'extraArgs: ["-S"]',
      ].join('\n'),
    );
    const plan = buildPlan(load(`${dir}/huge.yaml`, dir, process.env), { sysroot: new Sysroot('/'), strict: true, launching: false, probeQemuVersion: (binary) => detectQemuVersion(binary, process.env), findProgram: (name) => findExecutable(name, process.env) });
    t.same(plan.warnings, [], 'the hugetlbfs mount is found');
    t.ok(plan.argv.includes('mem-lock=on'), 'memory is locked');
    const free = readCount('free_hugepages');
    await withQemu(t, plan.argv.slice(1), `${dir}/qmp.sock`, async (qmp) => {
      t.equal(readCount('free_hugepages'), free - PAGES, `QEMU took all ${PAGES} pages up front (prealloc)`);
      const pid = readFileSync(`${dir}/qemu.pid`, 'utf8').trim();
      const locked = Number(/^VmLck:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
      t.ok(locked > 0, `QEMU holds locked memory (${locked} kB)`);
      t.same(await qmp.execute('query-memdev').then((devs) => (devs as { size: number; prealloc: boolean }[]).map(({ size, prealloc }) => ({ size, prealloc }))), [{ size: 64 << 20, prealloc: true }]);
    });
    t.equal(readCount('free_hugepages'), free, 'the pages are free again once QEMU is gone');
  });
}
