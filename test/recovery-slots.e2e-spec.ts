import { randomBytes } from 'node:crypto';
import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { Redis } from 'ioredis';
import type { Pool } from 'mysql2/promise';
import { newPaymentNo } from '../src/common/ids';
import { RecoveryEngine } from '../src/payment-center/recovery/recovery-engine';
import { PAYMENT_QUERIES_QUEUE, RecoverySlots } from '../src/payment-center/recovery/recovery-slots';
import { waitFor } from './support/amqp';
import { parkRecoveryWork, sqlPool } from './support/database';
import { FakeGateway } from './support/fake-gateway';
import { http, orderBody, type RunningApp, startApp, TestClock, uniqueId } from './support/test-app';

const SLOT_MS = 200;
/** Bull's own keys of a queue (lists, sets, counters), as opposed to one key per job. */
const QUEUE_STRUCTURE =
  /:(active|wait|paused|delayed|priority|stalled|stalled-check|completed|failed|meta|id|repeat|limiter)$/;

/**
 * One recovery job per time slot (RECOVERY_SLOT_MS): two instances on the same MariaDB and Redis database share
 * one repeatable Bull job; each slot sweeps what is due. No payment has a job of its own. The reconciler is off
 * here, so whatever is queried was found by a slot.
 */
describe('Recovery slots (e2e)', () => {
  const queuePrefix = `test-slots-${randomBytes(4).toString('hex')}`;
  const gateways = [new FakeGateway('wechat'), new FakeGateway('wechat')];
  let apps: RunningApp[];
  let db: Pool;
  let redis: Redis;

  const start = (gateway: FakeGateway, slotMs = SLOT_MS) =>
    startApp([gateway], new TestClock(), {
      recovery: {
        // Far apart: a payment queried once here is not queried again within a test.
        queryScheduleMs: [60_000],
        longTailMs: [60_000],
        jobsEnabled: true,
        slotMs,
        queuePrefix,
        reconcilerEnabled: false,
        reconcilerBatchSize: 25,
      },
    });

  beforeAll(async () => {
    db = sqlPool();
    await parkRecoveryWork(db);
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    apps = [];
    for (const gateway of gateways) apps.push(await start(gateway));
  });

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await redis.quit();
    await db.end();
  });

  const queueOf = (running: RunningApp) =>
    running.app.get<Queue>(getQueueToken(PAYMENT_QUERIES_QUEUE), { strict: false });
  const queueKeys = async () => new Set(await redis.keys(`${queuePrefix}:${PAYMENT_QUERIES_QUEUE}:*`));
  const queriesOf = (paymentNo: string) => gateways.flatMap((g) => g.queryCalls).filter((no) => no === paymentNo);

  /** Payments inserted straight into the table, PAYING and due at `dueAt`. */
  async function duePayments(count: number, dueAt: Date): Promise<string[]> {
    const now = Date.now();
    const numbers = Array.from({ length: count }, () => newPaymentNo(new Date(now)));
    await db.query(
      `INSERT INTO payments (payment_no, order_no, channel, amount_fen, currency, status, query_attempts, next_query_at,
         expires_at, version, created_at, updated_at) VALUES ?`,
      [
        numbers.map((no, i) => [
          no,
          `ord_sl${now.toString(36)}${i}`,
          'wechat',
          100,
          'CNY',
          'PAYING',
          0,
          dueAt,
          new Date(now + 3_600_000),
          1,
          new Date(now),
          new Date(now),
        ]),
      ],
    );
    return numbers;
  }

  async function firstQueryAt(paymentNo: string): Promise<number | undefined> {
    const [rows] = await db.query(
      "SELECT created_at AS at FROM payment_attempts WHERE payment_no = ? AND action = 'query' ORDER BY id LIMIT 1",
      [paymentNo],
    );
    const [row] = rows as { at: Date }[];
    return row?.at.getTime();
  }

  it('both instances keep one repeat, however often they add it', async () => {
    const slots = apps.map((a) => a.app.get(RecoverySlots));
    for (let i = 0; i < 3; i++) await Promise.all(slots.map((s) => s.ensureRepeat()));
    const repeats = await queueOf(apps[0]).getRepeatableJobs();
    expect(repeats).toHaveLength(1);
    expect(repeats[0].every).toBe(SLOT_MS);
    // The next slot's job, and at a slot's boundary the one after it: never one per add.
    expect(await queueOf(apps[0]).getDelayedCount()).toBeLessThanOrEqual(2);
  });

  it('a checkout writes no key under the queue prefix: 20 checkouts, nothing but the slot job changes', async () => {
    const before = await queueKeys();
    const paymentNos: string[] = [];
    for (let i = 0; i < 20; i++) {
      const order = (await http('POST', `${apps[0].url}/api/orders`, orderBody(uniqueId('slots')))).body;
      const paid = await http('POST', `${apps[0].url}/api/orders/${order.orderNo}/pay`, { channel: 'wechat' });
      expect(paid.status).toBe(200);
      paymentNos.push(paid.body.paymentNo as string);
    }
    const after = await queueKeys();
    // Keys that came or went meanwhile belong to the slot job (its next slot) or are Bull's own lists.
    const added = [...after].filter(
      (key) => !before.has(key) && !key.includes(':repeat:') && !QUEUE_STRUCTURE.test(key),
    );
    expect(added).toEqual([]);
    expect([...after].filter((key) => paymentNos.some((no) => key.includes(no)))).toEqual([]);
    const jobs = await queueOf(apps[0]).getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    expect(jobs.filter((job) => !String(job.id).startsWith('repeat:'))).toEqual([]);
  });

  it('a payment comes due and is queried within about one slot, by no job of its own', async () => {
    const dueAt = new Date(Date.now() + 1000);
    const [paymentNo] = await duePayments(1, dueAt);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(queriesOf(paymentNo)).toEqual([]); // not before its time
    // The attempt row is written once the gateway has answered: wait for it, not for the call.
    await waitFor('the query recorded', async () => (await firstQueryAt(paymentNo)) !== undefined, 5000);
    const lagMs = (await firstQueryAt(paymentNo))! - dueAt.getTime();
    expect(lagMs).toBeGreaterThanOrEqual(0);
    expect(lagMs).toBeLessThan(SLOT_MS + 500);
    expect(queriesOf(paymentNo)).toHaveLength(1);
  });

  it('two instances, 150 due payments, their slots and two extra sweeps overlapping: each queried exactly once', async () => {
    const numbers = await duePayments(150, new Date(Date.now() - 60_000));
    // Sweeps of both engines at once, on top of whatever slot is running meanwhile.
    await Promise.all(apps.map((a) => a.app.get(RecoveryEngine).sweepDue(0)));
    await waitFor(
      'every payment queried',
      () =>
        Promise.resolve(
          new Set(gateways.flatMap((g) => g.queryCalls).filter((no) => numbers.includes(no))).size === 150,
        ),
      10_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 3 * SLOT_MS)); // a few more slots: nothing asks again
    const queried = gateways.flatMap((g) => g.queryCalls).filter((no) => numbers.includes(no));
    expect(queried).toHaveLength(150);
    const [rows] = await db.query(
      "SELECT COUNT(*) AS n FROM payment_attempts WHERE payment_no IN (?) AND action = 'query'",
      [numbers],
    );
    expect((rows as { n: number }[])[0].n).toBe(150);
  });

  it('Redis loses everything (FLUSHDB): the repeat comes back by itself and a later due payment is queried', async () => {
    expect(await queueOf(apps[0]).getRepeatableCount()).toBe(1);
    await redis.flushdb(); // this run's Redis database only
    expect(await queueOf(apps[0]).getRepeatableCount()).toBe(0);
    await waitFor('the repeat to come back', async () => (await queueOf(apps[0]).getRepeatableCount()) === 1, 10_000);
    expect((await queueOf(apps[0]).getRepeatableJobs())[0].every).toBe(SLOT_MS);
    const dueAt = new Date(Date.now() + 300);
    const [paymentNo] = await duePayments(1, dueAt);
    // The attempt row is written once the gateway has answered: wait for it, not for the call.
    await waitFor('the query recorded', async () => (await firstQueryAt(paymentNo)) !== undefined, 5000);
    expect((await firstQueryAt(paymentNo))! - dueAt.getTime()).toBeLessThan(SLOT_MS + 500);
  });

  it('a new slot length replaces the old repeat', async () => {
    await Promise.all(apps.map((a) => a.close()));
    const longer = new FakeGateway('wechat');
    apps = [await start(longer, 3 * SLOT_MS)];
    await waitFor('the repeat of the new length', async () => {
      const repeats = await queueOf(apps[0]).getRepeatableJobs();
      return repeats.length === 1 && repeats[0].every === 3 * SLOT_MS;
    });
    const [paymentNo] = await duePayments(1, new Date(Date.now() - 1000));
    await waitFor('the query', () => Promise.resolve(longer.queryCalls.includes(paymentNo)), 5000);
  });
});
