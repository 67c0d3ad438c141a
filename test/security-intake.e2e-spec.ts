import type { Pool } from 'mysql2/promise';
import { beijingDate } from '../src/common/beijing-time';
import { newPaymentNo } from '../src/common/ids';
import { alipaySignContent, rsa2Sign } from '../src/gateways/wire/alipay.protocol';
import type { Channel } from '../src/gateways/gateway.types';
import { txnTimeOf } from '../src/gateways/unionpay/unionpay.gateway';
import { signFields } from '../src/gateways/wire/unionpay.protocol';
import { encryptResource, newNonce, responseMessage, rsaSign } from '../src/gateways/wire/wechatpay.protocol';
import { ReconciliationService } from '../src/reconciliation/reconciliation.service';
import { waitFor } from './support/amqp';
import { sqlPool } from './support/database';
import { metricValue } from './support/metrics';
import { type RunningSandbox, sandboxGateways, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, uniqueId, paymentState } from './support/test-app';

const REPLAYS = 'payment_center_notification_replays_total';
const ORPHANS = 'payment_center_orphan_notifications_total';
const MISMATCHES = 'payment_center_refund_notification_mismatches_total';
const OPS_TOKEN = 'security-intake-ops-0123456789abcdef';
const DELIVERIES_TOKEN = 'security-intake-deliveries-0123456789';

/** A notification as the vendor sends it: the exact body and headers, so it can be replayed byte for byte. */
interface Crafted {
  body: string;
  headers: Record<string, string>;
}

/**
 * The notification intake against an attacker who holds genuine, vendor-signed notifications (a replay),
 * a vendor whose refund result disagrees with our refund, and verified notifications for payments we never
 * made. Real MariaDB, Redis and RabbitMQ; the production adapters talking to the sandbox, with notifications
 * signed here with the sandbox's vendor keys.
 */
