// capture-host (lib/cli/capture-host.ts, lib/host/capture.ts): a capture used as --sysroot
// prints what its source prints, on every fake host and on this machine; it holds only what
// the readers read, with private content cut; the .tar.gz holds the same tree as the directory.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { BootVmError } from '../../lib/errors.js';
import { bootVm } from '../../lib/cli/boot-vm.js';
import { captureHostTree, recordHostReads } from '../../lib/cli/capture-host.js';
import { captureReads } from '../../lib/host/capture.js';
import { writeCaptureDir, writeCaptureTarGz } from '../../lib/cli/capture-output.js';
import { checkIommu } from '../../lib/cli/check-iommu.js';
import { cpuTopology } from '../../lib/cli/cpu-topology.js';
import { doctor } from '../../lib/cli/doctor.js';
import { runCli } from '../fixtures/cli.js';
import { FIXTURES, NO_QEMU_ENV, REPO, hostRoot } from '../fixtures/helpers.js';

const PROFILES = readdirSync(join(REPO, 'profiles')).filter((file) => file.endsWith('.yaml')).map((file) => file.replace(/\.yaml$/, ''));
/** Every fake host: a directory with a sys/ in it, the older sysfs forms' one level down. */
const HOSTS = readdirSync(join(FIXTURES, 'hosts'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .flatMap((entry) => (existsSync(join(FIXTURES, 'hosts', entry.name, 'sys')) ? [entry.name] : readdirSync(join(FIXTURES, 'hosts', entry.name)).map((form) => `${entry.name}/${form}`)));

function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'capture-host-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What a CLI prints, or its error lines: the same either way for a faithful capture. */
async function printed(body: () => Promise<string> | string): Promise<string> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof BootVmError) return `exit ${error.exitCode}\n${error.lines().join('\n')}`;
    throw error;
  }
}

const both = ({ stdout, stderr }: { stdout: string; stderr: string[] }) => [...stderr, stdout].join('\n');

/** cpu-topology, check-iommu, and per profile doctor and the dry-run, with the root's own name taken out (the lines that name it). */
async function outputs(root: string | undefined, env: NodeJS.ProcessEnv, profiles = PROFILES): Promise<Record<string, string>> {
  const sysroot = root ?? '/';
  const result: Record<string, string> = {
    'cpu-topology': await printed(() => both(cpuTopology({ json: false, sysroot }, REPO, env))),
    'check-iommu': await printed(() => both(checkIommu({ json: false, sysroot }, REPO, env))),
  };
  for (const profile of profiles) {
    result[`doctor ${profile}`] = await printed(() => doctor({ profile, bootConfig: false, json: false, sysroot }, REPO, env).stdout);
    result[`dry-run ${profile}`] = await printed(async () => {
      const { stdout, warnings } = await bootVm({ profile, dryRun: true, json: false, explain: false, quiet: false, sysroot }, REPO, env);
      return [...warnings, stdout].join('\n');
    });
  }
  for (const [key, text] of Object.entries(result)) result[key] = root === undefined || root === '/' ? text : text.replaceAll(root, '');
  return result;
}

/** Every path of a written capture, with its kind. */
function listTree(dir: string, at = ''): string[] {
  return readdirSync(join(dir, at))
    .sort()
    .flatMap((name) => {
      const path = `${at}/${name}`;
      const stat = lstatSync(join(dir, path));
      if (stat.isSymbolicLink()) return [`${path} -> ${readlinkSync(join(dir, path))}`];
      if (stat.isDirectory()) return [`${path}/`, ...listTree(dir, path)];
      return [`${path} (${stat.size})`];
    });
}

