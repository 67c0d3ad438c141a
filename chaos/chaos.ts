/**
 * `npm run chaos -- [--payments 300] [--buyers 12] [--settle 240] [--no-mariadb] [--partner-crash-every 53]
 *   [--broken-partner-dedupe]`
 *
 * Starts the gateway sandbox and four app processes (two API-only, two workers running the relay, the
 * consumers, the recovery slots, the reconciler and the orders check) on a fresh database, pushes the orders
 * of many concurrent buyers through all three channels — with double submissions, double clicks and
 * channel switches — while it drops, duplicates, delays and reorders notifications, makes the vendor
 * answer 5xx, SIGKILLs app processes, stops RabbitMQ, flushes and restarts Redis and restarts MariaDB. A
 * partner consumer of its own crashes between applying and acking now and then. Some buyers pay at a counter
 * with a payment code (every sandbox scenario: paid at once, after a password, never, refused, no answer, a
 * reverse to repeat, paid as the reverse arrives). Two shops buy: shop A pays through
 * the environment's default accounts, shop B through channel accounts of its own made with the admin API (a
 * WeChat service-provider sub-merchant, an Alipay third-party app, a UnionPay merchant), with a partner that is
 * restricted to shop B's events. A webhook partner receives every event over HTTP: it is slow, fails now and
 * then (sometimes after applying the event, so the answer we get is a failure), and restarts (its endpoint
 * refuses connections for a while). With --broken-partner-dedupe both partners apply every copy they get.
 * When the faults stop it waits for the system to settle, checks the books
 * against the sandbox (the vendor's own record), per account and in total, and prints a table; it exits 1 on
 * any violation and names the orders.
 */
import { type ChildProcess, execSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from 'amqplib';
import { createPool, type Pool, type RowDataPacket } from 'mysql2/promise';
import { accountRequest } from '../sandbox/merchants/account-request';

type Channel = 'wechat' | 'alipay' | 'unionpay';
const CHANNELS: Channel[] = ['wechat', 'alipay', 'unionpay'];

const { values: args } = parseArgs({
  options: {
    payments: { type: 'string', default: '300' },
    buyers: { type: 'string', default: '12' },
    settle: { type: 'string', default: '240' },
    'no-mariadb': { type: 'boolean', default: false },
    'broken-partner-dedupe': { type: 'boolean', default: false },
    'partner-crash-every': { type: 'string', default: '53' },
  },
});
const PAYMENTS = Number(args.payments);
const BUYERS = Number(args.buyers);
const SETTLE_MS = Number(args.settle) * 1000;
const CRASH_EVERY = Number(args['partner-crash-every']);
const RUN = `chaos${Date.now().toString(36)}`;
const DB_NAME = 'payment_center_chaos';
const ADMIN_TOKEN = `chaos-admin-${randomBytes(12).toString('hex')}`;
const ORDERS = {
  name: `${RUN}-orders`,
  bindings: ['payment.#'],
  keyId: `${RUN}-o`,
  secret: `secret-orders-${RUN}-0123456789abcdef`,
};
const WATCHER = {
  name: `${RUN}-watcher`,
  bindings: ['payment.#'],
  keyId: `${RUN}-w`,
  secret: `secret-watch-${RUN}-0123456789abcdef`,
};
/** Shop B's own backend: restricted to shop B's payments (its application id is known after app:create). */
const SHOP_B_WATCHER = {
  name: `${RUN}-shop-b`,
  bindings: ['payment.#'],
  keyId: `${RUN}-b`,
  secret: `secret-shopb-${RUN}-0123456789abcdef`,
  applications: [] as string[],
};
/** A partner over HTTP (its url is set once its port is known), deduplicating by event id. */
const HOOK = {
  name: `${RUN}-hook`,
  bindings: ['payment.#'],
  keyId: `${RUN}-h`,
  secret: `secret-hook-${RUN}-0123456789abcdefg`,
  transport: 'webhook',
  url: '',
};
/** The key-encryption key shop B's channel accounts are sealed with. */
const KEK = randomBytes(32).toString('base64');
const MAIN = join(process.cwd(), 'dist', 'src', 'main.js');
const SANDBOX_MAIN = join(process.cwd(), 'dist', 'sandbox', 'main.js');
const MIGRATE = join(process.cwd(), 'dist', 'src', 'database', 'migrate.js');
const APP_CREATE = join(process.cwd(), 'dist', 'src', 'applications', 'cli.js');
const REDIS_START =
  'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no ' +
  '--dir /var/lib/redis --logfile /var/log/redis/ci.log';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];
