/**
 * The webhook partner of bench/webhooks.bench.ts, in a process of its own (forked by WebhookReceiver below):
 * a bare `http` server answering 200 at once to every POST, remembering when each x-pc-event-id arrived.
 *
 * Its own process, not the bench's: the bare client of the ceiling runs in the bench process and the app's
 * dispatcher in the app's, so in both rounds the sender and the receiver each have an event loop of their own
 * and the receiver costs the same on either side.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export const RECEIVER_PATH = '/hooks/payment-center';

/**
 * What the receiver saw since the last reset: POSTs, TCP connections opened, the first arrival (epoch ms) of
 * each event id, and the CPU its own process used (ms).
 */
export interface Receipts {
  posts: number;
  connections: number;
  cpuMs: number;
  arrivals: [eventId: string, at: number][];
}

type ReceiverRequest = { id: number } & ({ command: 'reset' } | { command: 'receipts' });

function serve(): void {
  let posts = 0;
  let connections = 0;
  let cpuAtReset = process.cpuUsage();
  let arrivals = new Map<string, number>();
  const server = createServer((request, response) => {
    const at = Date.now();
    posts += 1;
    const eventId = request.headers['x-pc-event-id'];
    if (typeof eventId === 'string' && !arrivals.has(eventId)) arrivals.set(eventId, at);
    // Answered at once; the body is read and dropped so the kept-alive socket can carry the next POST.
    request.resume();
    response.writeHead(200, { 'content-length': 0 });
    response.end();
  });
  server.on('connection', () => (connections += 1));
  server.keepAliveTimeout = 60_000;
  process.on('message', (message: ReceiverRequest) => {
    switch (message.command) {
      case 'reset':
        posts = 0;
        connections = 0;
        cpuAtReset = process.cpuUsage();
        arrivals = new Map();
        process.send?.({ id: message.id, result: undefined });
        return;
      case 'receipts': {
        const cpu = process.cpuUsage(cpuAtReset);
        const cpuMs = (cpu.user + cpu.system) / 1000;
        process.send?.({
          id: message.id,
          result: { posts, connections, cpuMs, arrivals: [...arrivals] } satisfies Receipts,
        });
        return;
      }
    }
  });
  process.on('disconnect', () => process.exit(0));
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ ready: true, port: (server.address() as AddressInfo).port });
  });
}

/** The receiver's process, seen from the bench: its URL, and its counts over IPC. */
export class WebhookReceiver {
  private nextId = 1;
  private readonly waiting = new Map<number, (result: unknown) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on('message', (message: { id?: number; result?: unknown }) => {
      if (message.id === undefined) return;
      this.waiting.get(message.id)?.(message.result);
      this.waiting.delete(message.id);
    });
  }

  static start(): Promise<WebhookReceiver> {
    const child = fork(__filename, ['serve'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the webhook receiver exited with ${code}`)));
      child.once('message', (message: { ready?: boolean; port?: number }) => {
        if (!message.ready) return;
        child.removeAllListeners('exit');
        resolve(new WebhookReceiver(child, `http://127.0.0.1:${message.port}${RECEIVER_PATH}`));
      });
    });
  }

  private request<T>(command: Omit<ReceiverRequest, 'id'>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve) => {
      this.waiting.set(id, resolve as (result: unknown) => void);
      this.child.send({ ...command, id });
    });
  }

  async reset(): Promise<void> {
    await this.request({ command: 'reset' });
  }

  receipts(): Promise<Receipts> {
    return this.request({ command: 'receipts' });
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    await exited;
  }
}

if (require.main === module && process.argv[2] === 'serve') serve();
