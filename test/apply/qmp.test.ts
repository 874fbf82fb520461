// The QMP client against a fake QMP server on a unix socket in a temporary directory: negotiation,
// replies split byte by byte or packed several to a read, overlapping commands, events around
// replies, the server closing or never greeting, error replies, bad lines, a socket that appears
// late, a QEMU already gone; then once against this machine's real QEMU (TCG).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { QmpClient, QmpClosedError, QmpCommandError, QmpError, QmpTimeoutError, withQmp, type QmpEvent } from '../../lib/apply/qmp.js';
import { waitFor } from '../fixtures/launch.js';
import { qemuUnavailable } from '../fixtures/qemu-run.js';
import { rejection } from '../fixtures/trees.js';

const GREETING = { QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 }, package: '' }, capabilities: ['oob'] } };
const line = (message: unknown) => JSON.stringify(message) + '\r\n';
const event = (name: string, data: Record<string, unknown> = {}) => ({ event: name, data, timestamp: { seconds: 1700000000, microseconds: 5 } });

interface Request {
  execute: string;
  arguments?: Record<string, unknown>;
  id: number;
}

/** A socket path in a directory removed when the test ends. */
function socketPath(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'boot-vm-qmp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'q.qmp');
}

/** Listens at `path`; `onConnection` gets each client and the requests it sends, one per call of `onRequest`. */
function listen(t: Test, path: string, onConnection: (socket: Socket, onRequest: (handle: (request: Request) => void) => void) => void): Promise<Server> {
  const server = createServer((socket) => {
    let buffer = '';
    let handle: (request: Request) => void = () => {};
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        handle(JSON.parse(text) as Request);
      }
    });
    socket.on('error', () => {});
    onConnection(socket, (next) => (handle = next));
  });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

/** A server that greets, negotiates as QEMU does, and hands every later request to `answer`; records what it was asked. */
async function qmpServer(t: Test, answer: (request: Request, socket: Socket) => void = () => {}) {
  const path = socketPath(t);
  const requests: Request[] = [];
  const sockets: Socket[] = [];
  await listen(t, path, (socket, onRequest) => {
    sockets.push(socket);
    socket.write(line(GREETING));
    onRequest((request) => {
      requests.push(request);
      if (request.execute === 'qmp_capabilities') socket.write(line({ return: {}, id: request.id }));
      else answer(request, socket);
    });
  });
  return { path, requests, sockets };
}

const connectTo = (path: string) => QmpClient.connect(path, { timeoutMs: 2000 });

/** Milliseconds `body` took to settle, and how. */
async function timed<T>(body: Promise<T>): Promise<{ ms: number; error?: Error; value?: T }> {
  const started = Date.now();
  try {
    const value = await body;
    return { ms: Date.now() - started, value };
  } catch (error) {
    return { ms: Date.now() - started, error: error as Error };
  }
}

t.test('greets, negotiates, runs commands; overlapping ones get their own replies', async (t) => {
  const { path, requests } = await qmpServer(t, (request, socket) => {
    if (request.execute === 'query-status') socket.write(line({ return: { running: false, status: 'prelaunch' }, id: request.id }));
    // Held back so the later command's reply comes first.
    if (request.execute === 'query-name') setTimeout(() => socket.write(line({ return: { name: 'vm' }, id: request.id })), 50);
    if (request.execute === 'query-kvm') socket.write(line({ return: { enabled: false, present: true }, id: request.id }));
  });
  const qmp = await connectTo(path);
  t.teardown(() => qmp.close());
  t.same(qmp.greeting, GREETING);
  t.same(requests, [{ execute: 'qmp_capabilities', id: 1 }], 'capabilities negotiated once, before anything else');
  t.same(await qmp.execute('query-status'), { running: false, status: 'prelaunch' });
  const [name, kvm] = await Promise.all([qmp.execute('query-name'), qmp.execute('query-kvm', { x: 1 })]);
  t.same(name, { name: 'vm' });
  t.same(kvm, { enabled: false, present: true });
  t.same(requests.slice(2), [{ execute: 'query-name', id: 3 }, { execute: 'query-kvm', arguments: { x: 1 }, id: 4 }], 'arguments and ids sent');
  t.equal(qmp.closed, false);
});

