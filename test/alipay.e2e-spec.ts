import type { INestApplication } from '@nestjs/common';
import { AlipaySdk } from 'alipay-sdk';
import type { Pool } from 'mysql2/promise';
import { newPaymentNo } from '../src/common/ids';
import { AlipayGateway, type AlipaySettings } from '../src/gateways/alipay/alipay.gateway';
import { alipaySignContent, rsa2Sign } from '../src/gateways/wire/alipay.protocol';
import { alipaySandboxMeta, loadKey, readPem } from '../src/gateways/wire/sandbox-key-set';
import { AmqpConnection } from '../src/notifications/amqp.connection';
import { partnerQueue } from '../src/notifications/payment-event';
import { testPartners } from './support/partners';
import { AmqpProbe, waitFor } from './support/amqp';
import { expectDelayedReversedNotificationsApplyOnce } from './support/reordered';
import { startSandbox } from './support/sandbox';
import { sqlPool } from './support/database';
import { FakeGateway } from './support/fake-gateway';
import { metricValue } from './support/metrics';
import { http, orderBody, type RunningApp, startApp, TestClock, uniqueId } from './support/test-app';

const REFUSED = 'payment_center_notification_verification_failures_total';

const partner = testPartners('a');
const WATCHER = partner('watcher');
const ORDERS = partner('orders');

