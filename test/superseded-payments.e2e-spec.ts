import type { Channel } from '../src/gateways/gateway.types';
import { waitFor } from './support/amqp';
import { sqlPool } from './support/database';
import { type RunningSandbox, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, uniqueId } from './support/test-app';

/**
 * No second charge to begin with: an order's other trades are closed at their vendors the moment they stop
 * being needed — when the buyer starts paying on another channel, and when one of the order's payments is
 * paid — through the same CLOSING path as expiry, against the sandbox over real HTTP.
 */
describe('Superseded payments are closed at once (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  const db = sqlPool();

  beforeAll(async () => {
    sandbox = await startSandbox();
    running = await startAppOnSandbox(sandbox, {
      gateways: { timeoutMs: 1500 },
      // Queries far away: what closes a trade here is the close, not a query's answer.
      recovery: {
        queryScheduleMs: [60_000],
        longTailMs: [400],
        closeAttempts: 3,
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
  const paymentOf = async (paymentNo: string) => (await http('GET', app(`/api/payments/${paymentNo}`))).body;
  const tradeOf = async (paymentNo: string) =>
    (await http('GET', `${sandbox.url}/sandbox/trades/${paymentNo}`)).body as { state?: string };
  const buyerPays = (channel: Channel, paymentNo: string) =>
    http('POST', `${sandbox.url}/sandbox/${channel}/trades/${paymentNo}/pay`, {});
  const newOrder = async () =>
    (await http('POST', app('/api/orders'), orderBody(uniqueId('sup')))).body.orderNo as string;
  const pay = async (orderNo: string, channel: Channel) => {
    const answer = await http('POST', app(`/api/orders/${orderNo}/pay`), { channel });
    expect(answer.status).toBe(200);
    return answer.body.paymentNo as string;
  };
  const closeReasons = async (paymentNo: string) => {
    const [rows] = await db.query(
      "SELECT detail FROM payment_transitions WHERE payment_no = ? AND event = 'CLOSE_REQUESTED'",
      [paymentNo],
    );
    return (rows as { detail: string }[]).map((r) => r.detail);
  };

  it('the buyer switches from WeChat to Alipay: the WeChat trade is closed at once, and paying it is refused', async () => {
    const orderNo = await newOrder();
    const wechat = await pay(orderNo, 'wechat');
    expect((await tradeOf(wechat)).state).toBe('NOTPAY');
    const alipay = await pay(orderNo, 'alipay');

    // Closed at the vendor and here within seconds, long before the order's expiry (30 minutes).
    await waitFor('WeChat trade CLOSED at the vendor', async () => (await tradeOf(wechat)).state === 'CLOSED', 5000);
    await waitFor('WeChat payment CLOSED', async () => (await paymentOf(wechat)).status === 'CLOSED', 5000);
    expect(await closeReasons(wechat)).toEqual([`the buyer started payment ${alipay} (alipay) instead`]);
    const refused = await buyerPays('wechat', wechat);
    expect([refused.status, refused.body.error]).toEqual([404, 'ORDERCLOSED']);

    // The new trade is untouched and pays the order.
    expect((await paymentOf(alipay)).status).toBe('PAYING');
    expect((await buyerPays('alipay', alipay)).status).toBe(200);
    await waitFor('Alipay payment PAID', async () => (await paymentOf(alipay)).status === 'PAID');
    // (Another channel: the same body again would be answered from the duplicate-submission guard.)
    const again = await http('POST', app(`/api/orders/${orderNo}/pay`), { channel: 'unionpay' });
    expect([again.status, again.body.code]).toEqual([409, 'ORDER_ALREADY_PAID']);
  });

  it('an old trade the buyer paid before its close got through is kept, and the newer trade is closed at once', async () => {
    const orderNo = await newOrder();
    const wechat = await pay(orderNo, 'wechat');
    // WeChat's API fails for this trade: the close the switch asks for cannot get through.
    await faults({ outTradeNo: wechat, apiError: true });
    const alipay = await pay(orderNo, 'alipay');
    // The buyer opens the Alipay code and stops at the payment page: the trade exists at Alipay now.
    expect((await http('POST', `${sandbox.url}/sandbox/alipay/trades/${alipay}/scan`, {})).status).toBe(200);
    await waitFor('WeChat close attempted', async () => {
      const [rows] = await db.query(
        "SELECT COUNT(*) AS n FROM payment_attempts WHERE payment_no = ? AND action = 'close'",
        [wechat],
      );
      return Number((rows as { n: number }[])[0].n) > 0;
    });
    expect((await paymentOf(wechat)).status).toBe('CLOSING');
    expect((await tradeOf(wechat)).state).toBe('NOTPAY');

    // The buyer scans the old code anyway: the money wins, and it is the order's payment (the first paid).
    expect((await buyerPays('wechat', wechat)).status).toBe(200);
    await waitFor('WeChat payment PAID', async () => (await paymentOf(wechat)).status === 'PAID');
    await waitFor('Alipay trade CLOSED at the vendor', async () => (await tradeOf(alipay)).state === 'CLOSED', 5000);
    await waitFor('Alipay payment CLOSED', async () => (await paymentOf(alipay)).status === 'CLOSED', 5000);
    expect(await closeReasons(alipay)).toEqual([`order ${orderNo} was paid by ${wechat}`]);
    expect((await paymentOf(wechat)).refunds).toEqual([]);
    const refused = await buyerPays('alipay', alipay);
    expect([refused.status, refused.body.error]).toEqual([409, 'ACQ.TRADE_HAS_CLOSE']);
    expect(await paymentOf(alipay)).toMatchObject({ status: 'CLOSED', refunds: [] });
  });

  it('an Alipay code nobody scanned cannot be closed before it lapses: asked again, never sent to review early', async () => {
    const orderNo = await newOrder();
    const alipay = await pay(orderNo, 'alipay');
    const wechat = await pay(orderNo, 'wechat');
    // More close attempts than PAYMENT_CLOSE_ATTEMPTS (3 here), all answered ACQ.TRADE_NOT_EXIST.
    await waitFor(
      'five close attempts',
      async () => {
        const [rows] = await db.query(
          "SELECT COUNT(*) AS n FROM payment_attempts WHERE payment_no = ? AND action = 'close'",
          [alipay],
        );
        return Number((rows as { n: number }[])[0].n) >= 5;
      },
      15_000,
    );
    expect((await paymentOf(alipay)).status).toBe('CLOSING');
    // The buyer pays the WeChat code, then the Alipay one, which Alipay still takes: refunded, order paid once.
    expect((await buyerPays('wechat', wechat)).status).toBe(200);
    await waitFor('WeChat payment PAID', async () => (await paymentOf(wechat)).status === 'PAID');
    expect((await buyerPays('alipay', alipay)).status).toBe(200);
    const refunded = await waitFor('Alipay payment refunded', async () => {
      const p = await paymentOf(alipay);
      return p.status === 'PAID' && p.refunds[0]?.status === 'REFUNDED' && p;
    });
    expect(refunded.refunds).toEqual([expect.objectContaining({ kind: 'DUPLICATE_PAYMENT' })]);
  });

  it('a payment whose create call may still be running is closed only when that call can no longer land', async () => {
    const orderNo = await newOrder();
    // The WeChat create answers after the app's timeout: the trade may appear at the vendor after we gave up.
    await faults({ apiDelayMs: 2500 });
    const slow = await http('POST', app(`/api/orders/${orderNo}/pay`), { channel: 'wechat' });
    expect(slow.status).toBe(503);
    await faults({});
    const started = Date.now();
    const alipay = await pay(orderNo, 'alipay');
    const [[wechat]] = (await db.query(
      "SELECT payment_no, next_query_at FROM payments WHERE order_no = ? AND channel = 'wechat'",
      [orderNo],
    )) as unknown as [{ payment_no: string; next_query_at: Date }[]];
    // Its close is due when the call's window (timeout 1.5 s + 2 s margin) has ended, not at once.
    expect(wechat.next_query_at.getTime()).toBeGreaterThan(started);
    await waitFor(
      'late WeChat trade CLOSED at the vendor',
      async () => (await tradeOf(wechat.payment_no)).state === 'CLOSED',
      10_000,
    );
    await waitFor('WeChat payment CLOSED', async () => (await paymentOf(wechat.payment_no)).status === 'CLOSED');
    expect((await paymentOf(alipay)).status).toBe('PAYING');
  });
});