t.test('a greeting and replies split byte by byte, across a multi-byte character', async (t) => {
  const trickle = async (socket: Socket, text: string) => {
    for (const byte of Buffer.from(text)) {
      socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  };
  const path = socketPath(t);
  await listen(t, path, (socket, onRequest) => {
    void trickle(socket, line(GREETING));
    onRequest((request) => void trickle(socket, line({ return: request.execute === 'qom-get' ? 'café ✓' : {}, id: request.id })));
  });
  const qmp = await connectTo(path);
  t.teardown(() => qmp.close());
  t.same(qmp.greeting, GREETING);
  t.equal(await qmp.execute('qom-get'), 'café ✓');
});

t.test('several lines in one read: greeting, events and replies; \\n and \\r\\n alike', async (t) => {
  const path = socketPath(t);
  await listen(t, path, (socket, onRequest) => {
    socket.write(line(GREETING) + JSON.stringify(event('EARLY')) + '\n\r\n');
    onRequest((request) => {
      if (request.execute === 'qmp_capabilities') socket.write(line({ return: {}, id: request.id }));
      // Both replies at once, when the second request came.
      if (request.execute === 'second') socket.write(line({ return: 1, id: request.id - 1 }) + line(event('BETWEEN')) + JSON.stringify({ return: 2, id: request.id }) + '\n');
    });
  });
  const qmp = await connectTo(path);
  t.teardown(() => qmp.close());
  t.same(await Promise.all([qmp.execute('first'), qmp.execute('second')]), [1, 2]);
  t.same(qmp.events.map((e) => e.event), ['EARLY', 'BETWEEN']);
});

t.test('events between a command and its reply are kept in order; waitForEvent finds old and new ones once each', async (t) => {
  const { path } = await qmpServer(t, (request, socket) => {
    if (request.execute === 'cont') {
      socket.write(line(event('RESUME')));
      socket.write(line(event('NIC_RX_FILTER_CHANGED', { name: 'nic0' })));
      socket.write(line({ return: {}, id: request.id }));
      setTimeout(() => socket.write(line(event('RTC_CHANGE', { offset: 1 })) + line(event('RTC_CHANGE', { offset: 2 }))), 30);
    }
  });
  const qmp = await connectTo(path);
  t.teardown(() => qmp.close());
  await qmp.execute('cont');
  t.same(qmp.events.map((e) => e.event), ['RESUME', 'NIC_RX_FILTER_CHANGED'], 'the events before the reply');
  const resume = await qmp.waitForEvent('RESUME', { timeoutMs: 1000 });
  t.equal(resume, qmp.events[0], 'an event that came before the wait');
  const first = qmp.waitForEvent('RTC_CHANGE', { timeoutMs: 1000 });
  const second = qmp.waitForEvent('RTC_CHANGE', { timeoutMs: 1000 });
  t.same((await first).data, { offset: 1 }, 'two waits for one name get two events, in order');
  t.same((await second).data, { offset: 2 });
  t.same((await first).timestamp, { seconds: 1700000000, microseconds: 5 });
  t.same(qmp.events.map((e) => e.event), ['RESUME', 'NIC_RX_FILTER_CHANGED', 'RTC_CHANGE', 'RTC_CHANGE']);
  const again = await timed(qmp.waitForEvent('RESUME', { timeoutMs: 100 }));
  t.type(again.error, QmpTimeoutError, 'an event is returned once');
  t.equal(again.error?.message, `waited 0.1s for QEMU's RESUME event on ${path}`);
  t.same(await qmp.waitForEvent('NIC_RX_FILTER_CHANGED', { timeoutMs: 0 }), { event: 'NIC_RX_FILTER_CHANGED', data: { name: 'nic0' }, timestamp: { seconds: 1700000000, microseconds: 5 } });
  const controller = new AbortController();
  const aborted = qmp.waitForEvent('SHUTDOWN', { timeoutMs: 5000, signal: controller.signal });
  controller.abort();
  const error = await rejection(aborted);
  t.type(error, QmpError);
  t.equal(error.message, `stopped waiting for QEMU's SHUTDOWN event on ${path}`);
});

t.test('an event without data gets empty data', async (t) => {
  const { path } = await qmpServer(t, (request, socket) => socket.write(line({ event: 'STOP' }) + line({ return: {}, id: request.id })));
  const qmp = await connectTo(path);
  t.teardown(() => qmp.close());
  await qmp.execute('stop');
  t.same(qmp.events, [{ event: 'STOP', data: {} } satisfies QmpEvent]);
});

t.test('the server closing mid-command rejects at once with QmpClosedError; later commands too', async (t) => {
  const { path } = await qmpServer(t, (request, socket) => request.execute === 'quit' && socket.destroy());
  const qmp = await connectTo(path);
  const waiting = qmp.waitForEvent('SHUTDOWN', { timeoutMs: 10_000 });
  const { ms, error } = await timed(qmp.execute('quit', undefined, { timeoutMs: 10_000 }));
  t.type(error, QmpClosedError);
  t.equal(error?.message, `QEMU closed its QMP socket ${path} while running quit (QEMU exited?)`);
  t.ok(ms < 1000, `rejected in ${ms} ms`);
  t.equal((await rejection(waiting)).message, `QEMU closed its QMP socket ${path} while waiting for the SHUTDOWN event (QEMU exited?)`);
  t.equal(qmp.closed, true);
  t.type(await rejection(qmp.execute('query-status')), QmpClosedError);
  await qmp.close();
});

t.test('a greeting that never comes: QmpTimeoutError naming the socket, within the timeout', async (t) => {
  const path = socketPath(t);
  await listen(t, path, () => {});
  const { ms, error } = await timed(QmpClient.connect(path, { timeoutMs: 300 }));
  t.type(error, QmpTimeoutError);
  t.match(error?.message, new RegExp(`^waited 0\\.[123]s for QEMU's greeting on ${path} \\(QEMU serves one QMP client at a time: is another one connected\\?\\)$`));
  t.ok(ms >= 250 && ms < 1000, `gave up after ${ms} ms`);
});

t.test('an error reply is a QmpCommandError with its class and description; the connection stays usable', async (t) => {
  const { path } = await qmpServer(t, (request, socket) => {
    if (request.execute === 'cont') socket.write(line({ error: { class: 'GenericError', desc: 'Resetting the Virtual Machine is required' }, id: request.id }));
    else socket.write(line({ return: 'ok', id: request.id }));
  });
  const qmp = await connectTo(path);
  t.teardown(() => qmp.close());
  const error = (await rejection(qmp.execute('cont'))) as QmpCommandError;
  t.type(error, QmpCommandError);
  t.equal(error.errorClass, 'GenericError');
  t.equal(error.desc, 'Resetting the Virtual Machine is required');
  t.equal(error.message, 'QEMU refused cont: Resetting the Virtual Machine is required');
  t.equal(await qmp.execute('query-status'), 'ok');
});

t.test('a command that gets no reply times out naming it; its late reply is dropped', async (t) => {
  let held: (() => void) | undefined;
  const { path } = await qmpServer(t, (request, socket) => {
    if (request.execute === 'query-cpus-fast') held = () => socket.write(line({ return: 'late', id: request.id }));
    else socket.write(line({ return: request.execute, id: request.id }));
  });
  const qmp = await QmpClient.connect(path, { timeoutMs: 2000, commandTimeoutMs: 200 });
  t.teardown(() => qmp.close());
  const { ms, error } = await timed(qmp.execute('query-cpus-fast'));
  t.type(error, QmpTimeoutError);
  t.equal(error?.message, `waited 0.2s for QEMU's reply to query-cpus-fast on ${path}`);
  t.ok(ms >= 190 && ms < 1000, `after ${ms} ms`);
  held!();
  t.equal(await qmp.execute('query-status', undefined, { timeoutMs: 1000 }), 'query-status', 'the next command gets its own reply');
});

t.test('a line that is not JSON fails the connection with a QmpError quoting it, shortened', async (t) => {
  const garbage = 'Traceback: ' + 'x'.repeat(200);
  const { path } = await qmpServer(t, (_request, socket) => socket.write(garbage + '\n'));
  const qmp = await connectTo(path);
  const error = await rejection(qmp.execute('query-status'));
  t.type(error, QmpError);
  t.equal(error.message, `QEMU sent a line that is not a QMP message on ${path}: ${garbage.slice(0, 80)}…`);
  t.equal(qmp.closed, true);
  t.equal(await rejection(qmp.execute('query-status')), error, 'later commands fail the same way');
  await qmp.close();
});

t.test('JSON that is not an object is not a QMP message either', async (t) => {
  const { path } = await qmpServer(t, (_request, socket) => socket.write('[1,2]\n'));
  const qmp = await connectTo(path);
  t.equal((await rejection(qmp.execute('query-status'))).message, `QEMU sent a line that is not a QMP message on ${path}: [1,2]`);
  await qmp.close();
});

t.test('connect waits while the socket is missing or refuses, and connects once QEMU listens', async (t) => {
  const path = socketPath(t);
  writeFileSync(path, '');
  const connecting = timed(QmpClient.connect(path, { timeoutMs: 5000 }));
  await new Promise((resolve) => setTimeout(resolve, 60));
  rmSync(path);
  await new Promise((resolve) => setTimeout(resolve, 60));
  await listen(t, path, (socket, onRequest) => {
    socket.write(line(GREETING));
    onRequest((request) => socket.write(line({ return: {}, id: request.id })));
  });
  const { ms, value, error } = await connecting;
  t.equal(error, undefined);
  t.ok(ms >= 100 && ms < 1000, `connected after ${ms} ms`);
  await value!.close();
});

t.test('connect gives up on a socket that never appears, naming it', async (t) => {
  const path = socketPath(t);
  const { ms, error } = await timed(QmpClient.connect(path, { timeoutMs: 200 }));
  t.type(error, QmpTimeoutError);
  t.equal(error?.message, `waited 0.2s for QEMU to listen on its QMP socket ${path}`);
  t.ok(ms >= 190 && ms < 1000, `after ${ms} ms`);
});

t.test('connect fails at once when QEMU is not alive, or the wait is aborted', async (t) => {
  const path = socketPath(t);
  const dead = await timed(QmpClient.connect(path, { timeoutMs: 10_000, isAlive: () => false }));
  t.type(dead.error, QmpClosedError);
  t.equal(dead.error?.message, `QEMU exited before it opened its QMP socket ${path}`);
  t.ok(dead.ms < 100, `in ${dead.ms} ms`);
  let alive = true;
  const dying = timed(QmpClient.connect(path, { timeoutMs: 10_000, isAlive: () => alive }));
  setTimeout(() => (alive = false), 50);
  const died = await dying;
  t.type(died.error, QmpClosedError, 'QEMU exiting during the wait');
  t.ok(died.ms < 500, `in ${died.ms} ms`);
  const controller = new AbortController();
  const aborting = timed(QmpClient.connect(path, { timeoutMs: 10_000, signal: controller.signal }));
  setTimeout(() => controller.abort(), 50);
  const aborted = await aborting;
  t.equal(aborted.error?.message, `stopped waiting for QEMU's QMP socket ${path}`);
  t.ok(aborted.ms < 500, `in ${aborted.ms} ms`);
});

t.test('a socket path over 107 bytes, or one that cannot be a socket, fails at once with a clear QmpError', async (t) => {
  const path = `/run/boot-vm/${'v'.repeat(100)}.qmp`;
  const error = await rejection(QmpClient.connect(path, { timeoutMs: 1000 }));
  t.type(error, QmpError);
  t.equal(error.message, `cannot connect to the QMP socket ${path}: its path is 117 bytes long, and a unix socket path can have at most 107`);
  const file = socketPath(t);
  writeFileSync(file, '');
  const { ms, error: notDir } = await timed(QmpClient.connect(`${file}/q.qmp`, { timeoutMs: 5000 }));
  t.type(notDir, QmpError);
  t.equal(notDir?.message, `cannot connect to QEMU's QMP socket ${file}/q.qmp: connect ENOTDIR ${file}/q.qmp`);
  t.ok(ms < 1000, `in ${ms} ms`);
});

t.test('close fails what waits with QmpClosedError and leaves no timer behind', async (t) => {
  const { path } = await qmpServer(t);
  const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
  const before = timers();
  const qmp = await connectTo(path);
  const pending = rejection(qmp.execute('query-status', undefined, { timeoutMs: 60_000 }));
  const event = rejection(qmp.waitForEvent('SHUTDOWN', { timeoutMs: 60_000 }));
  t.equal(timers(), before + 2, 'a timer per wait');
  await qmp.close();
  t.equal(timers(), before, 'cleared by close');
  t.equal(qmp.closed, true);
  const error = await pending;
  t.type(error, QmpClosedError);
  t.equal(error.message, `the QMP connection to ${path} was closed while running query-status`);
  t.type(await event, QmpClosedError);
  await qmp.close();
});

t.test('withQmp closes after fn, also when it throws', async (t) => {
  const { path, sockets } = await qmpServer(t, (request, socket) => socket.write(line({ return: 42, id: request.id })));
  t.equal(await withQmp(path, { timeoutMs: 2000 }, (qmp) => qmp.execute('x')), 42);
  const error = await rejection(withQmp(path, { timeoutMs: 2000 }, () => Promise.reject(new Error('fn failed'))));
  t.equal(error.message, 'fn failed');
  t.equal(sockets.length, 2);
  await waitFor('the server to see both connections end', () => sockets.every((socket) => socket.readableEnded), 2000);
});

t.test("this machine's QEMU: status, vCPU threads, cont, quit with SHUTDOWN and then the close", async (t) => {
  if (qemuUnavailable(t)) return;
  const path = socketPath(t);
  const qemu = spawn('qemu-system-x86_64', ['-machine', 'q35,accel=tcg', '-smp', '2', '-m', '64', '-nodefaults', '-display', 'none', '-S', '-qmp', `unix:${path},server=on,wait=off`], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => void qemu.kill('SIGKILL'));
  let stderr = '';
  qemu.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => qemu.on('exit', (code) => resolve(code)));
  const qmp = await QmpClient.connect(path, { timeoutMs: 20_000, isAlive: () => qemu.exitCode === null }).catch((error: Error) => {
    throw new Error(`${error.message}\nQEMU said: ${stderr}`);
  });
  t.ok(qmp.greeting.QMP.version.qemu.major >= 7, `QEMU ${qmp.greeting.QMP.version.qemu.major}.${qmp.greeting.QMP.version.qemu.minor}`);
  t.match(await qmp.execute('query-status'), { running: false, status: 'prelaunch' });
  const cpus = await qmp.execute<{ 'cpu-index': number; 'thread-id': number }[]>('query-cpus-fast');
  t.same(cpus.map((cpu) => cpu['cpu-index']), [0, 1]);
  t.ok(cpus.every((cpu) => Number.isInteger(cpu['thread-id']) && cpu['thread-id'] > 0), 'each vCPU has a thread id');
  t.same(await qmp.execute('cont'), {});
  t.match(await qmp.execute('query-status'), { running: true, status: 'running' });
  const error = (await rejection(qmp.execute('no-such-command'))) as QmpCommandError;
  t.equal(error.errorClass, 'CommandNotFound');
  t.same(await qmp.execute('quit'), {});
  t.match(await qmp.waitForEvent('SHUTDOWN', { timeoutMs: 5000 }), { data: { guest: false, reason: 'host-qmp-quit' } });
  t.type(await rejection(qmp.waitForEvent('NEVER', { timeoutMs: 5000 })), QmpClosedError, 'then QEMU closes the socket');
  t.equal(await exited, 0, 'QEMU quit cleanly');
  await qmp.close();
});
