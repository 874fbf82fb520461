/**
 * A client of QEMU's QMP socket (QEMU Machine Protocol): connect once QEMU listens, negotiate,
 * run commands (replies matched by id, so they may overlap) and keep the events QEMU sends at any
 * time, also between a command and its reply. Lines are JSON objects ended by \n or \r\n.
 */
import { connect, type Socket } from 'node:net';
import { BootVmError } from '../errors.js';
import { pause } from './poll.js';

/** sun_path holds 108 bytes with the terminating NUL; node silently truncates longer paths. */
const MAX_SOCKET_PATH_BYTES = 107;
const CONNECT_POLL_MS = 20;
const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;

/** Talking to QEMU over QMP failed. Exit code 1. */
export class QmpError extends BootVmError {}

/** QEMU did not answer in time. */
export class QmpTimeoutError extends QmpError {}

/** The QMP connection ended (QEMU exited, or close() was called) before the answer came. */
export class QmpClosedError extends QmpError {}

/** QEMU answered a command with an error. */
export class QmpCommandError extends QmpError {
  readonly errorClass: string;
  readonly desc: string;

  constructor(command: string, errorClass: string, desc: string) {
    super(`QEMU refused ${command}: ${desc}`);
    this.errorClass = errorClass;
    this.desc = desc;
  }
}

export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export interface QmpGreeting {
  QMP: { version: { qemu: { major: number; minor: number; micro: number } }; capabilities: string[] };
}

export interface QmpConnectOptions {
  /** For the socket to appear and accept, and for the greeting and negotiation. */
  timeoutMs: number;
  /** Checked while waiting for the socket: false (QEMU exited) ends the wait at once. */
  isAlive?: () => boolean;
  signal?: AbortSignal;
  /** Each command's default timeout. */
  commandTimeoutMs?: number;
}

type Message = Record<string, unknown>;