const chance = (p: number) => Math.random() < p;
const log = (message: string) => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${message}`);

// ---------------------------------------------------------------------------------------------- processes

interface AppProcess {
  name: string;
  port: number;
  role: 'api' | 'worker';
  child?: ChildProcess;
}

/** Ports nobody listens on now (asked of the kernel: a guessed port may be some connection's ephemeral port). */
function freePorts(count: number): Promise<number[]> {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<number>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => {
            const { port } = server.address() as AddressInfo;
            server.close(() => resolve(port));
          });
        }),
    ),
  );
}

const keysDir = join(mkdtempSync(join(tmpdir(), 'pc-chaos-')), 'keys');
// Ports are taken in main(), before anything starts.
let sandboxPort = 0;
let sandboxUrl = '';
/** The two shops: applications made with `npm run app:create` after the migrations. */
interface Shop {
  name: 'A' | 'B';
  applicationId: string;
  apiKey: string;
  /** The channel account each channel pays with: `default` (the environment's) for shop A, its own for B. */
  accounts: Record<Channel, string>;
}
const shops: Shop[] = [];
const apps: AppProcess[] = [
  { name: 'api-1', port: 0, role: 'api' },
  { name: 'api-2', port: 0, role: 'api' },
  { name: 'worker-1', port: 0, role: 'worker' },
  { name: 'worker-2', port: 0, role: 'worker' },
];
let sandbox: ChildProcess | undefined;

function appEnv(app: AppProcess): NodeJS.ProcessEnv {
  const worker = String(app.role === 'worker');
  return {
    ...process.env,
    PORT: String(app.port),
    PUBLIC_BASE_URL: `http://127.0.0.1:${app.port}`,
    DB_NAME,
    DB_MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'error',
    GATEWAY_MODE: 'sandbox',
    SANDBOX_URL: sandboxUrl,
    SANDBOX_KEYS_DIR: keysDir,
    GATEWAY_TIMEOUT_MS: '2000',
    PARTNERS: JSON.stringify([ORDERS, WATCHER, SHOP_B_WATCHER, HOOK]),
    WEBHOOK_TIMEOUT_MS: '1000',
    // Time-scaled: long enough that a delivery never runs out of tries during the run's faults.
    WEBHOOK_RETRY_SCHEDULE: Array.from({ length: 40 }, (_, i) => (i < 3 ? '300ms' : '2s')).join(','),
    WEBHOOK_CIRCUIT_FAILURES: '5',
    WEBHOOK_CIRCUIT_COOLDOWN: '1s',
    ACCOUNT_KEKS: `chaos:${KEK}`,
    ORDERS_PARTNER: ORDERS.name,
    ORDER_EXPIRES_IN_SECONDS: '60',
    // A request whose instance was killed holds its key this long: shorter than a client's retries here.
    IDEMPOTENCY_IN_FLIGHT_TTL_SECONDS: '10',
    PAYMENT_QUERY_SCHEDULE: '3s,1s,2s,3s',
    PAYMENT_QUERY_LONG_TAIL: '2s,5s',
    PAYMENT_CLOSE_ATTEMPTS: '30',
    BARCODE_QUERY_EVERY: '2s',
    BARCODE_QUERY_FOR: '16s',
    BARCODE_ANSWER_WAIT: '2s',
    RECOVERY_QUEUE_PREFIX: RUN,
    RECOVERY_JOBS_ENABLED: worker,
    RECONCILER_ENABLED: worker,
    RECONCILER_CRON: '*/2 * * * * *',
    RECONCILER_GRACE_MS: '3000',
    ORDERS_CHECK_ENABLED: worker,
    ORDERS_CHECK_CRON: '*/5 * * * * *',
    ORDERS_PAYMENT_CHECK_AFTER: '15s',
    RECONCILIATION_ENABLED: 'false',
    RELAY_ENABLED: worker,
    RELAY_POLL_INTERVAL_MS: '500',
    CONSUMERS_ENABLED: worker,
    ADMIN_TOKENS: JSON.stringify([
      {
        name: 'chaos',
        token: ADMIN_TOKEN,
        scopes: ['reconciliation:run', 'reconciliation:read', 'deliveries:read', 'accounts:write', 'accounts:read'],
      },
    ]),
  };
}

async function waitHttp(url: string, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(2000) })).status < 500) return;
    } catch {
      // not up yet
    }
    await sleep(250);
  }
  throw new Error(`${what} did not come up`);
}

function startApp(app: AppProcess): Promise<void> {
  app.child = spawn(process.execPath, [MAIN], { env: appEnv(app), stdio: ['ignore', 'ignore', 'pipe'] });
  app.child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString().trim();
    if (text && !/ECONNREFUSED|Connection lost|connect ETIMEDOUT|read ECONNRESET/.test(text)) {
      process.stderr.write(`[${app.name}] ${text.slice(0, 400)}\n`);
    }
  });
  return waitHttp(`http://127.0.0.1:${app.port}/health`, app.name);
}

function kill(app: AppProcess): void {
  app.child?.kill('SIGKILL');
  app.child = undefined;
}

function sh(command: string): void {
  execSync(command, { stdio: 'pipe', timeout: 120_000 });
}

function redisAnswers(): boolean {
  try {
    return execSync('redis-cli ping', { stdio: 'pipe', timeout: 2000 }).toString().trim() === 'PONG';
  } catch {
    return false;
  }
}

function mariadbAnswers(): boolean {
  try {
    execSync('mariadb-admin -uroot ping', { stdio: 'pipe', timeout: 3000 });
    return true;
  } catch {
    return false;
  }
}

// ----------------------------------------------------------------------------------------------- HTTP

/** The parts of our API's answers the driver reads. */
interface Answer {
  code?: string;
  orderNo?: string;
  paymentNo?: string;
  payCredential?: { type: string; action: string; fields: Record<string, string> };
  status?: string;
  statementLines?: number;
  items?: { resolution: string; kind: string; paymentNo: string }[];
}

async function call(
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const candidates = apps.filter((a) => a.child);
  const app = pick(candidates.length > 0 ? candidates : apps);
  const response = await fetch(`http://127.0.0.1:${app.port}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as Answer };
}

/** A request a real client repeats until it gets an answer: another instance, after a pause (up to ~90 s). */
async function persist(method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}) {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await call(method, path, body, headers);
      const retry = response.status >= 500 || response.status === 409 || response.status === 429;
      if (!retry || attempt >= 100) return response;
    } catch (error) {
      if (attempt >= 100) throw new Error(`${method} ${path}: ${(error as Error).message}`, { cause: error });
    }
    await sleep(400 + Math.random() * 800);
  }
}

/** A call to the sandbox (the vendor); a refused connection is tried again, like a vendor's client would. */
async function sandboxCall(path: string, body?: unknown): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(`${sandboxUrl}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      if (attempt >= 10) throw error;
      await sleep(300);
    }
  }
}

// ---------------------------------------------------------------------------------------------- shops

