// Every golden case (the shipped profiles included), planned for this machine's real
// qemu-system-x86_64, started with the stand-ins of fixtures/standin.ts, paused (-S) and
// inspected over QMP. REQUIRE_QEMU=1 (set by .ci/run) turns a missing QEMU into a failure.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { readUefiFirmwares } from '../lib/host/firmware.js';
import { detectQemuVersion } from '../lib/apply/probe-qemu.js';
import { Sysroot } from '../lib/host/sysroot.js';
import { formatProps } from '../lib/qemu/props.js';
import type { QemuVersion } from '../lib/qemu/version.js';
import { parseCpuList } from '../lib/cpu-list.js';
import { parseSize } from '../lib/size.js';
import { pollUntil } from '../lib/apply/poll.js';
import { FIXTURES, planOn } from './fixtures/helpers.js';
import { ROM, qemuUnavailable, withQemu } from './fixtures/qemu-run.js';
import { SHARED_FILE_MODE, options, splitProps, standIn } from './fixtures/standin.js';

/** A real swtpm on `socket` (state in `dir`) for the TPM of the command line, stopped when the test ends. */
async function startSwtpm(t: Test, dir: string, socket: string): Promise<void> {
  const swtpm = spawn('swtpm', ['socket', '--tpm2', '--tpmstate', `dir=${dir}`, '--ctrl', `type=unixio,path=${socket}`, '--terminate'], { stdio: 'ignore' });
  t.teardown(() => void swtpm.kill());
  const failed = new Promise<never>((_, reject) => swtpm.once('error', reject));
  await Promise.race([failed, pollUntil(() => (existsSync(socket) ? true : undefined), { what: `swtpm's socket ${socket}`, timeoutMs: 10_000 })]);
}