for (const hostName of HOSTS) {
  t.test(`${hostName}: its capture prints what the fake host prints, and holds only what the readers read`, async (t) => {
    const source = realpathSync(hostRoot(hostName));
    const out = join(scratch(t), 'capture');
    const { sysroot, users } = recordHostReads(source, REPO, NO_QEMU_ENV);
    const capture = captureReads(source, sysroot.reads, { users });
    writeCaptureDir(capture, out);
    t.strictSame(await outputs(out, NO_QEMU_ENV), await outputs(source, NO_QEMU_ENV));

    // Each file with content is one the readers read (by the name they used, or through links);
    // every other entry is on the way to a path a reader named, or the name of an entry of a directory listed.
    const real = (path: string): string => {
      try {
        return realpathSync(join(source, path)).slice(source.length) || '/';
      } catch {
        return path === '/' ? '/' : `${real(dirname(path)).replace(/\/$/, '')}/${basename(path)}`;
      }
    };
    const read = new Set([...sysroot.reads.files.keys()].map(real));
    const raw = [...sysroot.reads.files.keys(), ...sysroot.reads.links, ...sysroot.reads.probed, ...sysroot.reads.sized, ...sysroot.reads.listed];
    const ancestors = (path: string) => path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/') || '/');
    const onTheWay = new Set([...raw.map(real), ...raw, ...raw.map((path) => `${real(dirname(path)).replace(/\/$/, '')}/${basename(path)}`)].flatMap(ancestors));
    const listed = new Set([...sysroot.reads.listed].map(real));
    t.strictSame([...capture].filter(([path, entry]) => entry.kind === 'file' && !read.has(real(path))).map(([path]) => path), [], 'no file content the readers did not read');
    t.strictSame([...capture.keys()].filter((path) => !onTheWay.has(real(path)) && !listed.has(real(dirname(path)))), [], 'no path the readers did not reach');
  });
}

t.test('a capture taken where no profile is found serves the profiles written later: any CPU, device, page size and shield', async (t) => {
  const source = realpathSync(hostRoot('z77-i5-2500'));
  const out = join(scratch(t), 'capture');
  writeCaptureDir(captureHostTree({ sysroot: source }, scratch(t), NO_QEMU_ENV), out);
  // Not mediapc or windows11: a ROM file, disks and /dev/shm are named by a profile alone.
  const later = ['gaming-9900k', 'desktop-4790k', 'workstation-gtx1060'];
  t.strictSame(await outputs(out, NO_QEMU_ENV, later), await outputs(source, NO_QEMU_ENV, later));
});

