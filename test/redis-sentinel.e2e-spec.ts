import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { AppConfig } from '../src/config/app-config';
import { waitFor } from './support/amqp';
import { fakeGateways } from './support/fake-gateway';
import { metricValue } from './support/metrics';
import { http, orderBody, type RunningApp, startApp, TestClock, uniqueId } from './support/test-app';

const DUPLICATES = 'payment_center_duplicate_submissions_total';
/** The tests' Redis (its database number is this run's own): the master the sentinel is told to watch. */
const REDIS = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
/** A master name of this run's own, so this sentinel never joins another test's (sentinels meet by name). */
const MASTER = `pc-ha-${Date.now().toString(36)}-${process.pid}`;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A real Redis Sentinel on a free port watching the tests' Redis, with a config file in a directory of its own
 * (sentinel rewrites it). It can never fail the master over: there is no replica to promote, and it waits a
 * minute before it would even call the master down.
 */
async function startSentinel(): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pc-sentinel-'));
  const password = decodeURIComponent(REDIS.password);
  const config = [
    `port ${port}`,
    'bind 127.0.0.1',
    `dir ${dir}`,
    'logfile ""',
    `sentinel monitor ${MASTER} ${REDIS.hostname} ${REDIS.port || 6379} 1`,
    `sentinel down-after-milliseconds ${MASTER} 60000`,
    `sentinel failover-timeout ${MASTER} 600000`,
    ...(password ? [`sentinel auth-pass ${MASTER} ${password}`] : []),
  ];
  writeFileSync(join(dir, 'sentinel.conf'), `${config.join('\n')}\n`);
  const child: ChildProcess = spawn('redis-server', [join(dir, 'sentinel.conf'), '--sentinel'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const sentinel = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 100,
  });
  sentinel.on('error', () => undefined);
  try {
    await waitFor('the sentinel to know the master', async () => {
      if (child.exitCode !== null) throw new Error(`redis-server --sentinel exited with ${child.exitCode}`);
      const address = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', MASTER).catch(() => null)) as
        string[] | null;
      return address?.[1] === String(REDIS.port || 6379);
    });
  } catch (error) {
    await stop();
    throw error;
  } finally {
    sentinel.disconnect();
  }
  return { port, stop };
}

/**
 * REDIS_SENTINELS: the app's Redis clients (the duplicate-submission guard's, Bull's) find the master through
 * the sentinel. REDIS_URL points at a port where nothing listens, keeping only its database number: whatever
 * works here went through the sentinel.
 */
describe('Redis through Sentinel (e2e)', () => {
  const gateways = fakeGateways(['wechat']);
  let sentinel: Awaited<ReturnType<typeof startSentinel>>;
  let running: RunningApp;

  beforeAll(async () => {
    sentinel = await startSentinel();
    const unreachable = new URL(REDIS.href);
    unreachable.hostname = '127.0.0.1';
    unreachable.port = '1';
    running = await startApp(Object.values(gateways), new TestClock(), {
      redisUrl: unreachable.href,
      redisSentinel: { sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: MASTER },
      recovery: {
        queryScheduleMs: [300, 300],
        jobsEnabled: true,
        slotMs: 150,
        reconcilerEnabled: false,
        reconcilerGraceMs: 0,
      },
    });
  });

  afterAll(async () => {
    await running?.close();
    await sentinel?.stop();
  });

  it('reports Redis up', async () => {
    const health = await http('GET', `${running.url}/health`);
    expect(health.status).toBe(200);
    expect(health.body.details.redis.status).toBe('up');
  });

  it('the duplicate-submission guard: 20 identical submissions at once make one order, Redis catching every copy', async () => {
    const caught = async (by: string) => metricValue(running.app, DUPLICATES, { caught_by: by });
    const before = {
      redis: (await caught('redis_replay')) + (await caught('in_flight')),
      db: await caught('database'),
    };
    const buyerId = uniqueId('ha-sentinel');
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => http('POST', `${running.url}/api/orders`, orderBody(buyerId))),
    );
    const created = responses.filter((r) => r.status === 201);
    expect(new Set(created.map((r) => r.body.orderNo)).size).toBe(1);
    expect(responses.every((r) => r.status === 201 || r.status === 409)).toBe(true);
    expect((await caught('redis_replay')) + (await caught('in_flight')) - before.redis).toBe(19);
    expect((await caught('database')) - before.db).toBe(0); // the database fallback (Redis down) never ran
  });

  it('the recovery slot job, kept and run through the sentinel, queries the gateway', async () => {
    const order = (await http('POST', `${running.url}/api/orders`, orderBody(uniqueId('ha-bull')))).body;
    const payment = await http('POST', `${running.url}/api/orders/${order.orderNo}/pay`, { channel: 'wechat' });
    expect(payment.status).toBe(200);
    const paymentNo = payment.body.paymentNo as string;
    await waitFor(
      'two scheduled queries',
      () => Promise.resolve(gateways.wechat.queryCalls.filter((p) => p === paymentNo).length >= 2),
      15_000,
    );
    // The slot job's repeat is in the REDIS_URL database of the machine's Redis, under this app's queue prefix.
    const direct = new Redis(REDIS.href, { lazyConnect: true });
    try {
      const keys = await direct.keys(`${running.app.get(AppConfig).recovery.queuePrefix}:*`);
      expect(keys).toContain(`${running.app.get(AppConfig).recovery.queuePrefix}:payment-queries:repeat`);
    } finally {
      direct.disconnect();
    }
  });
});