/** An application with one API key, made as an operator does (`npm run app:create`). */
function createShop(name: Shop['name']): Shop {
  const made = execSync(`${process.execPath} ${APP_CREATE} --name chaos-shop-${name.toLowerCase()}`, {
    env: { ...process.env, DB_NAME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { applicationId, secret } = JSON.parse(made.toString()) as { applicationId: string; secret: string };
  const accounts = { wechat: 'default', alipay: 'default', unionpay: 'default' };
  return { name, applicationId, apiKey: secret, accounts };
}

/**
 * Shop B's own vendor accounts: a WeChat service provider's sub-merchant, an Alipay third-party app and a
 * UnionPay merchant made at the sandbox, stored with the admin API (sealed under KEK) and bound to shop B.
 */
async function openAccounts(shop: Shop): Promise<void> {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const kinds: Record<Channel, string | undefined> = {
    wechat: 'service_provider',
    alipay: 'third_party',
    unionpay: undefined,
  };
  for (const channel of CHANNELS) {
    const merchant = await sandboxCall('/sandbox/merchants', { channel, kind: kinds[channel] });
    if (merchant.status !== 201) throw new Error(`sandbox merchant ${channel}: ${merchant.status}`);
    const accountId = `${channel}-shop-${shop.name.toLowerCase()}`;
    const body = accountRequest(accountId, channel, (await merchant.json()) as Record<string, string>);
    const created = await persist('POST', '/api/admin/accounts', body, admin);
    if (created.status !== 201)
      throw new Error(`account ${accountId}: ${created.status} ${JSON.stringify(created.body)}`);
    const bound = await call(
      'PUT',
      `/api/admin/applications/${shop.applicationId}/accounts/${channel}`,
      { accountIds: [accountId] },
      admin,
    );
    if (bound.status !== 200) throw new Error(`binding ${accountId}: ${bound.status} ${JSON.stringify(bound.body)}`);
    shop.accounts[channel] = accountId;
  }
}

// --------------------------------------------------------------------------------------------- buyers

interface Submission {
  id: string;
  shop: Shop;
  orderNo?: string;
  payments: { paymentNo: string; channel: Channel; paidAtVendor: boolean }[];
  /** Paid at a counter with a payment code of this sandbox scenario (its last digit). */
  barcode?: number;
}

const submissions: Submission[] = [];

async function buyer(index: number): Promise<void> {
  const shop = shops[index % shops.length];
  const submission: Submission = { id: `${RUN}-${index}`, shop, payments: [] };
  submissions.push(submission);
  const auth = { authorization: `Bearer ${shop.apiKey}` };
  const key = { ...auth, 'Idempotency-Key': submission.id };
  const body = {
    buyerId: `buyer-${index % 50}`,
    items: [
      { sku: `SKU-${index % 7}`, name: 'Chaos tea', quantity: 1 + (index % 3), unitPriceFen: 100 + (index % 900) },
    ],
  };
  // Double submission: the same request twice at once (to two instances).
  const creates = await Promise.all(
    Array.from({ length: chance(0.25) ? 2 : 1 }, () => persist('POST', '/api/orders', body, key)),
  );
  const created = creates.find((c) => c.status === 201 || c.status === 200);
  if (!created) throw new Error(`submission ${submission.id}: no order (${creates.map((c) => c.status).join(',')})`);
  submission.orderNo = created.body.orderNo;
  for (const c of creates) {
    if ((c.status === 201 || c.status === 200) && c.body.orderNo !== submission.orderNo)
      throw new Error(`submission ${submission.id} created two orders`);
  }
  if (chance(0.15)) return atTheCounter(submission, auth);
  const channels: Channel[] = [pick(CHANNELS)];
  if (chance(0.1)) channels.push(pick(CHANNELS.filter((c) => c !== channels[0]))); // the buyer switches
  for (const channel of channels) {
    // Double click: the same pay twice at once.
    const pays = await Promise.all(
      Array.from({ length: chance(0.25) ? 2 : 1 }, () =>
        persist(
          'POST',
          `/api/orders/${submission.orderNo}/pay`,
          { channel },
          { ...auth, 'Idempotency-Key': `${submission.id}-${channel}` },
        ),
      ),
    );
    const paid = pays.find((p) => p.status === 200);
    if (!paid) {
      log(
        `submission ${submission.id}: pay ${channel} answered ${pays.map((p) => `${p.status} ${p.body.code ?? ''}`).join(',')}`,
      );
      continue;
    }
    const payment = { paymentNo: paid.body.paymentNo as string, channel, paidAtVendor: false };
    submission.payments.push(payment);
    if (channel === 'unionpay' && paid.body.payCredential?.type === 'form') {
      await fetch(paid.body.payCredential.action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(paid.body.payCredential.fields).toString(),
      }).catch(() => undefined);
    }
    const faults: Record<string, unknown> = {};
    const roll = Math.random();
    if (roll < 0.2) faults.dropNotifications = true;
    else if (roll < 0.32) faults.duplicateNotifications = 3;
    else if (roll < 0.44) faults.delayNotificationMs = 1500 + Math.floor(Math.random() * 3000);
    if (Object.keys(faults).length > 0)
      await sandboxCall('/sandbox/faults', { outTradeNo: payment.paymentNo, ...faults });
    if (chance(channels.length > 1 ? 0.6 : 0.85)) {
      await sleep(Math.random() * 1500);
      const response = await sandboxCall(`/sandbox/${channel}/trades/${payment.paymentNo}/pay`, {});
      payment.paidAtVendor = response.status === 200;
    }
  }
}

/** A payment code of `channel`'s format whose last digit is the sandbox scenario (sandbox/barcode-scenarios.ts). */
function paymentCode(channel: Channel, scenario: number): string {
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 10)).join('');
  const prefix = { wechat: '13', alipay: '28', unionpay: '62' }[channel];
  const length = { wechat: 18, alipay: 18, unionpay: 19 }[channel];
  return `${prefix}${digits(length - 4)}${1 + Math.floor(Math.random() * 3)}${scenario}`;
}

/**
 * A buyer at a counter: the shop scans the buyer's payment code (double scans included), then waits for the
 * answer with the long poll. Shop B's WeChat account is a service provider's sub-merchant, which takes no codes.
 */
async function atTheCounter(submission: Submission, auth: Record<string, string>): Promise<void> {
  const channel = pick(submission.shop.name === 'B' ? CHANNELS.filter((c) => c !== 'wechat') : CHANNELS);
  const scenario = Math.floor(Math.random() * 10);
  submission.barcode = scenario;
  const body = { authCode: paymentCode(channel, scenario) };
  const scans = await Promise.all(
    Array.from({ length: chance(0.2) ? 2 : 1 }, () =>
      persist('POST', `/api/orders/${submission.orderNo}/pay`, body, {
        ...auth,
        'Idempotency-Key': `${submission.id}-code`,
      }),
    ),
  );
  const scanned = scans.find((s) => s.status === 200);
  if (!scanned) {
    log(`submission ${submission.id}: scan answered ${scans.map((s) => `${s.status} ${s.body.code ?? ''}`).join(',')}`);
    return;
  }
  submission.payments.push({ paymentNo: scanned.body.paymentNo as string, channel, paidAtVendor: false });
  if (scanned.body.status === 'PAYING') {
    await call('GET', `/api/payments/${scanned.body.paymentNo as string}?waitSeconds=10`, undefined, auth).catch(
      () => undefined,
    );
  }
}

// --------------------------------------------------------------------------------------- the partner

interface PartnerLog {
  deliveries: number;
  crashedBeforeAck: number;
  rejected: number;
  effects: Map<string, number>;
}

