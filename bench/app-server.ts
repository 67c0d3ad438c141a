/**
 * The app under test, in a process of its own (forked by bench/support/app-process.ts) so that the load
 * generator never shares its event loop. It boots the real AppModule the way src/main.ts does (pino as the
 * logger, the same configureApp; on Express, or on Fastify with BENCH_PLATFORM=fastify) with two differences: the vendors answer at once (InstantGateway, for the
 * default accounts and stored ones alike; WeChat callbacks are still verified by the real adapter) and the probe endpoints of bench/support/probe.module.ts
 * are mounted. Settings come from the environment like the app's own; the parent talks to it over IPC to
 * read counters (SQL statements, rows written, Redis commands), kick the relay or the webhook dispatcher, or run a reconciler sweep.
 */
import 'reflect-metadata';
import { tracingChannel } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { Connection } from 'mysql2';
import { Logger } from 'nestjs-pino';
import { ensureSandboxKeys } from '../sandbox/sandbox-keys';
import { AppModule } from '../src/app.module';
import { configureApp, startConsumers } from '../src/app.setup';
import { REDIS } from '../src/common/redis/redis.module';
import { AppConfig } from '../src/config/app-config';
import { ACCOUNT_GATEWAY_FACTORY, type AccountGatewayFactory } from '../src/gateways/accounts/account-gateway';
import { createGateways } from '../src/gateways/gateway-factory';
import { CHANNELS } from '../src/gateways/gateway.types';
import { PAYMENT_GATEWAYS } from '../src/gateways/payment-gateway';
import { OutboxRelay } from '../src/notifications/outbox.relay';
import { WebhookDispatcher } from '../src/notifications/webhook/webhook.dispatcher';
import { Reconciler } from '../src/payment-center/recovery/reconciler';
import { CpuProfiler, summarize } from './support/cpu-profile';
import { InstantGateway } from './support/instant-gateway';
import type { AppCounters, AppRequest, LockedTable } from './support/app-process';
import { ProbeModule } from './support/probe.module';

/** What the app did while counting: every SQL statement and Redis command it sent. */
class Counters {
  on = false;
  statements = 0;
  writeStatements = 0;
  rowsWritten = 0;
  transactions = 0;
  lockHoldMs: Record<LockedTable, number[]> = { payment_intents: [], payments: [] };
  redisCommands: Record<string, number> = {};
  trace: string[] = [];
  traceLimit = 0;
  private cpuAtStart = process.cpuUsage();

  reset(traceLimit: number): void {
    Object.assign(this, { on: true, statements: 0, writeStatements: 0, rowsWritten: 0, transactions: 0 });
    this.redisCommands = {};
    this.lockHoldMs = { payment_intents: [], payments: [] };
    this.trace = [];
    this.traceLimit = traceLimit;
    this.cpuAtStart = process.cpuUsage();
  }

  read(): AppCounters {
    const cpu = process.cpuUsage(this.cpuAtStart);
    return {
      cpuMs: (cpu.user + cpu.system) / 1000,
      statements: this.statements,
      writeStatements: this.writeStatements,
      rowsWritten: this.rowsWritten,
      transactions: this.transactions,
      lockHoldMs: { payment_intents: [...this.lockHoldMs.payment_intents], payments: [...this.lockHoldMs.payments] },
      redisCommands: { ...this.redisCommands },
      trace: [...this.trace],
    };
  }
}

const counters = new Counters();

/**
 * A statement that locks rows of a payment intent or a payment until its transaction ends: a locking read
 * (`FOR UPDATE`, not the recovery claims' SKIP LOCKED), or a write (a row a transaction inserts, updates or
 * deletes stays locked until its COMMIT).
 */
const ROW_LOCK =
  /^(?:SELECT\b.*\bFROM `?(payment_intents|payments)`?\s.*\bFOR UPDATE|INSERT INTO `?(payment_intents|payments)`?\s|UPDATE `?(payment_intents|payments)`?\s|DELETE FROM `?(payment_intents|payments)`?\s)/s;