if (!qemuUnavailable(t, ROM)) {
  const version = (detectQemuVersion('qemu-system-x86_64', process.env) as { version: QemuVersion }).version;
  const firmwares = readUefiFirmwares(new Sysroot('/'), `pc-q35-${version.major}.${version.minor}`);
  const CASES = join(FIXTURES, 'argv');

  for (const name of readdirSync(CASES).filter((file) => file.endsWith('.yaml')).sort()) {
    const file = join(CASES, name);
    const hostName = /^# host: (\S+)$/m.exec(readFileSync(file, 'utf8'))?.[1] ?? 'lab';
    t.test(`${name}: real QEMU ${version.major}.${version.minor} accepts the planned command line`, async (t) => {
      const plan = planOn(file, hostName, { qemuVersion: version });
      const dir = mkdtempSync(join(tmpdir(), 'boot-vm-qemu-'));
      const memoryDir = mkdtempSync('/dev/shm/boot-vm-mem-');
      t.teardown(() => {
        rmSync(dir, { recursive: true, force: true });
        rmSync(memoryDir, { recursive: true, force: true });
      });
      const stand = standIn(plan.argv, { dir, memoryDir, firmwares, rom: ROM });
      const { pairs } = options(plan.argv);
      const valueOf = (option: string) => pairs.find(([o]) => o === option)?.[1];
      const smp = splitProps(valueOf('-smp')!);
      const smpProp = (key: string) => Number(smp.props.find(([k]) => k === key)![1]);
      const vcpus = Number(smp.head);
      const memorySize = parseSize(valueOf('-m')!)!;

      if (stand.tpmSocket) await startSwtpm(t, dir, stand.tpmSocket);
      await withQemu(t, stand.argv, stand.qmp, async (qmp) => {
        const cpus = await qmp.execute<{ props: { 'socket-id': number; 'core-id': number; 'thread-id': number } }[]>('query-cpus-fast');
        t.equal(cpus.length, vcpus, `${vcpus} vCPUs`);
        t.equal(new Set(cpus.map((cpu) => cpu.props['socket-id'])).size, smpProp('sockets'), 'sockets as planned');
        t.equal(new Set(cpus.map((cpu) => `${cpu.props['socket-id']}/${cpu.props['core-id']}`)).size, smpProp('sockets') * smpProp('cores'), 'cores as planned');
        t.equal(new Set(cpus.map((cpu) => cpu.props['thread-id'])).size, smpProp('threads'), 'threads per core as planned');

        const summary = await qmp.execute<{ 'base-memory': number }>('query-memory-size-summary');
        t.equal(summary['base-memory'], memorySize, `guest RAM is ${valueOf('-m')}`);
        const memdevs = await qmp.execute<{ id: string; size: number; policy: string; 'host-nodes': number[] }[]>('query-memdev');
        const guestMemdevs = memdevs.filter(({ id }) => !id.startsWith('shm-')).sort((a, b) => a.id.localeCompare(b.id));
        // The planned backends (one, or one per guest NUMA node), bound as planned; the stand-in bound them to node 0.
        const backends = pairs.filter(([o, v]) => o === '-object' && v!.startsWith('memory-backend') && !v!.includes('id=shm-')).map(([, v]) => new Map(splitProps(v!).props));
        const planned = backends.map((props) => ({ id: props.get('id')!, size: parseSize(props.get('size')!)!, policy: props.get('policy') ?? 'default', 'host-nodes': props.has('host-nodes') ? [0] : [] }));
        if (backends.length > 0) {
          t.strictSame(guestMemdevs.map(({ id, size, policy, 'host-nodes': hostNodes }) => ({ id, size, policy, 'host-nodes': hostNodes })), planned.sort((a, b) => a.id.localeCompare(b.id)), 'the memory backends as planned, with their binding');
          t.equal(guestMemdevs.reduce((sum, { size }) => sum + size, 0), memorySize, 'together the full memory size');
        }
        // Guest NUMA nodes: each vCPU in the node whose -numa cpus= lists it (query-cpus-fast props node-id).
        const numaNodes = pairs.filter(([o, v]) => o === '-numa' && v!.includes('cpus='));
        if (numaNodes.length > 0) {
          const nodeOfVcpu = new Map<number, number>();
          for (const [, value] of numaNodes) {
            const { props } = splitProps(value!);
            const nodeid = Number(props.find(([k]) => k === 'nodeid')![1]);
            for (const [, range] of props.filter(([k]) => k === 'cpus')) for (const vcpu of parseCpuList(range)!) nodeOfVcpu.set(vcpu, nodeid);
          }
          const placed = await qmp.execute<{ 'cpu-index': number; props: { 'node-id'?: number } }[]>('query-cpus-fast');
          t.strictSame(
            placed.map((cpu) => [cpu['cpu-index'], cpu.props['node-id']]).sort(([a], [b]) => a! - b!),
            [...nodeOfVcpu.entries()].sort(([a], [b]) => a - b),
            `every vCPU in its planned guest node (${numaNodes.length} nodes)`,
          );
        }

        // Shared memory: each region's ivshmem-plain on pcie.0 with its backend's size as BAR 2,
        // on the file made for it, which QEMU sized and left with the mode it was made with.
        if (stand.sharedFiles.length > 0) {
          const buses = await qmp.execute<{ bus: number; devices: { qdev_id: string; id: { vendor: number; device: number }; regions: { bar: number; size: number }[] }[] }[]>('query-pci');
          const devices = buses.find(({ bus }) => bus === 0)!.devices;
          for (const { id, file } of stand.sharedFiles) {
            const size = parseSize(new Map(splitProps(pairs.find(([o, v]) => o === '-object' && v!.includes(`id=${id},`))![1]!).props).get('size')!)!;
            t.equal(memdevs.find((memdev) => memdev.id === id)?.size, size, `backend ${id} has ${size} bytes`);
            const device = devices.find((candidate) => candidate.qdev_id === id.replace(/^shm-/, 'ivshmem-'));
            t.ok(device, `an ivshmem-plain for ${id} on pcie.0 (bus 0)`);
            t.strictSame(device && [device.id.vendor, device.id.device], [0x1af4, 0x1110], 'it is the Red Hat IVSHMEM device the guest driver binds');
            t.equal(device?.regions.find((region) => region.bar === 2)?.size, size, 'its BAR 2 maps the whole region');
            const stat = statSync(file);
            t.equal(stat.size, size, `QEMU sized ${file}`);
            t.equal(stat.mode & 0o777, SHARED_FILE_MODE, 'and left its mode as made');
          }
        }

        if (stand.tpmSocket) {
          const model = /-device (tpm-\w+)/.exec(plan.argv.join(' '))![1];
          t.match(await qmp.execute('query-tpm'), [{ model, options: { type: 'emulator', data: { chardev: 'chrtpm' } } }], `the guest has a ${model} TPM, backed by the real swtpm`);
        }

        const peripherals = (await qmp.execute<{ name: string; type: string }[]>('qom-list', { path: '/machine/peripheral' })).map((entry) => `${entry.name}:${entry.type}`);
        for (const [, value] of pairs.filter(([o, v]) => o === '-device' && v!.startsWith('pcie-root-port'))) {
          const id = /id=(\w+)/.exec(value!)![1]!;
          t.ok(peripherals.includes(`${id}:child<pcie-root-port>`), `root port ${id} exists`);
        }
        for (const { device } of stand.vfio) {
          const props = new Map(splitProps(device).props);
          const id = props.get('id')!;
          const bus = props.get('bus')!;
          const fn = parseInt(props.get('addr')!.split('.')[1]!, 16);
          t.equal(await qmp.execute('qom-get', { path: `/machine/peripheral/${id}`, property: 'parent_bus' }), `/machine/peripheral/${bus}/${bus}`, `${id} (stand-in for ${props.get('host')}) sits on root port ${bus}`);
          t.equal(await qmp.execute('qom-get', { path: `/machine/peripheral/${id}`, property: 'addr' }), fn, `${id} is function ${fn}`);
        }

        const iothreads = pairs.filter(([o, v]) => o === '-object' && v!.startsWith('iothread,')).map(([, v]) => new Map(splitProps(v!).props).get('id')!);
        if (iothreads.length > 0) {
          const running = await qmp.execute<{ id: string }[]>('query-iothreads');
          t.strictSame(running.map(({ id }) => id).sort(), iothreads.sort(), 'the IO threads as planned');
          for (const [, value] of pairs.filter(([o, v]) => o === '-device' && v!.includes('iothread='))) {
            const props = new Map(splitProps(value!).props);
            t.equal(await qmp.execute('qom-get', { path: `/machine/peripheral/${props.get('id')}`, property: 'iothread' }), `/objects/${props.get('iothread')}`, `${props.get('id')} runs its IO in ${props.get('iothread')}`);
          }
        }

        const runAs = stand.argv.findIndex((word) => word === '-runas' || word === '-run-with');
        if (runAs >= 0) {
          const pid = readFileSync(stand.pidfile, 'utf8').trim();
          const uid = spawnSync('id', ['-u', stand.argv[runAs + 1]!.replace(/^user=/, '')], { encoding: 'utf8' }).stdout.trim();
          t.match(readFileSync(`/proc/${pid}/status`, 'utf8'), new RegExp(`^Uid:\\t${uid}\\t${uid}\\t`, 'm'), `QEMU runs as uid ${uid}`);
        }

        // The stand-in looks on a bus that does not exist: each usb-host is there, waiting, with the planned ids or port.
        for (const [, value] of pairs.filter(([o, v]) => o === '-device' && v!.startsWith('usb-host,'))) {
          const props = new Map(splitProps(value!).props);
          const path = `/machine/peripheral/${props.get('id')}`;
          const bus = props.get('bus')!.replace(/\.0$/, '');
          t.equal(await qmp.execute('qom-get', { path: `/machine/peripheral/${bus}`, property: 'type' }), 'qemu-xhci', `${props.get('id')} is on the qemu-xhci ${bus}`);
          t.equal(await qmp.execute('qom-get', { path, property: 'attached' }), false, `${props.get('id')} waits for its host device`);
          for (const key of ['vendorid', 'productid'].filter((key) => props.has(key))) t.equal(await qmp.execute('qom-get', { path, property: key }), parseInt(props.get(key)!, 16), `${key}=${props.get(key)}`);
          if (props.has('hostport')) t.equal(await qmp.execute('qom-get', { path, property: 'hostport' }), props.get('hostport'), `hostport=${props.get('hostport')}`);
        }
        // boot-vm's controller (id=usb), not one a profile's extraArgs add.
        for (const [, value] of pairs.filter(([o, v]) => o === '-device' && v!.startsWith('qemu-xhci,id=usb,'))) {
          const props = new Map(splitProps(value!).props);
          t.equal(await qmp.execute('qom-get', { path: `/machine/peripheral/${props.get('id')}`, property: 'parent_bus' }), `/machine/peripheral/${props.get('bus')}/${props.get('bus')}`, `the USB controller sits on root port ${props.get('bus')}`);
        }

        const blocks = await qmp.execute<{ device: string; inserted?: unknown }[]>('query-block');
        const attached = blocks.filter((block) => block.inserted).map((block) => block.device);
        for (const [, value] of pairs.filter(([o, v]) => o === '-drive' && v!.includes('if=none'))) {
          const id = new Map(splitProps(value!).props).get('id')!;
          t.ok(attached.includes(id), `drive ${id} is attached`);
        }
      });

      // input-linux opens its device when QEMU starts, so the stand-in left it out. Its property names
      // are checked against QEMU's own list, and QEMU sets every value before it opens the device:
      // "Could not open" a path that is not there proves the planned values are accepted.
      if (stand.inputLinux.length > 0) {
        const help = spawnSync('qemu-system-x86_64', ['-object', 'input-linux,help'], { encoding: 'utf8', timeout: 30_000 }).stdout;
        const known = new Set([...help.matchAll(/^ {2}([\w-]+)=/gm)].map((match) => match[1]));
        t.ok(known.has('evdev'), `-object input-linux,help lists evdev: ${help}`);
        for (const value of stand.inputLinux) {
          const { props } = splitProps(value);
          for (const [key] of props.filter(([key]) => key !== 'id')) t.ok(known.has(key), `input-linux has a property ${key}`);
          const absent = join(dir, 'no-such-event-device');
          const object = formatProps('input-linux', props.map(([key, v]) => [key, key === 'evdev' ? absent : v]));
          const result = spawnSync('qemu-system-x86_64', ['-machine', 'none', '-display', 'none', '-nodefaults', '-object', object], { encoding: 'utf8', timeout: 30_000 });
          t.match(result.stderr, `Could not open '${absent}'`, `QEMU takes every value of -object ${value}`);
        }
      }

      // QEMU sets every vfio-pci property before it looks for the host device, so "no such host
      // device" proves the planned properties (x-vga, romfile, sub-ids, rombar…) are accepted.
      for (const { rootPort, device } of stand.vfio) {
        const result = spawnSync('qemu-system-x86_64', ['-machine', 'q35,accel=tcg', '-nodefaults', '-display', 'none', '-S', '-device', rootPort, '-device', device], { encoding: 'utf8', timeout: 30_000 });
        t.match(result.stderr, /no such host device/, `QEMU accepts every property of -device ${device}`);
      }
    });
  }
}
