// lib/qemu/shared-memory.ts: Looking Glass's size from the resolution (the documentation's three
// and resolutions of other shapes), the -object/-device pair of each region with its keys and
// notes, escaping, the profile and plan errors (a size that is not a power of two, one name or
// path twice, kvmfr devices the module cannot make) and the warning when no owner is given.
import t from 'tap';
import { loadProfile } from '../../lib/profile/load.js';
import { buildSharedMemory, lookingGlassSize, sharedRegions } from '../../lib/qemu/shared-memory.js';
import { parseSize } from '../../lib/size.js';
import { errorLines, profileOf, recorder, tree } from '../fixtures/trees.js';

const build = (data: Record<string, unknown>) => {
  const { diagnostics } = recorder();
  const args = buildSharedMemory({ name: 'vm', profile: profileOf({ memory: { size: '4G' }, ...data }), version: { major: 7, minor: 2 }, diagnostics });
  return { args, words: args.flatMap((arg) => arg.words), errors: diagnostics.errors, warnings: diagnostics.warnings };
};

t.test("Looking Glass's documented sizes, and the computation behind them", async (t) => {
  const sizes = Object.fromEntries(['1920x1080', '2560x1440', '3840x2160'].map((resolution) => [resolution, lookingGlassSize(resolution).size]));
  t.strictSame(sizes, { '1920x1080': parseSize('32M'), '2560x1440': parseSize('64M'), '3840x2160': parseSize('128M') }, 'the documentation\'s table (SDR)');
  t.equal(lookingGlassSize('1920x1080').note, "size=32M ← Looking Glass's formula for 1920x1080: 1920 × 1080 × 4 bytes × 2 frames = 15.8 MiB, + 10 MiB = 25.8 MiB, rounded up to a power of two");
  // 3440 × 1440 × 8 = 37.8 MiB, + 10 = 47.8: 64M; 1280 × 720 × 8 = 7.0 MiB, + 10 = 17.0: 32M; 5120 × 2880 × 8 = 112.5 MiB, + 10 = 122.5: 128M.
  t.equal(lookingGlassSize('3440x1440').size, parseSize('64M'), 'an ultrawide');
  t.equal(lookingGlassSize('1280x720').size, parseSize('32M'), 'just over 16 MiB rounds to 32M');
  t.equal(lookingGlassSize('5120x2880').size, parseSize('128M'), '5K');
  t.equal(lookingGlassSize('1024x768').size, parseSize('16M'), '6.0 MiB + 10 fits in 16M');
});