/** Alipay end to end over real HTTP: our provider (alipay-sdk) ⇄ the sandbox's gateway.do, callbacks into the app. */
describe('Alipay through the sandbox (e2e)', () => {
  let sandbox: INestApplication;
  let sandboxUrl: string;
  let running: RunningApp;
  let settings: AlipaySettings;
  let keys: string;
  let db: Pool;
  let probe: AmqpProbe;

  beforeAll(async () => {
    const started = await startSandbox();
    sandbox = started.app;
    sandboxUrl = started.url;
    keys = started.keys;
    settings = {
      gatewayUrl: `${sandboxUrl}/gateway.do`,
      appId: alipaySandboxMeta(keys).appId,
      appPrivateKeyPem: readPem(keys, 'alipayAppPrivate'),
      alipayPublicKeyPem: readPem(keys, 'alipayPlatformPublic'),
      notifyUrl: '',
      timeoutMs: 1000,
    };
    running = await startApp([new AlipayGateway(settings), new FakeGateway('wechat')], new TestClock(), {
      partners: [WATCHER, ORDERS],
      ordersPartner: ORDERS.name,
      consumersEnabled: true,
      gateways: { timeoutMs: 1000 },
    });
    settings.notifyUrl = `${running.url}/api/payments/notify/alipay`;
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
    await probe.channel.purgeQueue(partnerQueue(WATCHER.name)).catch(() => undefined);
  });

  const app = (path: string) => `${running.url}${path}`;
  const paymentOf = async (paymentNo: string) => (await http('GET', app(`/api/payments/${paymentNo}`))).body;
  const buyerPays = (paymentNo: string) => http('POST', `${sandboxUrl}/sandbox/alipay/trades/${paymentNo}/pay`, {});
  const tradeOf = async (paymentNo: string) =>
    (await http('GET', `${sandboxUrl}/sandbox/wechat/trades/${paymentNo}`)).body;

  async function startAlipayPayment() {
    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId('ali')))).body;
    const payment = await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel: 'alipay' });
    expect(payment.status).toBe(200);
    return { orderNo: order.orderNo as string, paymentNo: payment.body.paymentNo as string, payment: payment.body };
  }

  it('precreate → buyer pays → notification answered `success` → PAID → event → order PAID', async () => {
    const { orderNo, paymentNo, payment } = await startAlipayPayment();
    expect(payment.payCredential).toEqual({ type: 'code_url', codeUrl: `https://qr.alipay.com/sandbox${paymentNo}` });
    await buyerPays(paymentNo);
    const paid = await waitFor('payment PAID', async () => {
      const p = await paymentOf(paymentNo);
      return p.status === 'PAID' && p;
    });
    expect(paid.paidAmountFen).toBe(2500);
    const [event] = await probe.take(partnerQueue(WATCHER.name), 1);
    expect(event.properties.type).toBe('payment.succeeded');
    await waitFor('order PAID', async () => (await http('GET', app(`/api/orders/${orderNo}`))).body.status === 'PAID');
    expect((await tradeOf(paymentNo)).notifications).toEqual([
      expect.objectContaining({ attempt: 1, status: 200, reply: 'success' }),
    ]);
  });

  it('query answers not paid before the buyer scans (ACQ.TRADE_NOT_EXIST), paid after', async () => {
    const { paymentNo } = await startAlipayPayment();
    const gateway = new AlipayGateway(settings);
    expect(await gateway.query(paymentNo)).toEqual({ kind: 'not_paid' });
    await http('POST', `${sandboxUrl}/sandbox/faults`, { outTradeNo: paymentNo, dropNotifications: true });
    await buyerPays(paymentNo);
    expect(await gateway.query(paymentNo)).toMatchObject({ kind: 'paid', paidAmountFen: 2500 });
    expect(await gateway.close({ paymentNo, expiresAt: new Date() })).toEqual({ kind: 'paid' });
    await http('POST', `${sandboxUrl}/sandbox/faults`, { apiError: true });
    expect(await gateway.query(paymentNo)).toMatchObject({ kind: 'unknown' });
  });

  it('close: a QR code never scanned is "not there" — unknown before its expiry, closed after; the buyer cannot pay it', async () => {
    const gateway = new AlipayGateway(settings);
    const paymentNo = newPaymentNo(new Date());
    const expiresAt = new Date(Date.now() + 1500);
    const created = await gateway.createPayment({
      paymentNo,
      amountFen: 300,
      currency: 'CNY',
      description: 'close test',
      expiresAt,
    });
    expect(created.kind).toBe('created');
    expect(await gateway.close({ paymentNo, expiresAt })).toMatchObject({
      kind: 'unknown',
      reason: expect.stringContaining('ACQ.TRADE_NOT_EXIST'),
    });
    // time_expire is whole seconds: past it, the sandbox (like Alipay) refuses the scan.
    await new Promise((resolve) => setTimeout(resolve, expiresAt.getTime() - Date.now() + 1100));
    expect((await buyerPays(paymentNo)).status).toBe(409);
    // Asked once the expiry is more than the clock-skew margin behind us, "not there" is a confirmed close.
    const pastExpiry = new Date(Date.now() - 61_000);
    expect(await gateway.close({ paymentNo, expiresAt: pastExpiry })).toEqual({ kind: 'closed' });
  });

  it('duplicated notifications (x5) apply once', async () => {
    const { paymentNo } = await startAlipayPayment();
    await http('POST', `${sandboxUrl}/sandbox/faults`, { outTradeNo: paymentNo, duplicateNotifications: 5 });
    await buyerPays(paymentNo);
    await waitFor('payment PAID', async () => (await paymentOf(paymentNo)).status === 'PAID');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(((await paymentOf(paymentNo)).history as { to: string }[]).filter((h) => h.to === 'PAID')).toHaveLength(1);
    const [events] = await db.query('SELECT event_id FROM outbox_events WHERE payment_no = ?', [paymentNo]);
    expect(events).toHaveLength(1);
  });

  it('notifications delayed, then delivered in reverse order: every payment PAID once', () =>
    expectDelayedReversedNotificationsApplyOnce({
      sandboxUrl,
      startPayment: startAlipayPayment,
      buyerPays,
      paymentOf,
    }));

  it('a forged notification is refused (not `success`, so Alipay resends) and pays nothing', async () => {
    const { paymentNo } = await startAlipayPayment();
    await http('POST', `${sandboxUrl}/sandbox/faults`, { outTradeNo: paymentNo, badSignature: true });
    await buyerPays(paymentNo);
    const trade = await waitFor('two refused sends', async () => {
      const t = await tradeOf(paymentNo);
      return t.notifications.length >= 2 && t;
    });
    expect(trade.notifications.every((n: { reply: string }) => n.reply === 'fail')).toBe(true);
    expect((await paymentOf(paymentNo)).status).toBe('PAYING');
    const refused = { channel: 'alipay', reason: 'signature' };
    expect(await metricValue(running.app, REFUSED, refused)).toBeGreaterThanOrEqual(2);
  });

  it('a genuine notification with the wrong amount goes to review, never PAID', async () => {
    const { paymentNo } = await startAlipayPayment();
    await http('POST', `${sandboxUrl}/sandbox/faults`, { outTradeNo: paymentNo, wrongAmountFen: 1 });
    await buyerPays(paymentNo);
    await waitFor('NEEDS_REVIEW', async () => (await paymentOf(paymentNo)).status === 'NEEDS_REVIEW');
  });

  it('a notification for another app id is refused', async () => {
    const { paymentNo } = await startAlipayPayment();
    const fields: Record<string, string> = {
      app_id: '2021000000000000',
      out_trade_no: paymentNo,
      trade_no: '2026000',
      trade_status: 'TRADE_SUCCESS',
      total_amount: '25.00',
      notify_id: 'x',
      sign_type: 'RSA2',
    };
    fields.sign = rsa2Sign(alipaySignContent(fields, ['sign', 'sign_type']), loadKey(keys, 'alipayPlatformPrivate'));
    const response = await fetch(app('/api/payments/notify/alipay'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    expect(await response.text()).toBe('fail');
    expect((await paymentOf(paymentNo)).status).toBe('PAYING');
  });

  it("sandbox notifications verify with alipay-sdk's own checks; a tampered one does not", () => {
    const sdk = new AlipaySdk({
      appId: settings.appId,
      privateKey: settings.appPrivateKeyPem,
      keyType: 'PKCS8',
      alipayPublicKey: settings.alipayPublicKeyPem,
    });
    const fields: Record<string, string> = {
      app_id: settings.appId,
      out_trade_no: 'P1',
      trade_status: 'TRADE_SUCCESS',
      total_amount: '25.00',
      subject: '龙井 100%',
      sign_type: 'RSA2',
    };
    fields.sign = rsa2Sign(alipaySignContent(fields, ['sign', 'sign_type']), loadKey(keys, 'alipayPlatformPrivate'));
    expect(sdk.checkNotifySignV2({ ...fields })).toBe(true);
    expect(sdk.checkNotifySignV2({ ...fields, total_amount: '0.01' })).toBe(false);
  });

  it('refunds a paid trade (same out_request_no = the same refund), refuses more than was paid, queries it', async () => {
    const { paymentNo } = await startAlipayPayment();
    await http('POST', `${sandboxUrl}/sandbox/faults`, { outTradeNo: paymentNo, dropNotifications: true });
    await buyerPays(paymentNo);
    const gateway = new AlipayGateway(settings);
    const refund = {
      paymentNo,
      refundNo: `R${paymentNo.slice(1)}1`,
      gatewayTradeNo: '',
      totalFen: 2500,
      refundFen: 1999,
      reason: 'returned',
    };
    expect(await gateway.refund(refund)).toMatchObject({ kind: 'succeeded' });
    expect(await gateway.refund(refund)).toMatchObject({ kind: 'succeeded' });
    expect(await gateway.refund({ ...refund, refundNo: `R${paymentNo.slice(1)}2`, refundFen: 502 })).toMatchObject({
      kind: 'rejected',
    });
    expect(await gateway.queryRefund(refund)).toMatchObject({ kind: 'succeeded' });
    expect(await gateway.queryRefund({ paymentNo, refundNo: 'R404' })).toEqual({ kind: 'not_found' });
    const trade = await tradeOf(paymentNo);
    expect(trade.refunds.map((r: { amountFen: number }) => r.amountFen)).toEqual([1999]);
  });

  it('40004 ACQ.SYSTEM_ERROR on create is unknown: the payment stays PAYING, never FAILED', async () => {
    await http('POST', `${sandboxUrl}/sandbox/faults`, { systemError: true });
    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId('ali-syserr')))).body;
    const response = await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel: 'alipay' });
    expect(response.status).toBe(503);
    expect((await paymentOf(response.body.details.paymentNo)).status).toBe('PAYING');
  });
});
