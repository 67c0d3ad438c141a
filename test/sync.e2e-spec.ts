import { waitFor } from './support/amqp';
import { newTestApplication } from './support/api-keys';
import { sqlPool } from './support/database';
import { type RunningSandbox, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, uniqueId } from './support/test-app';

/**
 * The business side can force a fresh answer: POST /api/payments/:paymentNo/sync and /api/refunds/:refundNo/sync
 * ask the vendor now and apply its answer through the same locked path as a notification. Against the sandbox
 * over real HTTP, with notifications dropped and recovery's own queries an hour away, so only the sync can learn.
 */
const SYNC_INTERVAL_MS = 1500;

describe('Sync: ask the vendor now (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  const db = sqlPool();

  beforeAll(async () => {
    sandbox = await startSandbox();
    running = await startAppOnSandbox(sandbox, {
      gateways: { timeoutMs: 1500 },
      recovery: {
        queryScheduleMs: [3_600_000],
        longTailMs: [3_600_000],
        syncIntervalMs: SYNC_INTERVAL_MS,
        jobsEnabled: true,
        slotMs: 150,
        reconcilerEnabled: false,
      },
    });
  });

  afterAll(async () => {
    await running.close();
    await sandbox.app.close();
    await db.end();
  });

  const app = (path: string) => `${running.url}${path}`;
  const faults = (body: Record<string, unknown>) => http('POST', `${sandbox.url}/sandbox/faults`, body);
  const sync = (path: string, headers?: Record<string, string>) => http('POST', app(path), undefined, headers);
  const count = async (sql: string, params: unknown[]) => {
    const [rows] = await db.query(sql, params);
    return Number((rows as { n: number }[])[0].n);
  };

  /** A payment the buyer paid whose notifications (payment and refunds) never arrive. */
  async function paidUnheard(channel: 'wechat' | 'unionpay' = 'wechat') {
    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId('sync')))).body;
    const payment = (await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel })).body;
    await faults({ outTradeNo: payment.paymentNo, dropNotifications: true });
    if (channel === 'unionpay') {
      // The buyer's browser posts the consume form to UnionPay, which makes the trade.
      await fetch(payment.payCredential.action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(payment.payCredential.fields).toString(),
      });
    }
    const paid = await http('POST', `${sandbox.url}/sandbox/${channel}/trades/${payment.paymentNo}/pay`, {});
    expect(paid.status).toBeLessThan(300);
    return payment.paymentNo as string;
  }

  it('a payment paid where nobody told us is PAID after a sync, announced once; syncs are limited per payment', async () => {
    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId('sync')))).body;
    const payment = (await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' })).body;
    const paymentNo = payment.paymentNo as string;
    await faults({ outTradeNo: paymentNo, dropNotifications: true });

    // Not paid yet: the vendor is asked, says so, and the payment stays open.
    const first = await sync(`/api/payments/${paymentNo}/sync`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'PAYING' });
    expect(first.body.attempts).toEqual([expect.objectContaining({ action: 'query', outcome: 'not_paid' })]);
    const again = await sync(`/api/payments/${paymentNo}/sync`);
    expect([again.status, again.body.code]).toEqual([429, 'SYNC_TOO_SOON']);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    // The buyer pays; the notification is lost. After the interval, a sync learns it.
    expect((await http('POST', `${sandbox.url}/sandbox/wechat/trades/${paymentNo}/pay`, {})).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, SYNC_INTERVAL_MS + 100));
    expect((await http('GET', app(`/api/payments/${paymentNo}`))).body.status).toBe('PAYING');
    const synced = await sync(`/api/payments/${paymentNo}/sync`);
    expect(synced.status).toBe(200);
    expect(synced.body).toMatchObject({ paymentNo, status: 'PAID', paidAmountFen: 2500 });
    expect(synced.body.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(['not_paid', 'paid']);
    expect(
      await count("SELECT COUNT(*) AS n FROM outbox_events WHERE payment_no = ? AND type = 'payment.succeeded'", [
        paymentNo,
      ]),
    ).toBe(1);
  });

  it('only the owner with payments:read may sync; a settled payment is returned without asking the vendor', async () => {
    const paymentNo = await paidUnheard();
    const stranger = await newTestApplication();
    expect((await sync(`/api/payments/${paymentNo}/sync`, stranger.headers)).status).toBe(404);
    const writer = await newTestApplication({ scopes: ['orders:write'] });
    expect((await sync(`/api/payments/${paymentNo}/sync`, writer.headers)).status).toBe(403);
    expect((await sync('/api/payments/P0000/sync')).status).toBe(404);
    // Neither asked the vendor.
    expect(await count('SELECT COUNT(*) AS n FROM payment_attempts WHERE payment_no = ?', [paymentNo])).toBe(0);

    expect((await sync(`/api/payments/${paymentNo}/sync`)).body.status).toBe('PAID');
    // Settled: no vendor call, and no limit either.
    const settled = await sync(`/api/payments/${paymentNo}/sync`);
    expect([settled.status, settled.body.status]).toEqual([200, 'PAID']);
    expect(await count('SELECT COUNT(*) AS n FROM payment_attempts WHERE payment_no = ?', [paymentNo])).toBe(1);
  });

  it('a refund whose result never arrived is REFUNDED after a sync of the refund', async () => {
    // UnionPay accepts a refund at once and tells its result only by notification (dropped here) or query.
    const paymentNo = await paidUnheard('unionpay');
    expect((await sync(`/api/payments/${paymentNo}/sync`)).body.status).toBe('PAID');
    const refund = await http('POST', app(`/api/payments/${paymentNo}/refunds`), { amountFen: 500, reason: 'return' });
    expect(refund.status).toBe(201);
    const refundNo = refund.body.refundNo as string;
    await waitFor('refund completed at the vendor', async () => {
      const trade = (await http('GET', `${sandbox.url}/sandbox/trades/${paymentNo}`)).body;
      return (trade.refunds ?? []).some((r: { refundNo: string }) => r.refundNo === refundNo);
    });
    expect((await http('GET', app(`/api/refunds/${refundNo}`))).body.status).toBe('REFUNDING');

    const synced = await sync(`/api/refunds/${refundNo}/sync`);
    expect(synced.status).toBe(200);
    expect(synced.body).toMatchObject({ refundNo, status: 'REFUNDED' });
    const again = await sync(`/api/refunds/${refundNo}/sync`);
    expect([again.status, again.body.status]).toEqual([200, 'REFUNDED']);
  });
});
