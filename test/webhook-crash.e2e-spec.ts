import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'mysql2/promise';
import type { PartnerConfig } from '../src/config/environment';
import { waitFor } from './support/amqp';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { testPartners } from './support/partners';
import { sandboxKeys } from './support/sandbox';
import { paidEvent } from './support/paid-event';
import { type RunningApp, startApp, TestClock } from './support/test-app';

const EVENTS = 5;

/**
 * The dispatcher runs in a real child process (the built app) and is SIGKILLed while its POSTs are in flight:
 * the partner (examples/webhook-receiver, run as a partner runs it) has applied each event, but no answer has
 * reached us. After a restart every event is sent again once its claim's lease has run out, the receiver
 * recognises it, and every delivery ends PUBLISHED: delivered at least once, applied exactly once.
 */
describe('webhook dispatcher killed mid-POST (e2e, SIGKILL)', () => {
  const main = join(process.cwd(), 'dist', 'src', 'main.js');
  const keysDir = sandboxKeys('pc-webhook-crash-');
  const dir = mkdtempSync(join(tmpdir(), 'pc-webhook-crash-'));
  const store = join(dir, 'applied.jsonl');
  let HOOK: PartnerConfig;
  let writer: RunningApp;
  let db: Pool;
  let receiver: ChildProcess;
  let receiverPort = 0;
  let front: Server;
  let child: ChildProcess | undefined;
  /** While true the front forwards each POST to the receiver and never answers us (the answer is lost). */
  let swallowAnswers = true;
  const held: ServerResponse[] = [];
  const sends = new Map<string, number>();

  function startChild(timeoutMs: number): ChildProcess {
    const started = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        PORT: String(20_000 + Math.floor(Math.random() * 20_000)),
        LOG_LEVEL: 'error',
        DB_MIGRATE_ON_START: 'false',
        PARTNERS: JSON.stringify([HOOK]),
        ORDERS_PARTNER: 'none',
        CONSUMERS_ENABLED: 'false',
        RELAY_ENABLED: 'true',
        RELAY_POLL_INTERVAL_MS: '100',
        WEBHOOK_TIMEOUT_MS: String(timeoutMs),
        WEBHOOK_RETRY_SCHEDULE: '200ms,200ms,200ms',
        SANDBOX_KEYS_DIR: keysDir,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    started.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[child] ${chunk.toString()}`));
    return started;
  }

  beforeAll(async () => {
    if (!existsSync(main)) throw new Error('dist/src/main.js is missing: run `npm run build` first (npm test does)');
    const keys = testPartners('c')('hook');
    receiverPort = 20_000 + Math.floor(Math.random() * 20_000);
    receiver = spawn(process.execPath, [join(process.cwd(), 'examples/webhook-receiver/receiver.js')], {
      env: { PATH: process.env.PATH, PORT: String(receiverPort), KEYS: `${keys.keyId}:${keys.secret}`, STORE: store },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      receiver.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && resolve());
      receiver.on('exit', (code) => reject(new Error(`the example receiver exited (${code})`)));
    });
    // In front of the receiver: forwards every POST to it (so it applies), then answers us or, while
    // `swallowAnswers`, holds our request open, as a network that loses the answer does.
    front = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const eventId = String(request.headers['x-pc-event-id']);
        sends.set(eventId, (sends.get(eventId) ?? 0) + 1);
        const headers = Object.fromEntries(
          ['content-type', 'x-pc-signature', 'x-pc-event-id', 'idempotency-key'].map((h) => [
            h,
            String(request.headers[h]),
          ]),
        );
        void fetch(`http://127.0.0.1:${receiverPort}/events`, { method: 'POST', headers, body: Buffer.concat(chunks) })
          .then(async (answer) => {
            const text = await answer.text();
            if (swallowAnswers) held.push(response);
            else response.writeHead(answer.status).end(text);
          })
          .catch(() => response.destroy());
      });
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    HOOK = { ...keys, transport: 'webhook', url: `http://127.0.0.1:${(front.address() as AddressInfo).port}/hook` };
    // This app only writes payments, their events and delivery records; the child sends them.
    writer = await startApp(Object.values(fakeGateways()), new TestClock(), {
      partners: [HOOK],
      ordersPartner: 'none',
      consumersEnabled: false,
      relay: { enabled: false, pollIntervalMs: 100, publishTimeoutMs: 2000, batchSize: 10, claimLeaseMs: 30_000 },
    });
    db = sqlPool();
  });

  afterAll(async () => {
    child?.kill('SIGKILL');
    receiver?.kill('SIGKILL');
    for (const response of held) response.destroy();
    front?.closeAllConnections();
    await new Promise((resolve) => front?.close(resolve));
    await writer?.close();
    await db?.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every event delivered after the restart, applied once by the receiver', async () => {
    const eventIds: string[] = [];
    for (let i = 0; i < EVENTS; i += 1) eventIds.push((await paidEvent(writer, db, 'whc')).eventId);
    const applied = () =>
      existsSync(store)
        ? readFileSync(store, 'utf8')
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((line) => (JSON.parse(line) as { id: string }).id)
        : [];

    // Its POSTs wait up to 3 s for an answer, so they are all still in flight when it is killed; their claims
    // (leases of twice that and a second) then run out 7 s after they were taken.
    child = startChild(3000);
    // Every POST is in flight (the receiver has applied it, our answer is held), then the process dies.
    await waitFor('every event applied by the receiver, answers held', () =>
      Promise.resolve(eventIds.every((id) => applied().includes(id)) && held.length >= EVENTS ? true : undefined),
    );
    child.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    const [pending] = (await db.query(`SELECT status FROM event_deliveries WHERE partner = ? AND event_id IN (?)`, [
      HOOK.name,
      eventIds,
    ])) as unknown as [{ status: string }[]];
    expect(pending.every((r) => r.status === 'PENDING')).toBe(true);

    swallowAnswers = false;
    child = startChild(1000);
    await waitFor(
      'every delivery PUBLISHED after the restart',
      async () => {
        const [rows] = (await db.query(`SELECT status FROM event_deliveries WHERE partner = ? AND event_id IN (?)`, [
          HOOK.name,
          eventIds,
        ])) as unknown as [{ status: string }[]];
        return rows.length === EVENTS && rows.every((r) => r.status === 'PUBLISHED');
      },
      30_000,
    );
    for (const id of eventIds) expect(sends.get(id)).toBeGreaterThanOrEqual(2);
    // Sent at least twice, applied once.
    const ids = applied();
    for (const id of eventIds) expect(ids.filter((x) => x === id)).toHaveLength(1);
  }, 60_000);
});