const lockedTable = (sql: string) => {
  const match = ROW_LOCK.exec(sql);
  return (match?.[1] ?? match?.[2] ?? match?.[3] ?? match?.[4]) as LockedTable | undefined;
};
/** Each connection's open transaction: when it first locked a row of each table. */
const transactionsOf = new WeakMap<object, Partial<Record<LockedTable, number>>>();

type QueryContext = { query: string; result?: { affectedRows?: number }; connection?: object; sentAt?: number };

/**
 * The connection that is sending a statement, while mysql2's `query` runs: the tracing channel's `start`
 * runs synchronously inside it but is not told the connection, which the lock timing needs (a transaction
 * is one connection from START TRANSACTION to COMMIT).
 */
let sending: object | undefined;
function whileSending<T>(connection: object, send: () => T): T {
  const previous = sending;
  sending = connection;
  try {
    return send();
  } finally {
    sending = previous;
  }
}
function markSendingConnection(): void {
  type Query = (this: object, ...args: unknown[]) => unknown;
  const query = Reflect.get(Connection.prototype, 'query') as Query;
  Reflect.set(Connection.prototype, 'query', function (this: object, ...args: unknown[]) {
    return whileSending(this, () => query.apply(this, args));
  });
}

/**
 * Counts statements and the rows write statements changed (mysql2's affectedRows) at the driver, from
 * mysql2's `mysql2:query` tracing channel: it sees every statement, TypeORM's and the money path's plain
 * ones (src/database/sql.ts) alike, with its parameters inlined as MariaDB received it.
 *
 * It also times how long the app holds row locks of payment intents and payments: in a transaction, from
 * the answer to its first statement that locked a row of that table (the lock is granted) to the answer to
 * its COMMIT or ROLLBACK (released), on the same connection; an autocommitted write holds its lock for the
 * statement, timed from sending it to its answer.
 */
function countSql(): void {
  tracingChannel<string, QueryContext>('mysql2:query').subscribe({
    start(context) {
      context.connection = sending;
      context.sentAt = performance.now();
    },
    end() {},
    asyncStart(context) {
      if (!counters.on) return;
      const at = performance.now();
      counters.statements += 1;
      const sql = context.query.trimStart();
      const verb = sql.slice(0, 8).toUpperCase();
      if (verb.startsWith('START')) counters.transactions += 1;
      if (verb.startsWith('INSERT') || verb.startsWith('UPDATE') || verb.startsWith('DELETE')) {
        counters.writeStatements += 1;
        counters.rowsWritten += context.result?.affectedRows ?? 0;
      }
      const connection = context.connection;
      if (connection) {
        const open = transactionsOf.get(connection);
        if (verb.startsWith('START')) transactionsOf.set(connection, {});
        else if (verb.startsWith('COMMIT') || verb.startsWith('ROLLBACK')) {
          for (const [table, since] of Object.entries(open ?? {}) as [LockedTable, number][])
            counters.lockHoldMs[table].push(at - since);
          transactionsOf.delete(connection);
        } else {
          const table = lockedTable(sql);
          if (table && open) open[table] ??= at;
          else if (table && (verb.startsWith('UPDATE') || verb.startsWith('DELETE')))
            counters.lockHoldMs[table].push(at - context.sentAt!);
        }
      }
      if (counters.trace.length < counters.traceLimit) counters.trace.push(sql.replace(/\s+/g, ' '));
    },
    asyncEnd() {},
    error() {},
  });
}

/** Counts the commands of the request-path Redis client (the duplicate-submission guard's), by name. */
function countRedis(redis: Redis): void {
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (...args: Parameters<Redis['sendCommand']>) => {
    const { name } = args[0];
    if (counters.on) counters.redisCommands[name] = (counters.redisCommands[name] ?? 0) + 1;
    return send(...args);
  };
}