/** A partner consumer of `partner.<name>` that deduplicates by event id (unless `broken`). */
function startPartner(name: string, broken: boolean): { log: PartnerLog; stop: () => Promise<void> } {
  const partner: PartnerLog = { deliveries: 0, crashedBeforeAck: 0, rejected: 0, effects: new Map() };
  const seen = new Set<string>();
  let stopped = false;
  let connection: Awaited<ReturnType<typeof connect>> | undefined;
  const run = async () => {
    while (!stopped) {
      try {
        // A heartbeat and a connect timeout: a broker stopped mid-handshake must not leave the partner waiting forever.
        connection = await connect('amqp://guest:guest@127.0.0.1:5672?heartbeat=5', { timeout: 5000 });
        connection.on('error', () => undefined);
        const channel = await connection.createChannel();
        channel.on('error', () => undefined);
        await channel.checkQueue(`partner.${name}`);
        await channel.prefetch(20);
        const closed = new Promise<void>((resolve) => connection?.on('close', () => resolve()));
        const rejectedOnce = new Set<string>();
        await channel.consume(`partner.${name}`, (message) => {
          if (!message) return;
          partner.deliveries++;
          const id = String(message.properties.messageId);
          const apply = () => {
            if (broken || !seen.has(id)) {
              seen.add(id);
              partner.effects.set(id, (partner.effects.get(id) ?? 0) + 1);
            }
          };
          // Crashes now and then after applying a message and before its ack: the message comes again, and
          // only deduplication by event id keeps its effect single.
          if (partner.deliveries % CRASH_EVERY === 0) {
            partner.crashedBeforeAck++;
            apply();
            void connection?.close().catch(() => undefined);
            return;
          }
          // Rejects some messages once, for a while (requeued, within the queue's delivery limit).
          if (partner.deliveries % 11 === 0 && !rejectedOnce.has(id)) {
            rejectedOnce.add(id);
            partner.rejected++;
            channel.nack(message, false, true);
            return;
          }
          apply();
          channel.ack(message);
        });
        await closed;
      } catch {
        // broker down or the queue not declared yet
      }
      await sleep(500);
    }
  };
  const running = run();
  return {
    log: partner,
    stop: async () => {
      stopped = true;
      await connection?.close().catch(() => undefined);
      await running;
    },
  };
}

/**
 * The webhook partner: an HTTP endpoint in this process that verifies nothing it need not (the signature is
 * tested elsewhere) but deduplicates by event id, answers slowly (now and then past our timeout), fails some
 * requests (some after applying the event: the answer we see is a failure, the effect happened), and restarts:
 * closes its port, refusing connections, for a moment.
 */
function startWebhookPartner(
  port: number,
  broken: boolean,
): { log: PartnerLog & { restarts: number }; stop: () => Promise<void> } {
  const partner = { deliveries: 0, crashedBeforeAck: 0, rejected: 0, restarts: 0, effects: new Map<string, number>() };
  const seen = new Set<string>();
  let stopped = false;
  let server = listen();
  function listen(): HttpServer {
    const created = createHttpServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        partner.deliveries++;
        const id = String(request.headers['x-pc-event-id']);
        const apply = () => {
          if (broken || !seen.has(id)) {
            seen.add(id);
            partner.effects.set(id, (partner.effects.get(id) ?? 0) + 1);
          }
        };
        const delay = chance(0.05) ? 1500 : Math.floor(Math.random() * 200);
        setTimeout(() => {
          if (partner.deliveries % 7 === 0) {
            partner.rejected++;
            response.writeHead(500).end('busy');
            return;
          }
          apply(); // a delay past our timeout: applied, but we never see the 2xx (sent again, deduplicated)
          if (partner.deliveries % 13 === 0) {
            partner.crashedBeforeAck++;
            response.writeHead(503).end('applied, then failed');
            return;
          }
          response.writeHead(200).end('ok');
        }, delay);
      });
    });
    created.listen(port, '127.0.0.1');
    return created;
  }
  const restarts = (async () => {
    while (!stopped) {
      await sleep(15_000 + Math.random() * 10_000);
      if (stopped) break;
      partner.restarts++;
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await sleep(3000);
      if (!stopped) server = listen();
    }
  })();
  return {
    log: partner,
    stop: async () => {
      stopped = true;
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      void restarts; // asleep until its next restart, which it then skips
    },
  };
}

// ------------------------------------------------------------------------------------------- faults

const faultLog: Record<string, number> = {};
const count = (fault: string) => (faultLog[fault] = (faultLog[fault] ?? 0) + 1);

async function faultLoop(done: () => boolean): Promise<void> {
  // Every fault class once early on (so even a short run has them all), then repeatable ones at random.
  const first = ['kill', 'rabbitmq', 'vendor-5xx', 'redis-flush', 'kill', 'balance', 'reorder', 'redis-restart'];
  if (!args['no-mariadb']) first.push('mariadb');
  while (!done()) {
    await sleep(1500 + Math.random() * 2000);
    if (done()) break;
    const action = first.shift() ?? pick(['kill', 'kill', 'vendor-5xx', 'reorder', 'balance']);
    try {
      switch (action) {
        case 'kill': {
          const victim = pick(apps.filter((a) => a.child));
          log(`SIGKILL ${victim.name}`);
          kill(victim);
          count('SIGKILL app process');
          await sleep(1000 + Math.random() * 2000);
          await startApp(victim);
          break;
        }
        case 'vendor-5xx':
          count('vendor 5xx / system busy window');
          await sandboxCall('/sandbox/faults', { apiError: true });
          await sleep(1500);
          await sandboxCall('/sandbox/faults', {});
          break;
        case 'balance':
          // Refunds (the automatic ones for second payments) are refused for want of balance, then go through.
          count("merchant's balance short for refunds (window)");
          await sandboxCall('/sandbox/faults', { balanceShort: true });
          await sleep(8000);
          await sandboxCall('/sandbox/faults', {});
          break;
        case 'reorder':
          count('notifications reordered (window)');
          await sandboxCall('/sandbox/faults', { reorderNotifications: 3 });
          await sleep(3000);
          await sandboxCall('/sandbox/faults', {});
          break;
        case 'rabbitmq':
          log('RabbitMQ stop_app');
          count('RabbitMQ stopped and started');
          sh('rabbitmqctl stop_app');
          await sleep(3000);
          sh('rabbitmqctl start_app && rabbitmqctl await_startup');
          log('RabbitMQ start_app');
          break;
        case 'redis-flush':
          count('Redis flushed');
          sh('redis-cli flushall');
          break;
        case 'redis-restart':
          log('Redis shutdown');
          count('Redis stopped and restarted');
          try {
            sh('redis-cli shutdown nosave');
          } catch {
            // the dropped connection is reported as an error
          }
          await sleep(2000);
          if (!redisAnswers()) sh(REDIS_START);
          log('Redis started');
          break;
        case 'mariadb':
          log('MariaDB shutdown');
          count('MariaDB restarted');
          sh('mariadb-admin -uroot shutdown');
          await sleep(2000);
          sh('start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd');
          for (let i = 0; i < 60 && !mariadbAnswers(); i++) await sleep(500);
          log('MariaDB started');
          break;
      }
    } catch (error) {
      log(`fault ${action} failed: ${(error as Error).message}`);
    }
  }
}