describe('Notification intake: replays, refund facts, orphans (security e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  /** A second instance whose Redis is unreachable: only the database can tell it what was applied. */
  let noRedis: RunningApp;
  let db: Pool;

  beforeAll(async () => {
    sandbox = await startSandbox();
    const config = {
      gateways: { timeoutMs: 1000 },
      // Nothing asks the vendor behind the tests' backs: a refund stays REFUNDING until a notification.
      recovery: { jobsEnabled: false, reconcilerEnabled: false },
      adminTokens: [
        { name: 'ops', token: OPS_TOKEN, scopes: ['payments:read'] },
        { name: 'deliveries', token: DELIVERIES_TOKEN, scopes: ['deliveries:read'] },
      ],
    };
    running = await startAppOnSandbox(sandbox, config);
    noRedis = await startAppOnSandbox(sandbox, { ...config, redisUrl: 'redis://127.0.0.1:1' });
    db = sqlPool();
  });

  afterAll(async () => {
    await noRedis?.close();
    await running?.close();
    await sandbox?.app.close();
    await db?.end();
  });

  beforeEach(() => http('POST', `${sandbox.url}/sandbox/faults`, {}));

  const app = (path: string, on = running) => `${on.url}${path}`;
  const vendor = () => sandbox.settings;
  const paymentOf = async (paymentNo: string) => (await http('GET', app(`/api/payments/${paymentNo}`))).body;
  const refundOf = async (refundNo: string) => (await http('GET', app(`/api/refunds/${refundNo}`))).body;
  const rows = async (sql: string, values: unknown[]) => (await db.query(sql, values))[0] as Record<string, unknown>[];
  const transitionsOf = (paymentNo: string) =>
    rows('SELECT event, to_status FROM payment_transitions WHERE payment_no = ? ORDER BY id', [paymentNo]);
  const eventsOf = async (paymentNo: string) =>
    (await rows('SELECT type FROM outbox_events WHERE payment_no = ? ORDER BY id', [paymentNo])).map((r) => r.type);

  const send = async (channel: Channel, crafted: Crafted, on = running) => {
    const response = await fetch(app(`/api/payments/notify/${channel}`, on), {
      method: 'POST',
      headers: crafted.headers,
      body: crafted.body,
    });
    return { status: response.status, body: await response.text() };
  };

  /** A WeChat Pay v3 notification: the resource encrypted with the APIv3 key, the body signed with the platform key. */
  function wechatNotification(eventType: string, originalType: 'transaction' | 'refund', plain: object): Crafted {
    const { wechat } = vendor();
    const body = JSON.stringify({
      id: `EV-${uniqueId('n')}`,
      create_time: '2026-12-06T10:00:00+08:00',
      event_type: eventType,
      resource_type: 'encrypt-resource',
      resource: encryptResource(JSON.stringify(plain), wechat.apiV3Key, originalType, originalType),
      summary: eventType,
    });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = newNonce();
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'Wechatpay-Timestamp': timestamp,
        'Wechatpay-Nonce': nonce,
        'Wechatpay-Serial': wechat.platformKeyId,
        'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
        'Wechatpay-Signature': rsaSign(responseMessage(timestamp, nonce, body), wechat.platformPrivateKey),
      },
    };
  }

  const wechatPaid = (paymentNo: string, transactionId: string, totalFen: number) =>
    wechatNotification('TRANSACTION.SUCCESS', 'transaction', {
      appid: vendor().wechat.appid,
      mchid: vendor().wechat.mchid,
      out_trade_no: paymentNo,
      transaction_id: transactionId,
      trade_state: 'SUCCESS',
      success_time: '2026-12-06T10:00:00+08:00',
      amount: { total: totalFen, payer_total: totalFen, currency: 'CNY', payer_currency: 'CNY' },
    });

  /** An Alipay notification form, signed RSA2 with the sandbox's Alipay key; `notify_id` as Alipay gives it. */
  function alipayPaid(paymentNo: string, tradeNo: string, totalFen: number): Crafted {
    const fields: Record<string, string> = {
      notify_time: '2026-12-06 10:00:00',
      notify_type: 'trade_status_sync',
      notify_id: uniqueId('alipay-notify'),
      app_id: vendor().alipay.appId,
      seller_id: vendor().alipay.sellerId,
      charset: 'utf-8',
      version: '1.0',
      out_trade_no: paymentNo,
      trade_no: tradeNo,
      trade_status: 'TRADE_SUCCESS',
      total_amount: `${Math.floor(totalFen / 100)}.${String(totalFen % 100).padStart(2, '0')}`,
      gmt_payment: '2026-12-06 10:00:00',
      sign_type: 'RSA2',
    };
    fields.sign = rsa2Sign(alipaySignContent(fields, ['sign', 'sign_type']), vendor().alipay.alipayPrivateKey);
    return {
      body: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    };
  }

  /** A UnionPay 5.1.0 refund result (txnType 04) for backUrl, signed with the sandbox's UnionPay signing certificate. */
  function unionpayRefunded(refundNo: string, origQryId: string, txnAmt: number): Crafted {
    const { unionpay } = vendor();
    const fields: Record<string, string> = {
      version: '5.1.0',
      encoding: 'UTF-8',
      signMethod: '01',
      bizType: '000201',
      accessType: '0',
      merId: unionpay.merId,
      txnType: '04',
      txnSubType: '00',
      orderId: refundNo,
      txnTime: txnTimeOf(refundNo),
      origQryId,
      txnAmt: String(txnAmt),
      currencyCode: '156',
      queryId: `${Date.now()}`.padStart(21, '0'),
      respCode: '00',
      respMsg: 'success',
      signPubKeyCert: unionpay.signCertPem,
    };
    return {
      body: new URLSearchParams({ ...fields, signature: signFields(fields, unionpay.signPrivateKey) }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    };
  }

  async function startPayment(channel: Channel) {
    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId(`si-${channel}`)))).body;
    const payment = await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel });
    expect(payment.status).toBe(200);
    return payment.body as { paymentNo: string; amountFen: number; payCredential: any };
  }

  /** Paid through the sandbox (the buyer pays, the vendor notifies), then a refund whose answer is lost: REFUNDING. */
  async function refundingRefund(channel: 'wechat' | 'unionpay', amountFen = 1000) {
    const payment = await startPayment(channel);
    if (channel === 'unionpay') {
      await fetch(payment.payCredential.action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(payment.payCredential.fields).toString(),
      });
    }
    await http('POST', `${sandbox.url}/sandbox/${channel}/trades/${payment.paymentNo}/pay`, {});
    const paid = await waitFor('payment PAID', async () => {
      const p = await paymentOf(payment.paymentNo);
      return p.status === 'PAID' && p;
    });
    await http('POST', `${sandbox.url}/sandbox/faults`, {
      outTradeNo: payment.paymentNo,
      apiDelayMs: 1500, // past our 1 s timeout: the refund's answer never arrives
      dropNotifications: true,
    });
    const created = await http(
      'POST',
      app(`/api/payments/${payment.paymentNo}/refunds`),
      { amountFen, reason: 'returned goods' },
      { 'Idempotency-Key': uniqueId('si-refund') },
    );
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('REFUNDING');
    return {
      paymentNo: payment.paymentNo,
      gatewayTradeNo: paid.gatewayTradeNo as string,
      refundNo: created.body.refundNo as string,
      amountFen,
    };
  }

  describe('a replay of an applied notification is acknowledged and not applied again', () => {
    it.each(['wechat', 'alipay'] as const)(
      '%s: a replayed wrong-amount notification does not reopen review of a payment closed since',
      async (channel) => {
        const { paymentNo, amountFen } = await startPayment(channel);
        const tradeNo = channel === 'wechat' ? `4200${Date.now()}` : `2026${Date.now()}`;
        const notification =
          channel === 'wechat'
            ? wechatPaid(paymentNo, tradeNo, amountFen - 1)
            : alipayPaid(paymentNo, tradeNo, amountFen - 1);
        expect((await send(channel, notification)).status).toBeLessThan(300);
        expect((await paymentOf(paymentNo)).status).toBe('NEEDS_REVIEW');
        // The operator closes it and the vendor confirms the close.
        const state = paymentState(running.app);
        await state.apply(paymentNo, {
          type: 'CLOSE_REQUESTED',
          reason: 'operator: the buyer paid the wrong amount, refunded by hand',
          nextQueryAt: new Date(Date.now() + 3600_000),
        });
        await state.apply(paymentNo, { type: 'CLOSED_CONFIRMED' });
        const transitions = await transitionsOf(paymentNo);
        const events = await eventsOf(paymentNo);
        expect(transitions.map((t) => t.to_status)).toEqual(['PAYING', 'NEEDS_REVIEW', 'CLOSING', 'CLOSED']);

        // The same notification again, byte for byte, inside WeChat's five minutes: Redis remembers it ...
        expect((await send(channel, notification)).status).toBeLessThan(300);
        expect((await paymentOf(paymentNo)).status).toBe('CLOSED');
        // ... and an instance without Redis finds it in the database.
        expect((await send(channel, notification, noRedis)).status).toBeLessThan(300);
        expect((await paymentOf(paymentNo)).status).toBe('CLOSED');
        expect(await transitionsOf(paymentNo)).toEqual(transitions);
        expect(await eventsOf(paymentNo)).toEqual(events);
        expect(await metricValue(running.app, REPLAYS, { channel, caught_by: 'redis' })).toBeGreaterThanOrEqual(1);
        expect(await metricValue(noRedis.app, REPLAYS, { channel, caught_by: 'database' })).toBeGreaterThanOrEqual(1);
      },
    );

    it('ten copies of one notification at once, through two instances: applied exactly once', async () => {
      const { paymentNo, amountFen } = await startPayment('wechat');
      const notification = wechatPaid(paymentNo, `4200${Date.now()}`, amountFen + 5);
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => send('wechat', notification, i % 2 ? noRedis : running)),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(204));
      expect((await transitionsOf(paymentNo)).map((t) => t.event)).toEqual(['START', 'REVIEW_REQUIRED']);
      expect(await eventsOf(paymentNo)).toEqual(['payment.needs_review']);
      const [applied] = await rows('SELECT COUNT(*) AS n FROM applied_notifications WHERE notification_id = ?', [
        JSON.parse(notification.body).id,
      ]);
      expect(Number(applied.n)).toBe(1);
    });

    it('with Redis unreachable, a first delivery is still applied (the database decides)', async () => {
      const { paymentNo, amountFen } = await startPayment('wechat');
      const answer = await send('wechat', wechatPaid(paymentNo, `4200${Date.now()}`, amountFen), noRedis);
      expect(answer.status).toBe(204);
      expect(await paymentOf(paymentNo)).toMatchObject({ status: 'PAID', paidAmountFen: amountFen });
      expect(await eventsOf(paymentNo)).toEqual(['payment.succeeded']);
    });
  });

  describe("a refund result is believed only when it matches the refund's amount and trade", () => {
    it('WeChat: amount.refund differs → NEEDS_REVIEW, never REFUNDED, counted', async () => {
      const { paymentNo, gatewayTradeNo, refundNo, amountFen } = await refundingRefund('wechat');
      const notification = wechatNotification('REFUND.SUCCESS', 'refund', {
        mchid: vendor().wechat.mchid,
        out_trade_no: paymentNo,
        transaction_id: gatewayTradeNo,
        out_refund_no: refundNo,
        refund_id: `5030${Date.now()}`,
        refund_status: 'SUCCESS',
        success_time: '2026-12-06T10:00:00+08:00',
        amount: { total: 2500, refund: amountFen + 500, payer_total: 2500, payer_refund: amountFen + 500 },
      });
      expect((await send('wechat', notification)).status).toBe(204);
      const refund = await refundOf(refundNo);
      expect(refund.status).toBe('NEEDS_REVIEW');
      expect(refund.statusReason).toContain(`${amountFen + 500} fen refunded, refund is ${amountFen} fen`);
      expect(await eventsOf(paymentNo)).not.toContain('payment.refunded');
      expect(await metricValue(running.app, MISMATCHES, { channel: 'wechat', field: 'amount' })).toBe(1);
      // Its money stays committed: no new refund can spend it, and a later answer does not settle it.
      const rest = await http(
        'POST',
        app(`/api/payments/${paymentNo}/refunds`),
        { amountFen: 2500 - amountFen + 1, reason: 'more' },
        { 'Idempotency-Key': uniqueId('si-refund') },
      );
      expect(rest.body.code).toBe('REFUND_EXCEEDS_PAID');
    });

    it('WeChat: out_trade_no of another payment → NEEDS_REVIEW; the matching result → REFUNDED', async () => {
      const first = await refundingRefund('wechat');
      const second = await refundingRefund('wechat');
      const refundOfOther = (r: typeof first, tradeOf: typeof first) =>
        wechatNotification('REFUND.SUCCESS', 'refund', {
          mchid: vendor().wechat.mchid,
          out_trade_no: tradeOf.paymentNo,
          transaction_id: tradeOf.gatewayTradeNo,
          out_refund_no: r.refundNo,
          refund_id: `5030${Date.now()}`,
          refund_status: 'SUCCESS',
          success_time: '2026-12-06T10:00:00+08:00',
          amount: { total: 2500, refund: r.amountFen, payer_total: 2500, payer_refund: r.amountFen },
        });
      expect((await send('wechat', refundOfOther(first, second))).status).toBe(204);
      expect(await refundOf(first.refundNo)).toMatchObject({
        status: 'NEEDS_REVIEW',
        statusReason: expect.stringContaining(`refunded trade ${second.paymentNo}`),
      });
      expect((await send('wechat', refundOfOther(second, second))).status).toBe(204);
      expect((await refundOf(second.refundNo)).status).toBe('REFUNDED');
      expect(await eventsOf(second.paymentNo)).toContain('payment.refunded');
    });

    it('UnionPay: txnAmt differs → NEEDS_REVIEW, never REFUNDED', async () => {
      const { paymentNo, gatewayTradeNo, refundNo, amountFen } = await refundingRefund('unionpay');
      const answer = await send('unionpay', unionpayRefunded(refundNo, gatewayTradeNo, amountFen * 2));
      expect(answer).toEqual({ status: 200, body: 'ok' });
      expect(await refundOf(refundNo)).toMatchObject({
        status: 'NEEDS_REVIEW',
        statusReason: expect.stringContaining(`${amountFen * 2} fen refunded`),
      });
      expect(await eventsOf(paymentNo)).not.toContain('payment.refunded');
      expect(await metricValue(running.app, MISMATCHES, { channel: 'unionpay', field: 'amount' })).toBe(1);
    });
  });

  describe('a verified notification for a payment number we do not know', () => {
    it('is stored once as an orphan, counted, acknowledged, listed for operators; nothing else is created', async () => {
      const paymentNo = newPaymentNo(new Date()); // looks like ours, but no payment has it
      const tradeNo = `4200${Date.now()}`;
      const first = wechatPaid(paymentNo, tradeNo, 1234);
      expect((await send('wechat', first)).status).toBe(204);
      // The vendor resends (a new notification id each time it makes a new one): still one orphan.
      expect((await send('wechat', wechatPaid(paymentNo, tradeNo, 1234))).status).toBe(204);
      const orphans = await rows('SELECT * FROM orphan_notifications WHERE payment_no = ?', [paymentNo]);
      expect(orphans).toHaveLength(1);
      expect({ ...orphans[0], amount_fen: Number(orphans[0].amount_fen) }).toMatchObject({
        channel: 'wechat',
        gateway_trade_no: tradeNo,
        result: 'paid',
        amount_fen: 1234,
        raw_body: first.body,
        times_received: 2,
      });
      expect(await metricValue(running.app, ORPHANS, { channel: 'wechat', result: 'paid' })).toBe(1);
      for (const table of ['payments', 'payment_transitions', 'outbox_events', 'refunds']) {
        expect(await rows(`SELECT 1 FROM ${table} WHERE payment_no = ?`, [paymentNo])).toEqual([]);
      }

      const list = (token?: string) =>
        http(
          'GET',
          app('/api/admin/orphan-notifications?channel=wechat&linked=false'),
          undefined,
          token ? { authorization: `Bearer ${token}` } : {},
        );
      expect((await list()).status).toBe(401);
      expect((await list(DELIVERIES_TOKEN)).status).toBe(403);
      const listed = await list(OPS_TOKEN);
      expect(listed.status).toBe(200);
      expect(listed.body.find((o: { paymentNo: string }) => o.paymentNo === paymentNo)).toMatchObject({
        channel: 'wechat',
        gatewayTradeNo: tradeNo,
        result: 'paid',
        amountFen: 1234,
        timesReceived: 2,
        linkedAt: null,
      });
      const invalid = await http('GET', app('/api/admin/orphan-notifications?limit=0'), undefined, {
        authorization: `Bearer ${OPS_TOKEN}`,
      });
      expect(invalid.status).toBe(400);
    });

    it("the vendor's own notification of a trade we never made is kept; the day's statement links it", async () => {
      // A trade opened at the vendor under our merchant id by something that is not this Payment Center.
      const port = Number(new URL(running.url).port);
      const outsider = sandboxGateways(sandbox, port).find((g) => g.channel === 'wechat')!;
      const paymentNo = newPaymentNo(new Date());
      const created = await outsider.createPayment({
        paymentNo,
        amountFen: 777,
        currency: 'CNY',
        description: 'not ours',
        expiresAt: new Date(Date.now() + 15 * 60_000),
      });
      expect(created.kind).toBe('created');
      await http('POST', `${sandbox.url}/sandbox/wechat/trades/${paymentNo}/pay`, {});
      const [orphan] = await waitFor('orphan kept', async () => {
        const found = await rows('SELECT id, gateway_trade_no FROM orphan_notifications WHERE payment_no = ?', [
          paymentNo,
        ]);
        return found.length > 0 && found;
      });
      // Acknowledged at the first send: the vendor stopped.
      const trade = (await http('GET', `${sandbox.url}/sandbox/wechat/trades/${paymentNo}`)).body;
      expect(trade.notifications.map((n: { status: number }) => n.status)).toEqual([204]);

      const run = await running.app
        .get(ReconciliationService)
        .run('wechat', beijingDate(new Date()), 'security-intake test');
      expect(run.items?.find((d) => d.paymentNo === paymentNo)).toMatchObject({
        kind: 'UNKNOWN_TRADE',
        resolution: 'REVIEW',
        detail: expect.stringContaining(`orphan notification ${String(orphan.id)}`),
      });
      // The statement also lists the refunds sent to review above: it does not settle them behind the operator.
      const inReview = run.items?.filter((d) => d.kind === 'REFUND_NOT_RECORDED') ?? [];
      expect(inReview.length).toBeGreaterThanOrEqual(2);
      for (const difference of inReview) {
        expect(difference).toMatchObject({ resolution: 'REVIEW', detail: expect.stringContaining('NEEDS_REVIEW') });
        expect((await refundOf(difference.refundNo!)).status).toBe('NEEDS_REVIEW');
      }
      const linked = await http('GET', app('/api/admin/orphan-notifications?linked=true'), undefined, {
        authorization: `Bearer ${OPS_TOKEN}`,
      });
      expect(linked.body.find((o: { paymentNo: string }) => o.paymentNo === paymentNo)).toMatchObject({
        gatewayTradeNo: orphan.gateway_trade_no,
        linkedAt: expect.any(String),
        linkedDetail: expect.stringContaining(`reconciliation run ${run.id}`),
      });
    });

    it('Alipay: the same, acknowledged with `success`', async () => {
      const paymentNo = newPaymentNo(new Date());
      const answer = await send('alipay', alipayPaid(paymentNo, `2026${Date.now()}`, 990));
      expect(answer).toEqual({ status: 200, body: 'success' });
      const [orphan] = await rows('SELECT channel, amount_fen FROM orphan_notifications WHERE payment_no = ?', [
        paymentNo,
      ]);
      expect({ ...orphan, amount_fen: Number(orphan.amount_fen) }).toEqual({ channel: 'alipay', amount_fen: 990 });
      expect(await rows('SELECT 1 FROM payments WHERE payment_no = ?', [paymentNo])).toEqual([]);
    });
  });
});