interface Waiter {
  /** What the waiter was doing, for the error when the connection ends: "running cont". */
  during: string;
  /** Settles the waiter with `message` and returns true when it is what it waits for. */
  offer(message: Message): boolean;
  fail(error: QmpError): void;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** The connected socket, or undefined while nobody listens at `path` yet. */
function tryConnect(path: string): Promise<Socket | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const onError = (error: NodeJS.ErrnoException) => {
      socket.destroy();
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') resolve(undefined);
      else reject(new QmpError(`cannot connect to QEMU's QMP socket ${path}: ${error.message}`));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** Connects once QEMU listens at `path` (the file missing or refusing means not yet), polling until the deadline. */
async function connectWhenListening(path: string, options: QmpConnectOptions, deadline: number): Promise<Socket> {
  const length = Buffer.byteLength(path);
  if (length > MAX_SOCKET_PATH_BYTES) {
    throw new QmpError(`cannot connect to the QMP socket ${path}: its path is ${length} bytes long, and a unix socket path can have at most ${MAX_SOCKET_PATH_BYTES}`);
  }
  for (;;) {
    if (options.signal?.aborted) throw new QmpError(`stopped waiting for QEMU's QMP socket ${path}`);
    if (options.isAlive && !options.isAlive()) throw new QmpClosedError(`QEMU exited before it opened its QMP socket ${path}`);
    const socket = await tryConnect(path);
    if (socket) return socket;
    const left = deadline - Date.now();
    if (left <= 0) throw new QmpTimeoutError(`waited ${seconds(options.timeoutMs)} for QEMU to listen on its QMP socket ${path}`);
    await pause(Math.min(CONNECT_POLL_MS, left), options.signal);
  }
}

export class QmpClient {
  readonly path: string;
  /** Every event received, in order of arrival. */
  readonly events: QmpEvent[] = [];
  readonly #socket: Socket;
  readonly #commandTimeoutMs: number;
  readonly #waiters = new Set<Waiter>();
  /** Events a waitForEvent has returned; the others are still there for the next one. */
  readonly #consumed = new Set<QmpEvent>();
  readonly #gone: Promise<void>;
  #greeting: QmpGreeting | undefined;
  #buffer = '';
  #lastId = 0;
  /** Set once the connection ended: the error for whatever was, or will be, waiting. */
  #ended: ((during: string) => QmpError) | undefined;

  private constructor(path: string, socket: Socket, commandTimeoutMs: number) {
    this.path = path;
    this.#socket = socket;
    this.#commandTimeoutMs = commandTimeoutMs;
    this.#gone = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#receive(chunk));
    // 'close' follows every socket error; it fails whatever waits.
    socket.on('error', () => {});
    socket.on('close', () => this.#end((during) => new QmpClosedError(`QEMU closed its QMP socket ${path} while ${during} (QEMU exited?)`)));
  }

  /** Waits for QEMU to listen at `path` (polling), reads its greeting and negotiates capabilities. */
  static async connect(path: string, options: QmpConnectOptions): Promise<QmpClient> {
    const deadline = Date.now() + options.timeoutMs;
    const client = new QmpClient(path, await connectWhenListening(path, options, deadline), options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
    const left = () => Math.max(0, deadline - Date.now());
    try {
      client.#greeting = await client
        .#wait('greeting', 'waiting for its greeting', { timeoutMs: left(), signal: options.signal }, (message) => ('QMP' in message ? (message as unknown as QmpGreeting) : undefined))
        .catch((error: unknown) => {
          // QEMU accepts a second client but greets it only when the first one leaves.
          throw error instanceof QmpTimeoutError ? new QmpTimeoutError(`${error.message} (QEMU serves one QMP client at a time: is another one connected?)`) : error;
        });
      await client.#execute('qmp_capabilities', undefined, left(), options.signal);
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  get greeting(): QmpGreeting {
    return this.#greeting!;
  }

  get closed(): boolean {
    return this.#ended !== undefined;
  }

  /** Runs `command` and resolves with its `return` value; QEMU's error reply becomes a QmpCommandError. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options?: { timeoutMs?: number }): Promise<T> {
    return this.#execute<T>(command, args, options?.timeoutMs ?? this.#commandTimeoutMs);
  }

  /** The first event named `name` that no earlier call returned, whether it came already or comes within the timeout. */
  waitForEvent(name: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<QmpEvent> {
    const take = (event: QmpEvent) => {
      if (event.event !== name || this.#consumed.has(event)) return undefined;
      this.#consumed.add(event);
      return event;
    };
    for (const event of this.events) if (take(event)) return Promise.resolve(event);
    return this.#wait(`${name} event`, `waiting for the ${name} event`, options, (message) => ('event' in message ? take(message as unknown as QmpEvent) : undefined));
  }

  /** Ends the connection; what still waits fails with QmpClosedError. Resolves once the socket is closed. */
  close(): Promise<void> {
    this.#end((during) => new QmpClosedError(`the QMP connection to ${this.path} was closed while ${during}`));
    this.#socket.destroy();
    return this.#gone;
  }

  async #execute<T>(command: string, args: Record<string, unknown> | undefined, timeoutMs: number, signal?: AbortSignal): Promise<T> {
    const id = ++this.#lastId;
    const reply = this.#wait(`reply to ${command}`, `running ${command}`, { timeoutMs, signal }, (message) => (message.id === id ? message : undefined));
    if (!this.closed) this.#socket.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
    const message = await reply;
    if ('error' in message) {
      const error = message.error as { class: string; desc: string };
      throw new QmpCommandError(command, error.class, error.desc);
    }
    return message.return as T;
  }

  /** Resolves with what `match` makes of the first message it accepts; fails on timeout, abort or the connection's end. */
  #wait<T>(awaited: string, during: string, options: { timeoutMs: number; signal?: AbortSignal | undefined }, match: (message: Message) => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#ended) return reject(this.#ended(during));
      const { signal } = options;
      if (signal?.aborted) return reject(new QmpError(`stopped waiting for QEMU's ${awaited} on ${this.path}`));
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(waiter);
      };
      const waiter: Waiter = {
        during,
        offer: (message) => {
          const value = match(message);
          if (value === undefined) return false;
          finish();
          resolve(value);
          return true;
        },
        fail: (error) => {
          finish();
          reject(error);
        },
      };
      const timer = setTimeout(() => waiter.fail(new QmpTimeoutError(`waited ${seconds(options.timeoutMs)} for QEMU's ${awaited} on ${this.path}`)), options.timeoutMs);
      const onAbort = () => waiter.fail(new QmpError(`stopped waiting for QEMU's ${awaited} on ${this.path}`));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  #receive(chunk: string): void {
    this.#buffer += chunk;
    let newline;
    while (!this.#ended && (newline = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, newline).trim();
      this.#buffer = this.#buffer.slice(newline + 1);
      if (line !== '') this.#dispatch(line);
    }
  }

  #dispatch(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      message = undefined;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      const shown = line.length > 80 ? `${line.slice(0, 80)}…` : line;
      const error = new QmpError(`QEMU sent a line that is not a QMP message on ${this.path}: ${shown}`);
      this.#end(() => error);
      this.#socket.destroy();
      return;
    }
    const received = message as Message;
    if ('event' in received) {
      const event: QmpEvent = { event: String(received.event), data: (received.data ?? {}) as Record<string, unknown> };
      if (received.timestamp) event.timestamp = received.timestamp as QmpEvent['timestamp'];
      this.events.push(event);
      this.#offer(event as unknown as Message);
    } else this.#offer(received);
  }

  /** Hands the message to the first waiter that takes it; a reply nobody waits for (its command timed out) is dropped. */
  #offer(message: Message): void {
    for (const waiter of this.#waiters) if (waiter.offer(message)) return;
  }

  #end(error: (during: string) => QmpError): void {
    if (this.#ended) return;
    this.#ended = error;
    for (const waiter of [...this.#waiters]) waiter.fail(error(waiter.during));
  }
}

/** Connects, runs fn, always closes: QEMU serves one QMP client at a time, so nobody holds the socket between uses. */
export async function withQmp<T>(path: string, options: QmpConnectOptions, fn: (qmp: QmpClient) => Promise<T>): Promise<T> {
  const qmp = await QmpClient.connect(path, options);
  try {
    return await fn(qmp);
  } finally {
    await qmp.close();
  }
}