// -------------------------------------------------------------------------------------------- checks

interface Violation {
  check: string;
  detail: string;
}

async function rows<T>(db: Pool, sql: string, params: unknown[] = []): Promise<T[]> {
  const [result] = await db.query<RowDataPacket[]>(sql, params);
  return result as T[];
}

/** The events of one shop's payments. */
function eventsOf(db: Pool, shop: Shop): Promise<{ event_id: string }[]> {
  return rows(
    db,
    'SELECT e.event_id FROM outbox_events e JOIN payments p ON p.payment_no = e.payment_no WHERE p.application_id = ?',
    [shop.applicationId],
  );
}

async function settled(db: Pool): Promise<string | undefined> {
  const [open] = await rows<{ n: number }>(
    db,
    "SELECT COUNT(*) AS n FROM payments WHERE status IN ('PAYING','CLOSING')",
  );
  const [refunding] = await rows<{ n: number }>(db, "SELECT COUNT(*) AS n FROM refunds WHERE status = 'REFUNDING'");
  const [outbox] = await rows<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM outbox_events WHERE published_at IS NULL');
  const [webhooks] = await rows<{ n: number }>(
    db,
    "SELECT COUNT(*) AS n FROM event_deliveries WHERE status = 'PENDING' AND next_attempt_at IS NOT NULL",
  );
  const [orders] = await rows<{ n: number }>(
    db,
    "SELECT COUNT(*) AS n FROM orders WHERE status IN ('CREATED','PAYING')",
  );
  const waiting = { payments: open.n, refunds: refunding.n, outbox: outbox.n, webhooks: webhooks.n, orders: orders.n };
  return Object.values(waiting).some((n) => Number(n) > 0) ? JSON.stringify(waiting) : undefined;
}