/**
 * The app on the HTTP platform BENCH_PLATFORM names: `express` (the default, as src/main.ts) or `fastify`
 * (configureApp mounts what rides on Express only on Express; see src/app.setup.ts).
 */
function createApp(moduleRef: TestingModule): INestApplication {
  const options = { rawBody: true, bufferLogs: true };
  const platform = process.env.BENCH_PLATFORM ?? 'express';
  if (platform === 'express') return moduleRef.createNestApplication(options);
  if (platform === 'fastify') {
    // Fastify's 'trust proxy' is an option of its instance (configureApp sets Express's). It takes a hop
    // count as Express does, though its type leaves numbers out.
    const { trustProxy } = moduleRef.get(AppConfig);
    const adapter = new FastifyAdapter({ trustProxy: trustProxy as boolean | string | string[] });
    return moduleRef.createNestApplication(adapter, options);
  }
  throw new Error(`BENCH_PLATFORM=${platform}: express or fastify`);
}

async function main(): Promise<void> {
  const keysDir = process.env.BENCH_KEYS_DIR;
  // The real adapters only verify callbacks here; nothing calls the sandbox URL. No sandbox runs to generate
  // their keys, so this process does (or finds the set the bench's signer generated).
  if (keysDir) ensureSandboxKeys(keysDir);
  const verifiers = keysDir
    ? createGateways({
        gatewayMode: 'sandbox',
        sandbox: { url: 'http://127.0.0.1:9', keysDir },
        gateways: { timeoutMs: 1000 },
        publicBaseUrl: 'http://127.0.0.1:9',
      } as AppConfig)
    : [];
  const gateways = CHANNELS.map(
    (channel) =>
      new InstantGateway(
        channel,
        verifiers.find((g) => g.channel === channel),
      ),
  );
  const moduleRef = await Test.createTestingModule({ imports: [AppModule, ProbeModule] })
    .overrideProvider(PAYMENT_GATEWAYS)
    .useValue(gateways)
    // Stored accounts answer at once too: their adapters are built (and cached) per account as in production.
    .overrideProvider(ACCOUNT_GATEWAY_FACTORY)
    .useValue(((_config, account) => new InstantGateway(account.channel)) satisfies AccountGatewayFactory)
    .compile();
  const app = createApp(moduleRef);
  app.useLogger(app.get(Logger));
  configureApp(app);
  await startConsumers(app);
  markSendingConnection();
  countSql();
  countRedis(app.get<Redis>(REDIS));
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;

  const profiler = new CpuProfiler();
  process.on('message', (message: AppRequest) => {
    handle(message).then(
      (result) => process.send?.({ id: message.id, ok: true, result }),
      (error: unknown) => process.send?.({ id: message.id, ok: false, error: String(error) }),
    );
  });

  async function handle(message: AppRequest): Promise<unknown> {
    switch (message.command) {
      case 'count':
        counters.reset(message.traceLimit ?? 0);
        return undefined;
      case 'counters':
        return counters.read();
      case 'kick-relay':
        app.get(OutboxRelay).kick();
        return undefined;
      case 'kick-webhooks':
        app.get(WebhookDispatcher).kick();
        return undefined;
      case 'profile-start':
        await profiler.start();
        return undefined;
      case 'profile-stop': {
        const profile = await profiler.stop();
        // BENCH_PROFILE_DIR keeps the whole profile, for Chrome DevTools or speedscope.
        const dir = process.env.BENCH_PROFILE_DIR;
        if (dir) writeFileSync(join(dir, `${message.name}.cpuprofile`), JSON.stringify(profile));
        return summarize(profile);
      }
      case 'sweep': {
        const started = performance.now();
        const claimed = await app.get(Reconciler).sweep();
        return { claimed, ms: performance.now() - started };
      }
      case 'stop':
        await app.close();
        setImmediate(() => process.exit(0));
        return undefined;
    }
  }

  process.send?.({ ready: true, port });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