t.test('Looking Glass on a /dev/shm file, and on the kvmfr device', async (t) => {
  const shm = build({ lookingGlass: { resolution: '1920x1080' } });
  t.strictSame(shm.words, ['-object', 'memory-backend-file,id=shm-looking-glass,mem-path=/dev/shm/looking-glass,size=32M,share=on', '-device', 'ivshmem-plain,id=ivshmem-looking-glass,memdev=shm-looking-glass,bus=pcie.0']);
  t.strictSame(shm.args[0]!.from, ['lookingGlass.resolution', 'lookingGlass.name', 'lookingGlass.kvmfr']);
  t.match(shm.args[0]!.notes[0], /^size=32M ← Looking Glass's formula for 1920x1080/);
  const kvmfr = build({ lookingGlass: { resolution: '3840x2160', name: 'lg', kvmfr: true, owner: 'alice' } });
  t.strictSame(kvmfr.words, ['-object', 'memory-backend-file,id=shm-lg,mem-path=/dev/kvmfr0,size=128M,share=on', '-device', 'ivshmem-plain,id=ivshmem-lg,memdev=shm-lg,bus=pcie.0']);
  t.match(kvmfr.args[0]!.notes[1], /^mem-path=\/dev\/kvmfr0 ← a device of the kvmfr module, checked before QEMU starts/);
  t.strictSame(kvmfr.warnings, [], 'an owner given: nothing to warn about');
});

t.test('sharedMemory regions: their own paths (escaped), kvmfr by path, Looking Glass first', async (t) => {
  const { words, args, errors } = build({
    sharedMemory: [
      { name: 'scream-ivshmem', size: '2M', owner: 'alice' },
      { name: 'odd', size: '4K', path: '/srv/odd,dir/odd', owner: 'alice' },
      { name: 'lg2', size: '32M', path: '/dev/kvmfr1', owner: 'alice' },
    ],
    lookingGlass: { resolution: '2560x1440', owner: 'alice' },
  });
  t.strictSame(errors, []);
  t.strictSame(words.filter((_, i) => i % 2 === 1 && i % 4 === 1), [
    'memory-backend-file,id=shm-looking-glass,mem-path=/dev/shm/looking-glass,size=64M,share=on',
    'memory-backend-file,id=shm-scream-ivshmem,mem-path=/dev/shm/scream-ivshmem,size=2M,share=on',
    'memory-backend-file,id=shm-odd,mem-path=/srv/odd,,dir/odd,size=4K,share=on',
    'memory-backend-file,id=shm-lg2,mem-path=/dev/kvmfr1,size=32M,share=on',
  ]);
  t.strictSame(args[4]!.from, ['sharedMemory[1].name', 'sharedMemory[1].size', 'sharedMemory[1].path']);
  t.strictSame(
    sharedRegions(profileOf({ memory: { size: '1G' }, sharedMemory: [{ name: 'lg2', size: '32M', path: '/dev/kvmfr1' }] })).map((region) => [region.kvmfr, region.pathKey]),
    [[1, 'sharedMemory[0].path']],
    'a /dev/kvmfrN path is a kvmfr device',
  );
});

t.test('one name or path twice, and kvmfr devices the module cannot make, are errors at their keys', async (t) => {
  const { errors } = build({
    lookingGlass: { resolution: '1920x1080', owner: 'alice' },
    sharedMemory: [
      { name: 'looking-glass', size: '2M', owner: 'alice' },
      { name: 'other', size: '2M', path: '/dev/shm/looking-glass', owner: 'alice' },
      { name: 'small', size: '512K', path: '/dev/kvmfr1', owner: 'alice' },
      { name: 'far', size: '2M', path: '/dev/kvmfr10', owner: 'alice' },
    ],
  });
  t.strictSame(errors, [
    'sharedMemory[0].name: lookingGlass already has the name looking-glass',
    'sharedMemory[1].path: lookingGlass already uses /dev/shm/looking-glass',
    'sharedMemory[2].size: a kvmfr device is sized in whole MiB (static_size_mb); 512K is not',
    'sharedMemory[3].path: the kvmfr module makes at most 10 devices, /dev/kvmfr0 to /dev/kvmfr9',
  ]);
});

t.test('no owner: a warning that the desktop user cannot open what root owns', async (t) => {
  const { warnings } = build({ lookingGlass: { resolution: '1920x1080' }, sharedMemory: [{ name: 'scream', size: '2M', mode: '0644' }, { name: 'lg', size: '32M', path: '/dev/kvmfr0' }] });
  t.strictSame(warnings, [
    'lookingGlass: no owner: /dev/shm/looking-glass will be root\'s, mode 0600, which the Looking Glass client, running as the desktop user, cannot open; set lookingGlass.owner to that user',
    "sharedMemory[0]: no owner: /dev/shm/scream will be root's, which the program that reads it on the host (Scream's receiver, say), running as the desktop user, cannot open; set sharedMemory[0].owner to that user",
    "sharedMemory[1]: no owner: /dev/kvmfr0 keeps the owner and mode udev gives it (root's, 0600, without a rule of your own), which the program that reads it on the host (Scream's receiver, say), running as the desktop user, cannot open; set sharedMemory[1].owner to that user",
  ]);
});

t.test('a size that is not a power of two is a profile error at its line: QEMU would abort', async (t) => {
  const dir = tree(t, { 'profiles/vm.yaml': 'memory: { size: 1G }\nsharedMemory:\n  - name: scream\n    size: 3M\n  - { name: big, size: 4G }\n' });
  t.strictSame(errorLines(t, () => loadProfile('vm', { cwd: dir, env: {} })), ['profiles/vm.yaml:4:11: sharedMemory[0].size: expected a power of two like 2M or 32M (ivshmem memory is a PCI BAR)']);
});