async function check(
  db: Pool,
  partner: PartnerLog,
  shopPartner: PartnerLog,
  hookPartner: PartnerLog & { restarts: number },
): Promise<{ table: [string, string, string][]; violations: Violation[] }> {
  const violations: Violation[] = [];
  const table: [string, string, string][] = [];
  const add = (check: string, value: string, ok: boolean, detail = '') => {
    table.push([check, value, ok ? 'ok' : 'VIOLATION']);
    if (!ok) violations.push({ check, detail: detail || value });
  };

  const orders = await rows<{ order_no: string; status: string; payment_no: string | null }>(
    db,
    'SELECT order_no, status, payment_no FROM orders',
  );
  const withOrder = submissions.filter((s) => s.orderNo);
  add(
    'orders = distinct submissions',
    `${orders.length} / ${withOrder.length}`,
    orders.length === new Set(withOrder.map((s) => s.orderNo)).size && orders.length === withOrder.length,
  );

  const payments = await rows<{
    payment_no: string;
    order_no: string;
    status: string;
    paid_amount_fen: number | null;
    amount_fen: number;
    account_id: string;
    application_id: string | null;
    channel: Channel;
  }>(
    db,
    'SELECT payment_no, order_no, status, paid_amount_fen, amount_fen, account_id, application_id, channel FROM payments',
  );
  const byNo = new Map(payments.map((p) => [p.payment_no, p]));
  const trades = (await (await fetch(`${sandboxUrl}/sandbox/trades`)).json()) as {
    outTradeNo: string;
    owner: string;
    state: string;
    amountFen: number;
    refunds?: { refundNo: string; amountFen: number }[];
    barcode?: { scenario: string; reversed?: 'closed' | 'refunded' };
  }[];
  const paidAtVendor = trades.filter((t) => t.state === 'SUCCESS');
  const lost = paidAtVendor.filter((t) => byNo.get(t.outTradeNo)?.status !== 'PAID');
  add(
    'paid at the vendor → PAID here',
    `${paidAtVendor.length - lost.length} / ${paidAtVendor.length}`,
    lost.length === 0,
    lost.map((t) => t.outTradeNo).join(' '),
  );
  const accountIds = [...new Set(['default', ...shops.flatMap((s) => Object.values(s.accounts))])];
  for (const accountId of accountIds) {
    const paid = paidAtVendor.filter((t) => byNo.get(t.outTradeNo)?.account_id === accountId);
    const missing = paid.filter((t) => lost.includes(t));
    add(
      `  of which account ${accountId}`,
      `${paid.length - missing.length} / ${paid.length}`,
      missing.length === 0 && paid.length > 0,
      paid.length === 0 ? 'no payment paid with it' : missing.map((t) => t.outTradeNo).join(' '),
    );
  }

  // Isolation: each payment made with its own shop's account of its channel, each vendor merchant holding the
  // trades of exactly one account, and no trade at the vendor that the books do not know.
  const shopOf = new Map(shops.map((s) => [s.applicationId, s]));
  const wrongAccount = payments.filter((p) => {
    const shop = p.application_id ? shopOf.get(p.application_id) : undefined;
    return !shop || shop.accounts[p.channel] !== p.account_id;
  });
  add(
    "payments made with their shop's account",
    `${payments.length - wrongAccount.length} / ${payments.length}`,
    wrongAccount.length === 0,
    wrongAccount.map((p) => `${p.payment_no}:${p.application_id}/${p.account_id}`).join(' '),
  );
  const accountsOfOwner = new Map<string, Set<string>>();
  const ownersOfAccount = new Map<string, Set<string>>();
  const unknownTrades: string[] = [];
  for (const trade of trades) {
    const payment = byNo.get(trade.outTradeNo);
    if (!payment) {
      unknownTrades.push(trade.outTradeNo);
      continue;
    }
    const account = `${payment.channel}/${payment.account_id}`;
    accountsOfOwner.set(trade.owner, (accountsOfOwner.get(trade.owner) ?? new Set()).add(account));
    ownersOfAccount.set(account, (ownersOfAccount.get(account) ?? new Set()).add(trade.owner));
  }
  const crossed = [...accountsOfOwner, ...ownersOfAccount].filter(([, other]) => other.size !== 1);
  add(
    'one vendor merchant per account',
    `${accountsOfOwner.size} merchants, ${ownersOfAccount.size} accounts`,
    crossed.length === 0 && unknownTrades.length === 0 && accountsOfOwner.size === CHANNELS.length * 2,
    `${crossed.map(([k, v]) => `${k} ↔ ${[...v].join(',')}`).join('; ')} unknown trades: ${unknownTrades.join(' ')}`,
  );

  const autoRefunds = await rows<{ payment_no: string; status: string; amount_fen: number; kind: string }>(
    db,
    "SELECT payment_no, status, amount_fen, kind FROM refunds WHERE kind <> 'REQUESTED'",
  );
  const refundedPayments = new Set(autoRefunds.filter((r) => r.status === 'REFUNDED').map((r) => r.payment_no));
  const keptByOrder = new Map<string, string[]>();
  for (const p of payments.filter((p) => p.status === 'PAID' && !refundedPayments.has(p.payment_no))) {
    keptByOrder.set(p.order_no, [...(keptByOrder.get(p.order_no) ?? []), p.payment_no]);
  }
  const doubly = [...keptByOrder.entries()].filter(([, kept]) => kept.length > 1);
  add(
    'no order paid twice unrefunded',
    `${doubly.length} orders`,
    doubly.length === 0,
    doubly.map(([o]) => o).join(' '),
  );
  const notRefunded = autoRefunds.filter((r) => r.status !== 'REFUNDED');
  add(
    'automatic refunds completed',
    `${autoRefunds.length - notRefunded.length} / ${autoRefunds.length}`,
    notRefunded.length === 0,
    notRefunded.map((r) => r.payment_no).join(' '),
  );
  // Every refund ends: settled, or in review for an operator; none left asking forever.
  const [hanging] = await rows<{ n: number }>(db, "SELECT COUNT(*) AS n FROM refunds WHERE status = 'REFUNDING'");
  add('refunds neither settled nor in review', `${hanging.n}`, Number(hanging.n) === 0);
  const [shortOfBalance] = await rows<{ n: number }>(
    db,
    "SELECT COUNT(*) AS n FROM payment_attempts WHERE action = 'refund' AND detail LIKE '%NOT_ENOUGH%'",
  );
  table.push(['refund sends refused for want of balance, then retried', `${shortOfBalance.n}`, '']);
  const vendorRefunded = new Map(
    trades.flatMap((t) => (t.refunds ?? []).map((r) => [t.outTradeNo, r.amountFen] as const)),
  );
  // A REVERSAL is money the vendor's reverse returned within the trade, not a refund call: checked below.
  const missingAtVendor = autoRefunds.filter(
    (r) => r.kind !== 'REVERSAL' && r.status === 'REFUNDED' && vendorRefunded.get(r.payment_no) !== r.amount_fen,
  );
  add(
    'refunds agree with the vendor',
    `${autoRefunds.length - missingAtVendor.length} / ${autoRefunds.length}`,
    missingAtVendor.length === 0,
    missingAtVendor.map((r) => r.payment_no).join(' '),
  );

  // Barcode payments: every trade decided at the vendor, each outcome recorded as the vendor's truth says.
  const tradeOf = new Map(trades.map((t) => [t.outTradeNo, t]));
  const barcodeTrades = trades.filter((t) => t.barcode);
  const undecided = barcodeTrades.filter((t) => t.state === 'NOTPAY');
  add(
    'barcode trades left undecided at the vendor',
    `${undecided.length} of ${barcodeTrades.length}`,
    undecided.length === 0 && barcodeTrades.length > 0,
    barcodeTrades.length === 0 ? 'no barcode trade was made' : undecided.map((t) => t.outTradeNo).join(' '),
  );
  const reversalOf = new Map(autoRefunds.filter((r) => r.kind === 'REVERSAL').map((r) => [r.payment_no, r]));
  const returnedAtVendor = barcodeTrades.filter((t) => t.barcode?.reversed === 'refunded');
  // WeChat's reverse does not say whether money was taken: its reversed trades end CLOSED here, nothing kept.
  const reversalWrong = [
    ...returnedAtVendor.filter((t) => !reversalOf.has(t.outTradeNo) && byNo.get(t.outTradeNo)?.status !== 'CLOSED'),
    ...barcodeTrades.filter((t) => reversalOf.has(t.outTradeNo) && t.barcode?.reversed !== 'refunded'),
  ];
  add(
    'money a reverse returned = REVERSAL refunds',
    `${reversalOf.size} REVERSAL, ${returnedAtVendor.length} returned at the vendor`,
    reversalWrong.length === 0,
    reversalWrong.map((t) => t.outTradeNo).join(' '),
  );
  const outcomes = new Map<string, number>();
  for (const t of barcodeTrades) {
    const status = byNo.get(t.outTradeNo)?.status ?? '?';
    outcomes.set(status, (outcomes.get(status) ?? 0) + 1);
  }
  table.push(['barcode payments by status', [...outcomes].map(([s, n]) => `${s} ${n}`).join(', '), '']);

  // FAILED only on a vendor's definite refusal: at this sandbox, a barcode refused for funds or its code.
  const failed = payments.filter((p) => p.status === 'FAILED');
  const unexplainedFailures = failed.filter(
    (p) => !['insufficient_funds', 'invalid_code'].includes(tradeOf.get(p.payment_no)?.barcode?.scenario ?? ''),
  );
  add(
    'no FAILED without a definite vendor answer',
    `${failed.length} FAILED, ${unexplainedFailures.length} unexplained`,
    unexplainedFailures.length === 0,
    unexplainedFailures.map((p) => p.payment_no).join(' '),
  );
  const review = payments.filter((p) => p.status === 'NEEDS_REVIEW');
  add(
    'nothing left in review',
    `${review.length}`,
    review.length === 0,
    review.map((p) => `${p.payment_no}(${p.order_no})`).join(' '),
  );
  const open = payments.filter((p) => p.status === 'PAYING' || p.status === 'CLOSING');
  add(
    'nothing PAYING/CLOSING past expiry',
    `${open.length}`,
    open.length === 0,
    open.map((p) => p.payment_no).join(' '),
  );

  // A paid order's other trades are closed when the buyer moves on or the order is paid: one that stayed open
  // until the order's expiry closed it was a second chance to charge the buyer.
  const leftOpen = await rows<{ payment_no: string; order_no: string }>(
    db,
    `SELECT p.payment_no, p.order_no FROM payments p
       JOIN orders o ON o.order_no = p.order_no AND o.status = 'PAID' AND o.payment_no <> p.payment_no
       JOIN payment_transitions t ON t.payment_no = p.payment_no AND t.event = 'CLOSE_REQUESTED'
      WHERE t.detail LIKE 'the order expired%'`,
  );
  add(
    'a second trade left open after its order was paid',
    `${leftOpen.length}`,
    leftOpen.length === 0,
    leftOpen.map((p) => `${p.payment_no}(${p.order_no})`).join(' '),
  );

  const mismatchedOrders = orders.filter((o) => {
    // Paid, then the money went back with a reverse (it was paid as the reverse arrived): PAID if the order heard
    // of the payment first, else closed at its expiry. Its partners got payment.refunded (kind REVERSAL).
    if (o.payment_no && reversalOf.has(o.payment_no) && !keptByOrder.has(o.order_no)) {
      return o.status !== 'PAID' && o.status !== 'CLOSED';
    }
    const kept = keptByOrder.get(o.order_no) ?? [];
    return kept.length === 1
      ? o.status !== 'PAID' || o.payment_no !== kept[0]
      : o.status === 'PAID' || o.status === 'PAYING' || o.status === 'CREATED';
  });
  add(
    'orders agree with their payments',
    `${orders.length - mismatchedOrders.length} / ${orders.length}`,
    mismatchedOrders.length === 0,
    mismatchedOrders.map((o) => `${o.order_no}:${o.status}`).join(' '),
  );

  const [outbox] = await rows<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM outbox_events WHERE published_at IS NULL');
  add('outbox empty', `${outbox.n} unpublished`, Number(outbox.n) === 0);
  const deliveries = await rows<{ event_id: string; partner: string; status: string }>(
    db,
    'SELECT event_id, partner, status FROM event_deliveries',
  );
  const undelivered = deliveries.filter((d) => d.status !== 'PUBLISHED');
  add(
    'every delivery published',
    `${deliveries.length - undelivered.length} / ${deliveries.length}`,
    undelivered.length === 0,
    undelivered.map((d) => `${d.event_id}:${d.status}`).join(' '),
  );
  const events = await rows<{ event_id: string }>(db, 'SELECT event_id FROM outbox_events');
  const unseen = events.filter((e) => !partner.effects.has(e.event_id));
  const twice = [...partner.effects.entries()].filter(([, n]) => n > 1);
  add(
    'partner applied every event once',
    `${events.length - unseen.length} / ${events.length}, ${twice.length} twice`,
    unseen.length === 0 && twice.length === 0,
    `unseen ${unseen.length}, applied twice: ${twice
      .map(([id]) => id)
      .slice(0, 20)
      .join(' ')}`,
  );
  table.push([
    'partner deliveries (crashed before ack, rejected)',
    `${partner.deliveries} (${partner.crashedBeforeAck}, ${partner.rejected})`,
    '',
  ]);
  // The webhook partner takes every event, over HTTP, through its failures, slowness and restarts.
  const hookUnseen = events.filter((e) => !hookPartner.effects.has(e.event_id));
  const hookTwice = [...hookPartner.effects.entries()].filter(([, n]) => n > 1);
  add(
    'webhook partner applied every event once',
    `${events.length - hookUnseen.length} / ${events.length}, ${hookTwice.length} twice`,
    hookUnseen.length === 0 && hookTwice.length === 0,
    `unseen ${hookUnseen.length}, applied twice: ${hookTwice
      .map(([id]) => id)
      .slice(0, 20)
      .join(' ')}`,
  );
  table.push([
    'webhook POSTs (failed, applied then failed, restarts)',
    `${hookPartner.deliveries} (${hookPartner.rejected}, ${hookPartner.crashedBeforeAck}, ${hookPartner.restarts})`,
    '',
  ]);
  // Shop B's backend is restricted to shop B: it must get every one of shop B's events and nothing else.
  const shopB = shops[1];
  const shopEvents = await eventsOf(db, shopB);
  const own = new Set(shopEvents.map((e) => e.event_id));
  const foreign = [...shopPartner.effects.keys()].filter((id) => !own.has(id));
  const missed = shopEvents.filter((e) => !shopPartner.effects.has(e.event_id));
  add(
    "shop B's partner got its events only",
    `${own.size - missed.length} / ${own.size}, ${foreign.length} foreign`,
    own.size > 0 && missed.length === 0 && foreign.length === 0,
    `missed ${missed.length}, foreign: ${foreign.slice(0, 20).join(' ')}`,
  );

  const today = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
  for (const [channel, accountId] of shops.flatMap((s) => CHANNELS.map((c) => [c, s.accounts[c]] as const))) {
    const run = await persist(
      'POST',
      '/api/admin/reconciliations',
      { channel, date: today, accountId },
      {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        'Idempotency-Key': `${RUN}-recon-${channel}-${accountId}`,
      },
    );
    const unexplained = (run.body?.items ?? []).filter((i) => i.resolution === 'REVIEW');
    const lines = String(run.body?.statementLines ?? '?');
    add(
      `reconciliation ${channel} ${accountId}: unexplained differences`,
      `${unexplained.length} (${lines} lines, ${run.body?.status})`,
      run.status === 200 && unexplained.length === 0 && run.body?.status !== 'FAILED',
      unexplained.map((i) => `${i.kind}:${i.paymentNo}`).join(' '),
    );
  }
  return { table, violations };
}

