import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';

/** The tables whose row locks the app under test times (see bench/app-server.ts). */
export type LockedTable = 'payment_intents' | 'payments';

/** What the app did between `count` and `counters` (see bench/app-server.ts). */
export interface AppCounters {
  /** CPU time the app's process used (user + system), in milliseconds. */
  cpuMs: number;
  statements: number;
  writeStatements: number;
  /** Rows inserted, updated or deleted, as MariaDB reported them (affectedRows). */
  rowsWritten: number;
  transactions: number;
  /**
   * How long each transaction that locked a payment intent or a payment row (`SELECT … FOR UPDATE`) held it:
   * from the lock's answer to the COMMIT's (or ROLLBACK's), in milliseconds, one entry per transaction.
   */
  lockHoldMs: Record<LockedTable, number[]>;
  /** Commands sent by the request-path Redis client (the duplicate-submission guard), by name. */
  redisCommands: Record<string, number>;
  /** The first statements with their parameters inlined, whitespace folded, when `count` asked for a trace. */
  trace: string[];
}

export type AppRequest = { id: number } & (
  | { command: 'count'; traceLimit?: number }
  | { command: 'counters' }
  | { command: 'kick-relay' }
  | { command: 'kick-webhooks' }
  | { command: 'sweep' }
  | { command: 'profile-start' }
  | { command: 'profile-stop'; name: string }
  | { command: 'stop' }
);

type Command = AppRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** A running bench/app-server.js child: its URL and a request/answer channel over IPC. */
export class AppProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on('message', (message: { id?: number; ok?: boolean; result?: unknown; error?: string }) => {
      if (message.id === undefined) return;
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.ok) waiter?.resolve(message.result);
      else waiter?.reject(new Error(message.error));
    });
  }

  /**
   * Starts the app with `env` on top of this process's environment and waits until it listens.
   * `nodeOptions` are extra flags for its node (e.g. --cpu-prof).
   */
  static start(env: Record<string, string>, nodeOptions: string[] = []): Promise<AppProcess> {
    const child = fork(join(__dirname, '..', 'app-server.js'), [], {
      env: { ...process.env, ...env },
      execArgv: nodeOptions,
      // Logs go where a container's stdout would: written (the cost is real), not kept.
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the app did not start within 60 s: ${stderr}`));
      }, 60_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the app exited with ${code} before listening: ${stderr}`));
      });
      child.once('message', (message: { ready?: boolean; port?: number }) => {
        if (!message.ready) return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(new AppProcess(child, `http://127.0.0.1:${message.port}`));
      });
    });
  }

  /** The app's process id (to pin it to cores, or read its CPU from /proc). */
  get pid(): number {
    return this.child.pid!;
  }

  request<T = unknown>(command: Command): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ ...command, id });
    });
  }

  async count(traceLimit = 0): Promise<void> {
    await this.request({ command: 'count', traceLimit });
  }

  counters(): Promise<AppCounters> {
    return this.request<AppCounters>({ command: 'counters' });
  }

  /** Samples the app's CPU from now until `stopProfile`, which answers the shares by package. */
  async startProfile(): Promise<void> {
    await this.request({ command: 'profile-start' });
  }

  stopProfile(name: string): Promise<{ group: string; share: number }[]> {
    return this.request({ command: 'profile-stop', name });
  }

  /** Closes the app (pools, relay, consumers) and waits for the process to end. */
  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    try {
      await Promise.race([this.request({ command: 'stop' }), exited]);
      await exited;
    } finally {
      clearTimeout(killer);
    }
  }
}
