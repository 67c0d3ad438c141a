import type { INestApplication } from '@nestjs/common';
import type { Pool } from 'mysql2/promise';
import { WechatPayGateway, type WechatPaySettings } from '../src/gateways/wechat/wechat-pay.gateway';
import { AmqpConnection } from '../src/notifications/amqp.connection';
import { partnerQueue } from '../src/notifications/payment-event';
import { loadKey } from '../src/gateways/wire/sandbox-key-set';
import type { SandboxSettings } from '../sandbox/sandbox.settings';
import { encryptResource, newNonce, responseMessage, rsaSign } from '../src/gateways/wire/wechatpay.protocol';
import { testPartners } from './support/partners';
import { AmqpProbe, waitFor } from './support/amqp';
import { expectDelayedReversedNotificationsApplyOnce } from './support/reordered';
import { startSandbox } from './support/sandbox';
import { sqlPool } from './support/database';
import { FakeGateway } from './support/fake-gateway';
import { metricValue } from './support/metrics';
import { http, orderBody, type RunningApp, startApp, TestClock, uniqueId, paymentState } from './support/test-app';

const REFUSED = 'payment_center_notification_verification_failures_total';

const partner = testPartners('w');
const WATCHER = partner('watcher');
const ORDERS = partner('orders');

/** WeChat Pay v3 end to end over real HTTP: our provider ⇄ the sandbox vendor, callbacks into the app. */
describe('WeChat Pay through the sandbox (e2e)', () => {
  let sandbox: INestApplication;
  let sandboxUrl: string;
  let running: RunningApp;
  let settings: WechatPaySettings;
  let db: Pool;
  let probe: AmqpProbe;
  let vendor: SandboxSettings;
  const clock = new TestClock();

  beforeAll(async () => {
    const started = await startSandbox();
    sandbox = started.app;
    sandboxUrl = started.url;
    const keys = started.keys;
    vendor = started.settings;
    settings = {
      baseUrl: sandboxUrl,
      mchid: vendor.wechat.mchid,
      appid: vendor.wechat.appid,
      merchantSerialNo: vendor.wechat.merchantSerialNo,
      merchantPrivateKey: loadKey(keys, 'merchantPrivate'),
      platformKeys: new Map([[vendor.wechat.platformKeyId, loadKey(keys, 'platformPublic')]]),
      apiV3Key: vendor.wechat.apiV3Key,
      notifyUrl: '',
      timeoutMs: 1000,
      now: () => clock.now(),
    };
    running = await startApp([new WechatPayGateway(settings), new FakeGateway('alipay')], clock, {
      partners: [WATCHER, ORDERS],
      ordersPartner: ORDERS.name,
      consumersEnabled: true,
      gateways: { timeoutMs: 1000 },
    });
    settings.notifyUrl = `${running.url}/api/payments/notify/wechat`;
    await running.app.get(AmqpConnection).ready(); // partner queues declared
    db = sqlPool();
    probe = await AmqpProbe.open();
  });

  afterAll(async () => {
    await running.close();
    await sandbox.close();
    await probe.deleteQueues([partnerQueue(WATCHER.name), partnerQueue(ORDERS.name)]);
    await probe.close();
    await db.end();
  });

  beforeEach(async () => {
    await http('POST', `${sandboxUrl}/sandbox/faults`, {});
    await probe.channel.purgeQueue(partnerQueue(WATCHER.name));
  });

  const app = (path: string) => `${running.url}${path}`;

  async function startWechatPayment() {
    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId('wx')))).body;
    const payment = await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' });
    expect(payment.status).toBe(200);
    return { orderNo: order.orderNo as string, paymentNo: payment.body.paymentNo as string, payment: payment.body };
  }

  const paymentOf = async (paymentNo: string) => (await http('GET', app(`/api/payments/${paymentNo}`))).body;
  const buyerPays = (paymentNo: string) => http('POST', `${sandboxUrl}/sandbox/wechat/trades/${paymentNo}/pay`, {});
  const tradeOf = async (paymentNo: string) =>
    (await http('GET', `${sandboxUrl}/sandbox/wechat/trades/${paymentNo}`)).body;

  /** A TRANSACTION.SUCCESS notification for a trade, signed and encrypted as WeChat does, posted straight to the app. */
  const notifyAsVendor = (outTradeNo: string, transactionId: string, totalFen: number, signal?: AbortSignal) => {
    const transaction = {
      appid: vendor.wechat.appid,
      mchid: vendor.wechat.mchid,
      out_trade_no: outTradeNo,
      transaction_id: transactionId,
      trade_state: 'SUCCESS',
      success_time: '2026-11-25T10:00:00+08:00',
      amount: { total: totalFen, currency: 'CNY' },
    };
    const body = JSON.stringify({
      id: uniqueId('n'),
      event_type: 'TRANSACTION.SUCCESS',
      resource_type: 'encrypt-resource',
      resource: encryptResource(JSON.stringify(transaction), vendor.wechat.apiV3Key, 'transaction', 'transaction'),
    });
    const timestamp = String(Math.floor(clock.now().getTime() / 1000));
    const nonce = newNonce();
    return fetch(app('/api/payments/notify/wechat'), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'Wechatpay-Timestamp': timestamp,
        'Wechatpay-Nonce': nonce,
        'Wechatpay-Serial': vendor.wechat.platformKeyId,
        'Wechatpay-Signature': rsaSign(responseMessage(timestamp, nonce, body), vendor.wechat.platformPrivateKey),
      },
      body,
      signal,
    });
  };

  it('create order → native pay → buyer pays in the sandbox → notification → PAID → event → order PAID', async () => {
    const { orderNo, paymentNo, payment } = await startWechatPayment();
    expect(payment.payCredential).toEqual({ type: 'code_url', codeUrl: `weixin://wxpay/bizpayurl?pr=${paymentNo}` });
    await buyerPays(paymentNo);
    const paid = await waitFor('payment PAID', async () => {
      const p = await paymentOf(paymentNo);
      return p.status === 'PAID' && p;
    });
    expect(paid).toMatchObject({ paidAmountFen: payment.amountFen, gatewayTradeNo: expect.stringMatching(/^4200/) });
    const [event] = await probe.take(partnerQueue(WATCHER.name), 1);
    expect(JSON.parse(event.content.toString())).toMatchObject({
      type: 'payment.succeeded',
      payment: { paymentNo, orderNo },
    });
    await waitFor('order PAID', async () => (await http('GET', app(`/api/orders/${orderNo}`))).body.status === 'PAID');
    const trade = (await http('GET', `${sandboxUrl}/sandbox/wechat/trades/${paymentNo}`)).body;
    expect(trade.notifications).toEqual([expect.objectContaining({ attempt: 1, status: 204 })]);
  });

  it('five copies of the notification at once: one PAID transition, one event', async () => {
    const { paymentNo } = await startWechatPayment();
    await http('POST', `${sandboxUrl}/sandbox/faults`, { outTradeNo: paymentNo, duplicateNotifications: 5 });
    await buyerPays(paymentNo);
    await waitFor('payment PAID', async () => (await paymentOf(paymentNo)).status === 'PAID');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const history = (await paymentOf(paymentNo)).history as { to: string }[];
    expect(history.filter((h) => h.to === 'PAID')).toHaveLength(1);
    const [events] = await db.query('SELECT event_id FROM outbox_events WHERE payment_no = ?', [paymentNo]);
    expect(events).toHaveLength(1);
    const trade = (await http('GET', `${sandboxUrl}/sandbox/wechat/trades/${paymentNo}`)).body;
    expect(trade.notifications.filter((n: { status: number }) => n.status === 204)).toHaveLength(5);
    await probe.take(partnerQueue(WATCHER.name), 1);
  });

  it('a repeat of the result for a PAID payment is acknowledged at once, even while the payment is locked', async () => {
    const { orderNo, paymentNo } = await startWechatPayment();
    await buyerPays(paymentNo);
    const paid = await waitFor('payment PAID', async () => {
      const p = await paymentOf(paymentNo);
      return p.status === 'PAID' && p;
    });
    // Another transaction holds the order's intent and the payment's row (an operator, a refund): a resend of
    // the same result must not queue behind them; it is answered from the payment as read.
    const holder = await db.getConnection();
    try {
      await holder.query('START TRANSACTION');
      await holder.query('SELECT id FROM payment_intents WHERE order_no = ? FOR UPDATE', [orderNo]);
      await holder.query('SELECT id FROM payments WHERE payment_no = ? FOR UPDATE', [paymentNo]);
      const started = Date.now();
      const resent = await notifyAsVendor(
        paymentNo,
        paid.gatewayTradeNo,
        paid.paidAmountFen,
        AbortSignal.timeout(5000),
      );
      expect([resent.status, Date.now() - started < 5000]).toEqual([204, true]);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    const history = (await paymentOf(paymentNo)).history as { to: string }[];
    expect(history.filter((h) => h.to === 'PAID')).toHaveLength(1);
  });

  it('a delayed notification: PAYING until it arrives, then PAID once', async () => {
    const { paymentNo } = await startWechatPayment();
    await http('POST', `${sandboxUrl}/sandbox/faults`, { outTradeNo: paymentNo, delayNotificationMs: 600 });
    await buyerPays(paymentNo);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await paymentOf(paymentNo)).status).toBe('PAYING');
    await waitFor('payment PAID', async () => (await paymentOf(paymentNo)).status === 'PAID');
    expect(((await paymentOf(paymentNo)).history as { to: string }[]).map((h) => h.to)).toEqual(['PAYING', 'PAID']);
  });

  it('a late "paid" notification after the payment was closed here: recorded as PAID (never lost), and refunded', async () => {
    const { paymentNo } = await startWechatPayment();
    await paymentState(running.app).apply(paymentNo, { type: 'CLOSED_CONFIRMED' });
    expect((await paymentOf(paymentNo)).status).toBe('CLOSED');
    await buyerPays(paymentNo);
    const paid = await waitFor('payment PAID', async () => {
      const p = await paymentOf(paymentNo);
      return p.status === 'PAID' && p;
    });
    // Not a success for the order (it closed): the money goes back, by a refund made in the same transaction.
    expect(paid.refunds).toEqual([
      expect.objectContaining({ kind: 'LATE_PAYMENT', amountFen: 2500, status: 'REFUNDING' }),
    ]);
    const [events] = await db.query('SELECT type FROM outbox_events WHERE payment_no = ? ORDER BY id', [paymentNo]);
    expect(events).toEqual([{ type: 'payment.closed' }, { type: 'payment.refund_started' }]);
    await probe.take(partnerQueue(WATCHER.name), 2);
  });

  it('a forged notification is refused the WeChat way and pays nothing; the vendor keeps resending', async () => {
    const { paymentNo } = await startWechatPayment();
    await http('POST', `${sandboxUrl}/sandbox/faults`, { outTradeNo: paymentNo, badSignature: true });
    await buyerPays(paymentNo);
    const trade = await waitFor('three refused sends', async () => {
      const t = (await http('GET', `${sandboxUrl}/sandbox/wechat/trades/${paymentNo}`)).body;
      return t.notifications.length >= 3 && t;
    });
    expect(trade.notifications.every((n: { status: number }) => n.status === 400)).toBe(true);
    expect((await paymentOf(paymentNo)).status).toBe('PAYING');
    const refused = { channel: 'wechat', reason: 'signature' };
    expect(await metricValue(running.app, REFUSED, refused)).toBeGreaterThanOrEqual(3);
  });

  it('a genuine notification with the wrong amount puts the payment in review, never PAID', async () => {
    const { paymentNo, payment } = await startWechatPayment();
    await http('POST', `${sandboxUrl}/sandbox/faults`, {
      outTradeNo: paymentNo,
      wrongAmountFen: payment.amountFen - 100,
    });
    await buyerPays(paymentNo);
    const reviewed = await waitFor('NEEDS_REVIEW', async () => {
      const p = await paymentOf(paymentNo);
      return p.status === 'NEEDS_REVIEW' && p;
    });
    expect(reviewed.statusReason).toContain(`${payment.amountFen - 100} fen paid`);
    const [event] = await probe.take(partnerQueue(WATCHER.name), 1);
    expect(event.properties.type).toBe('payment.needs_review');
  });

  it('a notification whose timestamp is more than 5 minutes off is refused', async () => {
    const { paymentNo } = await startWechatPayment();
    clock.advance(6 * 60 * 1000);
    try {
      await buyerPays(paymentNo);
      await waitFor('a refused send', async () => {
        const t = (await http('GET', `${sandboxUrl}/sandbox/wechat/trades/${paymentNo}`)).body;
        return t.notifications.length >= 1 && t;
      });
      const refused = { channel: 'wechat', reason: 'timestamp' };
      expect(await metricValue(running.app, REFUSED, refused)).toBeGreaterThanOrEqual(1);
      expect((await paymentOf(paymentNo)).status).toBe('PAYING');
    } finally {
      clock.advance(-6 * 60 * 1000);
    }
  });

  it('a vendor that times out on create leaves the payment PAYING (unknown), never FAILED', async () => {
    await http('POST', `${sandboxUrl}/sandbox/faults`, { apiDelayMs: 1500 });
    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId('wx-timeout')))).body;
    const response = await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' });
    expect(response.status).toBe(503);
    expect((await paymentOf(response.body.details.paymentNo)).status).toBe('PAYING');
  });

  it('query and close speak to the sandbox: not paid → paid; close of a paid trade answers paid', async () => {
    const { paymentNo } = await startWechatPayment();
    const gateway = new WechatPayGateway(settings);
    expect(await gateway.query(paymentNo)).toEqual({ kind: 'not_paid' });
    expect(await gateway.query('P00000000000000000000000000000')).toEqual({ kind: 'not_paid' });
    await http('POST', `${sandboxUrl}/sandbox/faults`, { outTradeNo: paymentNo, dropNotifications: true });
    await buyerPays(paymentNo);
    expect(await gateway.query(paymentNo)).toMatchObject({ kind: 'paid', paidAmountFen: 2500 });
    expect(await gateway.close({ paymentNo, expiresAt: new Date() })).toEqual({ kind: 'paid' });
    await http('POST', `${sandboxUrl}/sandbox/faults`, { apiError: true });
    expect(await gateway.query(paymentNo)).toMatchObject({ kind: 'unknown' });
  });

  it('refunds a paid trade in full or in parts, never more than was paid; queries the refund', async () => {
    const { paymentNo } = await startWechatPayment();
    await http('POST', `${sandboxUrl}/sandbox/faults`, { outTradeNo: paymentNo, dropNotifications: true });
    const gateway = new WechatPayGateway(settings);
    const refundNo = (n: number) => `R${paymentNo.slice(1)}${n}`;
    const unpaid = await gateway.refund({
      paymentNo,
      refundNo: refundNo(0),
      gatewayTradeNo: '',
      totalFen: 2500,
      refundFen: 100,
      reason: 'x',
    });
    expect(unpaid).toMatchObject({ kind: 'rejected', code: 'TRADE_ERROR' });
    await buyerPays(paymentNo);
    const part = {
      paymentNo,
      refundNo: refundNo(1),
      gatewayTradeNo: '',
      totalFen: 2500,
      refundFen: 1000,
      reason: 'one item returned',
    };
    expect(await gateway.refund(part)).toMatchObject({
      kind: 'succeeded',
      gatewayRefundNo: expect.stringMatching(/^5030/),
    });
    expect(await gateway.refund(part)).toMatchObject({ kind: 'succeeded' }); // same out_refund_no: the same refund
    expect(await gateway.refund({ ...part, refundNo: refundNo(2), refundFen: 1501 })).toMatchObject({
      kind: 'rejected',
      code: 'INVALID_REQUEST',
    });
    expect(await gateway.queryRefund({ paymentNo, refundNo: refundNo(1) })).toMatchObject({ kind: 'succeeded' });
    expect(await gateway.queryRefund({ paymentNo, refundNo: refundNo(9) })).toEqual({ kind: 'not_found' });
    const trade = (await http('GET', `${sandboxUrl}/sandbox/wechat/trades/${paymentNo}`)).body;
    expect(trade.refunds.map((r: { amountFen: number }) => r.amountFen)).toEqual([1000]);
  });

  it('a genuine WeChat notification naming a payment of another channel is refused; an unknown one is kept as an orphan', async () => {
    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId('wx-other')))).body;
    const alipayPayment = (await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel: 'alipay' })).body;
    const send = (outTradeNo: string) => notifyAsVendor(outTradeNo, uniqueId('4200'), 2500);
    expect((await send(alipayPayment.paymentNo)).status).toBe(400);
    expect((await paymentOf(alipayPayment.paymentNo)).status).toBe('PAYING');
    // Acknowledged (resending would not help) and stored for an operator: test/security-intake.e2e-spec.ts.
    const unknown = `P2026112500000000${Date.now()}`.slice(0, 29);
    expect((await send(unknown)).status).toBe(204);
    expect((await paymentOf(unknown)).code).toBe('PAYMENT_NOT_FOUND');
  });

  it('platform key migration: answers signed by an old certificate verify only where that serial is configured', async () => {
    const { paymentNo } = await startWechatPayment();
    await http('POST', `${sandboxUrl}/sandbox/faults`, { legacyPlatformCertificate: true });
    const migrating = new WechatPayGateway({
      ...settings,
      platformKeys: new Map([
        ...settings.platformKeys,
        [vendor.wechat.legacyCertificateSerial, vendor.wechat.legacyCertificatePublicKey],
      ]),
    });
    expect(await migrating.query(paymentNo)).toEqual({ kind: 'not_paid' });
    expect(await new WechatPayGateway(settings).query(paymentNo)).toMatchObject({
      kind: 'unknown',
      reason: expect.stringContaining(`unknown platform key ${vendor.wechat.legacyCertificateSerial}`),
    });
    // The running app knows only the PUB_KEY_ID key: a notification signed by the old certificate is refused.
    await buyerPays(paymentNo);
    await waitFor('a refused send', async () => (await tradeOf(paymentNo)).notifications.length >= 1);
    expect((await tradeOf(paymentNo)).notifications[0].status).toBe(400);
    expect((await paymentOf(paymentNo)).status).toBe('PAYING');
    await http('POST', `${sandboxUrl}/sandbox/faults`, {});
    expect(await migrating.query(paymentNo)).toMatchObject({ kind: 'paid' }); // the new key id verifies too
  });

  it('notifications delayed, then delivered in reverse order: every payment PAID once', () =>
    expectDelayedReversedNotificationsApplyOnce({
      sandboxUrl,
      startPayment: startWechatPayment,
      buyerPays,
      paymentOf,
    }));
});