// ---------------------------------------------------------------------------------------------- main

/** One chaos run per machine: it drops its database and restarts the shared services. */
function takeLock(): void {
  const lock = join(tmpdir(), 'payment-center-chaos.lock');
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
  } catch {
    const holder = Number(readFileSync(lock, 'utf8'));
    let alive = false;
    try {
      process.kill(holder, 0);
      alive = true;
    } catch {
      // a run that died without cleaning up
    }
    if (alive) throw new Error(`another chaos run (pid ${holder}) is running`);
    writeFileSync(lock, String(process.pid));
  }
  process.on('exit', () => rmSync(lock, { force: true }));
}

async function main(): Promise<number> {
  takeLock();
  const started = Date.now();
  const ports = await freePorts(6);
  sandboxPort = ports[0];
  HOOK.url = `http://127.0.0.1:${ports[5]}/payment-events`;
  sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  apps.forEach((app, i) => (app.port = ports[i + 1]));
  const root = createPool({ host: '127.0.0.1', user: 'root', password: '', connectionLimit: 2 });
  await root.query(`DROP DATABASE IF EXISTS ${DB_NAME}`);
  await root.query(`CREATE DATABASE ${DB_NAME} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await root.end();
  execSync(`${process.execPath} ${MIGRATE}`, { env: { ...process.env, DB_NAME }, stdio: 'pipe' });
  shops.push(createShop('A'), createShop('B'));
  SHOP_B_WATCHER.applications = [shops[1].applicationId];

  sandbox = spawn(process.execPath, [SANDBOX_MAIN], {
    env: { ...process.env, SANDBOX_PORT: String(sandboxPort), SANDBOX_KEYS_DIR: keysDir, SANDBOX_TIME_SCALE: '0.002' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitHttp(`${sandboxUrl}/sandbox/trades`, 'sandbox');
  await Promise.all(apps.map((app) => startApp(app)));
  await openAccounts(shops[1]);
  const partner = startPartner(WATCHER.name, args['broken-partner-dedupe'] ?? false);
  const shopPartner = startPartner(SHOP_B_WATCHER.name, false);
  const hookPartner = startWebhookPartner(ports[5], args['broken-partner-dedupe'] ?? false);
  log(
    `${PAYMENTS} buyers' orders of two shops, ${BUYERS} at a time, through ${apps.length} app processes; ` +
      `shop B pays with ${Object.values(shops[1].accounts).join(', ')}`,
  );

  let next = 0;
  let finished = false;
  const errors: string[] = [];
  const faults = faultLoop(() => finished);
  await Promise.all(
    Array.from({ length: BUYERS }, async () => {
      while (next < PAYMENTS) {
        const index = next++;
        await buyer(index).catch((error: unknown) => errors.push(String(error)));
      }
    }),
  );
  finished = true;
  await faults;
  await sandboxCall('/sandbox/faults', {});
  for (const app of apps) if (!app.child) await startApp(app);
  if (!redisAnswers()) sh(REDIS_START);
  log(`buyers done in ${Math.round((Date.now() - started) / 1000)} s; faults: ${JSON.stringify(faultLog)}; settling`);

  const db = createPool({ host: '127.0.0.1', user: 'root', password: '', database: DB_NAME, connectionLimit: 2 });
  const deadline = Date.now() + SETTLE_MS;
  let waiting: string | undefined = 'start';
  while (Date.now() < deadline && (waiting = await settled(db).catch(() => 'db'))) await sleep(2000);
  // The partner's last deliveries: it may be reconnecting after one of its crashes (or the broker's restart)
  // when the outbox empties. Wait until it has applied every event, or 30 s; a fixed 3 s pause lost that race.
  const partnerDeadline = Date.now() + 30_000;
  await sleep(3000);
  while (Date.now() < partnerDeadline) {
    const events = await rows<{ event_id: string }>(db, 'SELECT event_id FROM outbox_events').catch(() => []);
    const shopEvents = await eventsOf(db, shops[1]).catch(() => []);
    if (
      events.every((e) => partner.log.effects.has(e.event_id)) &&
      events.every((e) => hookPartner.log.effects.has(e.event_id)) &&
      shopEvents.every((e) => shopPartner.log.effects.has(e.event_id))
    )
      break;
    await sleep(1000);
  }
  log(waiting ? `not settled after ${SETTLE_MS / 1000} s: ${waiting}` : 'settled');
  const { table, violations } = await check(db, partner.log, shopPartner.log, hookPartner.log);
  // A buyer whose requests never got through (its instance killed at every try) is a client that gave up;
  // the books above still have to balance. Two orders for one submission is the system's fault.
  const gaveUp = errors.filter((e) => !e.includes('created two orders'));
  table.push(['buyers who gave up (client side)', `${gaveUp.length}`, '']);
  for (const e of gaveUp) console.log(`buyer gave up: ${e}`);
  for (const e of errors.filter((e) => e.includes('created two orders')))
    violations.push({ check: 'buyer', detail: e });
  await partner.stop();
  await shopPartner.stop();
  await hookPartner.stop();
  await db.end();

  const width = Math.max(...table.map(([c]) => c.length));
  console.log(`\n${'check'.padEnd(width)}  ${'value'.padEnd(30)}  result`);
  for (const [c, value, result] of table) console.log(`${c.padEnd(width)}  ${value.padEnd(30)}  ${result}`);
  console.log(
    `\nfaults injected: ${Object.entries(faultLog)
      .map(([f, n]) => `${f} ×${n}`)
      .join(', ')}`,
  );
  console.log(`elapsed: ${Math.round((Date.now() - started) / 1000)} s`);
  for (const v of violations) console.log(`VIOLATION ${v.check}: ${v.detail.slice(0, 2000)}`);
  console.log(violations.length === 0 ? 'CHAOS PASSED' : `CHAOS FAILED: ${violations.length} violation(s)`);
  return violations.length === 0 ? 0 : 1;
}

async function cleanup(): Promise<void> {
  for (const app of apps) kill(app);
  sandbox?.kill('SIGKILL');
  if (!redisAnswers()) sh(REDIS_START);
  try {
    const amqp = await connect('amqp://guest:guest@127.0.0.1:5672');
    const channel = await amqp.createChannel();
    for (const p of [ORDERS, WATCHER, SHOP_B_WATCHER]) {
      await channel.deleteQueue(`partner.${p.name}`).catch(() => undefined);
    }
    await channel.deleteExchange(`payment.events.partner.${SHOP_B_WATCHER.name}`).catch(() => undefined);
    await amqp.close();
  } catch {
    // the broker is down: the queues go with the next test setup
  }
}

main()
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  })
  .catch(async (error: unknown) => {
    console.error(error);
    await cleanup();
    process.exit(1);
  });
