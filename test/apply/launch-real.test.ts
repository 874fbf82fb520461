// A real launch on this machine's kernel (root, 2M pages): boot-vm reserves the huge pages a 64M
// TCG guest needs, mounts hugetlbfs where none is, starts the real QEMU on them, and on SIGTERM
// stops it and gives back exactly what it took. The page count and mounts are put back in a
// teardown whatever happens. REQUIRE_HUGEPAGES=1 (set by .ci/run) turns "not allowed" into a failure.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { withQmp } from '../../lib/apply/qmp.js';
import { writeTree } from '../fixtures/helpers.js';
import { start, waitForLine } from '../fixtures/launch.js';
import { hugepagesAvailable, PAGES, POOL, readCount } from '../fixtures/hugepages.js';
import { qemuUnavailable } from '../fixtures/qemu-run.js';

const NAME = `boot-vm-test-${process.pid}`;

const meminfoFree = () => Number(/^HugePages_Free:\s+(\d+)$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
const hugetlbMounts = () => readFileSync('/proc/mounts', 'utf8').split('\n').filter((line) => line.split(' ')[2] === 'hugetlbfs');

if (hugepagesAvailable(t, 'a real launch') && !qemuUnavailable(t)) {
  t.test('boot-vm reserves the pages, QEMU runs on them, teardown gives exactly them back', async (t) => {
    const before = readCount('nr_hugepages');
    const mountsBefore = hugetlbMounts();
    const hadMountPoint = existsSync('/dev/hugepages');
    const dir = writeTree({
      [`${NAME}.yaml`]: ['machine: { accel: tcg }', 'cpu: { model: max }', 'memory: { size: 64M, hugepages: 2M, prealloc: true, lock: true }', ''].join('\n'),
    });
    t.teardown(() => {
      // Only if the launch failed to put things back: the test must not leave the machine changed.
      for (const line of hugetlbMounts()) if (!mountsBefore.includes(line)) execFileSync('umount', [line.split(' ')[1]!], { stdio: 'ignore' });
      if (!hadMountPoint && existsSync('/dev/hugepages')) rmSync('/dev/hugepages', { recursive: true, force: true });
      writeFileSync(`${POOL}/nr_hugepages`, String(before));
      rmSync(`/run/boot-vm/${NAME}.journal`, { force: true });
    });
    // A guest with no OS ignores the ACPI power button: QEMU quits after a second.
    const launcher = start('boot-vm.mjs', [`${dir}/${NAME}.yaml`, '--stop-timeout', '1'], { PATH: process.env.PATH });
    await waitForLine(launcher, /QEMU started \(pid \d+\)/);
    const reserved = readCount('nr_hugepages');
    t.ok(reserved >= before + Math.max(0, PAGES - (before - 0)) && reserved <= before + PAGES, `only the missing pages were reserved (${before} → ${reserved})`);
    // QMP answers once QEMU is fully up (its SIGTERM handler too): then the guest's memory is in place.
    const status = await withQmp(`/run/boot-vm/${NAME}.qmp`, { timeoutMs: 20_000, isAlive: () => launcher.child.exitCode === null }, (qmp) => qmp.execute<{ status: string }>('query-status'));
    t.equal(status.status, 'running');
    t.equal(meminfoFree(), readCount('nr_hugepages') - PAGES, `HugePages_Free dropped by ${PAGES}: QEMU preallocated the guest on them`);
    t.ok(existsSync(`/run/boot-vm/${NAME}.journal`), 'the journal is in /run/boot-vm');
    launcher.child.kill('SIGTERM');
    const result = await launcher.done;
    t.equal(result.status, 0, result.stderr);
    t.match(result.stderr, /reserve \d+ more huge pages of 2M.*: done \(\d+ pages added\)/);
    t.match(result.stderr, /undo reserve-hugepages 2M: undone \(\d+ pages given back\)/);
    t.equal(readCount('nr_hugepages'), before, 'the page count is back to the start');
    t.strictSame(hugetlbMounts(), mountsBefore, 'the hugetlbfs boot-vm mounted is gone');
    t.equal(existsSync('/dev/hugepages'), hadMountPoint, 'so is the mount point it made');
    t.notOk(existsSync(`/run/boot-vm/${NAME}.journal`), 'and the journal');
  });
}