t.test('private content is cut: accounts to names and ids, system ones and the profiles’ users; processes to those holding a device', async (t) => {
  const source = realpathSync(hostRoot('i7-12700k'));
  const capture = captureHostTree({ sysroot: source }, REPO, NO_QEMU_ENV);
  const text = (path: string) => {
    const entry = capture.get(path);
    return entry?.kind === 'file' ? entry.data.toString('utf8') : undefined;
  };
  const passwd = text('/etc/passwd') ?? '';
  t.ok(passwd.length > 0, 'the passwd the readers need is there');
  for (const line of passwd.trimEnd().split('\n')) t.match(line, /^[^:]+:x:\d+:\d+::\/:\/usr\/sbin\/nologin$/, 'no password, full name, home or shell');
  const sourceUsers = readFileSync(join(source, 'etc/passwd'), 'utf8').trimEnd().split('\n').map((line) => line.split(':'));
  const dropped = sourceUsers.filter(([, , uid]) => Number(uid) >= 1000).map(([name]) => name);
  const kept = passwd.trimEnd().split('\n').map((line) => line.split(':')[0]);
  for (const name of dropped) t.ok(!kept.includes(name) || name === 'gamer', `${name} (a user) is kept only when a profile runs QEMU as it`);
  for (const line of (text('/etc/group') ?? '').split('\n').filter(Boolean)) t.match(line, /^[^:]+:x:\d+:$/, 'groups without members');
  t.equal(text('/proc/mounts'), 'sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\nhugetlbfs /dev/hugepages hugetlbfs rw,relatime 0 0\n', 'mounts: virtual file systems only, not the disks');
  const processes = [...capture.keys()].filter((path) => /^\/proc\/\d+\//.test(path) && !path.startsWith(`/proc/${readlinkSync(join(source, 'proc/self'))}/`));
  t.ok(processes.every((path) => /^\/proc\/\d+\/(fd|fd\/\d+|comm)$/.test(path)), 'of other processes, only their device files held and their name');
  t.ok(processes.filter((path) => path.includes('/fd/')).every((path) => (capture.get(path) as { target: string }).target.startsWith('/dev/')), 'held files are device files');
});

t.test('the .tar.gz unpacks to the tree the directory output writes, long names and link targets included', async (t) => {
  const dir = scratch(t);
  const capture = captureHostTree({ sysroot: realpathSync(hostRoot('lab')) }, REPO, NO_QEMU_ENV);
  // Past ustar's 100 bytes, as deep sysfs paths and their links' targets can be.
  const deep = `/sys/devices/${'pci0000:00/0000:00:1c.4/'.repeat(6)}0000:03:00.0`;
  capture.set(`${deep}/vendor`, { kind: 'file', data: Buffer.from('0x10de\n') });
  capture.set('/sys/bus/pci/devices/0000:03:00.0', { kind: 'link', target: `../../..${deep.slice(4)}` });
  writeCaptureDir(capture, join(dir, 'tree'));
  writeCaptureTarGz(capture, join(dir, 'lab.tar.gz'));
  execFileSync('mkdir', [join(dir, 'unpacked')]);
  execFileSync('tar', ['-xzf', join(dir, 'lab.tar.gz'), '-C', join(dir, 'unpacked')]);
  const tree = listTree(join(dir, 'tree'));
  t.ok(tree.some((line) => line.startsWith('/sys/bus/pci/devices/0000:03:00.0 -> ')), 'the long link is there');
  t.strictSame(listTree(join(dir, 'unpacked')), tree);
  t.equal(readFileSync(join(dir, 'unpacked/proc/cpuinfo'), 'utf8'), readFileSync(join(dir, 'tree/proc/cpuinfo'), 'utf8'));
});

t.test('--out: an existing non-empty directory is refused before any work', async (t) => {
  const dir = scratch(t);
  writeCaptureDir(new Map([['/proc/cpuinfo', { kind: 'file', data: Buffer.from('x') }]]), join(dir, 'taken'));
  t.throws(() => writeCaptureDir(undefined, join(dir, 'taken')), { message: `--out: ${join(dir, 'taken')} exists and is not an empty directory` });
});

t.test('scripts/capture-host.mjs: a .tar.gz that cpu-topology takes once unpacked, bad input in one line', async (t) => {
  const dir = scratch(t);
  const written = runCli('scripts/capture-host.mjs', ['--sysroot', hostRoot('i9-9900k'), '--out', join(dir, 'i9.tar.gz')]);
  t.equal(written.status, 0, written.stderr);
  t.match(written.stdout, new RegExp(`^capture-host: wrote ${join(dir, 'i9.tar.gz')} \\(\\d+ files, \\d+ links, \\d+ directories; \\d+ kB\\) in \\d+\\.\\ds\n$`));
  t.equal(written.stderr, '', 'no progress line when stderr is not a terminal');
  execFileSync('mkdir', [join(dir, 'i9')]);
  execFileSync('tar', ['-xzf', join(dir, 'i9.tar.gz'), '-C', join(dir, 'i9')]);
  t.equal(cpuTopology({ json: false, sysroot: join(dir, 'i9') }, REPO, NO_QEMU_ENV).stdout, cpuTopology({ json: false, sysroot: hostRoot('i9-9900k') }, REPO, NO_QEMU_ENV).stdout);
  const taken = runCli('scripts/capture-host.mjs', ['--out', join(dir, 'i9')]);
  t.strictSame([taken.status, taken.stderr], [2, `--out: ${join(dir, 'i9')} exists and is not an empty directory\n`]);
});

// This machine: root in CI (which reads every /proc and /sys file); REQUIRE_QEMU=1 makes a non-root run fail instead of skipping.
const live = process.getuid?.() === 0 || process.env.REQUIRE_QEMU === '1';
t.test('this machine: the capture prints what / prints', { skip: live ? false : 'not root (set REQUIRE_QEMU=1 to run it anyway)' }, async (t) => {
  const out = join(scratch(t), 'capture');
  const started = Date.now();
  writeCaptureDir(captureHostTree({}, REPO, process.env), out);
  t.comment(`captured in ${Date.now() - started} ms`);
  // Free memory moves between the capture and the comparison: its counts are masked, nothing else.
  const settled = (printed: Record<string, string>) => Object.fromEntries(Object.entries(printed).map(([key, text]) => [key, text.replace(/\d+ free/g, 'N free')]));
  t.strictSame(settled(await outputs(out, process.env)), settled(await outputs('/', process.env)));
});
