import type { INestApplication } from '@nestjs/common';
import { X509Certificate } from 'node:crypto';
import { loadKey, readPem, unionpaySandboxMeta } from '../src/gateways/wire/sandbox-key-set';
import { txnTimeOf, UnionPayGateway, type UnionPaySettings } from '../src/gateways/unionpay/unionpay.gateway';
import type { SandboxSettings } from '../sandbox/sandbox.settings';
import { newPaymentNo, newRefundNo } from '../src/common/ids';
import { certIdOf, signFields } from '../src/gateways/wire/unionpay.protocol';
import { AmqpConnection } from '../src/notifications/amqp.connection';
import { partnerQueue } from '../src/notifications/payment-event';
import { testPartners } from './support/partners';
import { AmqpProbe, waitFor } from './support/amqp';
import { expectDelayedReversedNotificationsApplyOnce } from './support/reordered';
import { startSandbox } from './support/sandbox';
import { FakeGateway } from './support/fake-gateway';
import { metricValue } from './support/metrics';
import { http, orderBody, type RunningApp, startApp, TestClock, uniqueId } from './support/test-app';

const REFUSED = 'payment_center_notification_verification_failures_total';

const ORDERS = testPartners('u')('orders');

/** UnionPay end to end: the signed front-end form posted as a browser would, the sandbox cashier, callbacks. */
describe('UnionPay through the sandbox (e2e)', () => {
  let sandbox: INestApplication;
  let sandboxUrl: string;
  let running: RunningApp;
  let settings: UnionPaySettings;
  let vendor: SandboxSettings;

  beforeAll(async () => {
    const started = await startSandbox();
    sandbox = started.app;
    sandboxUrl = started.url;
    const keys = started.keys;
    vendor = started.settings;
    settings = {
      baseUrl: sandboxUrl,
      fileUrl: `${sandboxUrl}/filedownload`,
      merId: unionpaySandboxMeta(keys).merId,
      merchantPrivateKey: loadKey(keys, 'unionpayMerchantPrivate'),
      merchantCertId: certIdOf(new X509Certificate(readPem(keys, 'unionpayMerchantCert'))),
      anchors: {
        root: new X509Certificate(readPem(keys, 'unionpayRootCert')),
        middle: new X509Certificate(readPem(keys, 'unionpayMiddleCert')),
        requireUnionPayCn: true,
      },
      notifyUrl: '',
      timeoutMs: 1000,
    };
    running = await startApp([new UnionPayGateway(settings), new FakeGateway('wechat')], new TestClock(), {
      partners: [ORDERS],
      ordersPartner: ORDERS.name,
      consumersEnabled: true,
    });
    settings.notifyUrl = `${running.url}/api/payments/notify/unionpay`;
    await running.app.get(AmqpConnection).ready();
  });

  afterAll(async () => {
    await running.close();
    await sandbox.close();
    const probe = await AmqpProbe.open();
    await probe.deleteQueues([partnerQueue(ORDERS.name)]);
    await probe.close();
  });

  beforeEach(async () => {
    await http('POST', `${sandboxUrl}/sandbox/faults`, {});
  });

  const app = (path: string) => `${running.url}${path}`;
  const paymentOf = async (paymentNo: string) => (await http('GET', app(`/api/payments/${paymentNo}`))).body;

  async function submitConsumeForm() {
    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId('up')))).body;
    const payment = (await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel: 'unionpay' })).body;
    expect(payment.payCredential).toMatchObject({ type: 'form', action: `${sandboxUrl}/gateway/api/frontTransReq.do` });
    expect(payment.payCredential.fields).toMatchObject({
      txnAmt: '2500',
      currencyCode: '156',
      orderId: payment.paymentNo,
    });
    // The buyer's browser posts the form to UnionPay and gets the cashier.
    const cashier = await fetch(payment.payCredential.action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(payment.payCredential.fields).toString(),
    });
    return {
      orderNo: order.orderNo as string,
      paymentNo: payment.paymentNo as string,
      cashierHtml: await cashier.text(),
    };
  }

  const buyerPays = (paymentNo: string) => http('POST', `${sandboxUrl}/sandbox/unionpay/trades/${paymentNo}/pay`, {});

  it('consume form → cashier → pay → notification → PAID → order PAID', async () => {
    const { orderNo, paymentNo, cashierHtml } = await submitConsumeForm();
    expect(cashierHtml).toContain('¥25.00');
    expect(cashierHtml).toContain('id="pay"');
    const gateway = new UnionPayGateway(settings);
    expect(await gateway.query(paymentNo)).toEqual({ kind: 'not_paid' });
    await buyerPays(paymentNo);
    await waitFor('payment PAID', async () => (await paymentOf(paymentNo)).status === 'PAID');
    expect(await gateway.query(paymentNo)).toMatchObject({ kind: 'paid', paidAmountFen: 2500 });
    await waitFor('order PAID', async () => (await http('GET', app(`/api/orders/${orderNo}`))).body.status === 'PAID');
  });

  it('a query for an order UnionPay never saw is "not paid yet" (respCode 34); a 5xx is unknown', async () => {
    const gateway = new UnionPayGateway(settings);
    expect(await gateway.query('P2026112500000000000000000000')).toEqual({ kind: 'not_paid' });
    await http('POST', `${sandboxUrl}/sandbox/faults`, { apiError: true });
    expect(await gateway.query('P2026112500000000000000000000')).toMatchObject({ kind: 'unknown' });
  });

  it('a notification signed with a certificate outside the configured chain is refused and pays nothing', async () => {
    const { paymentNo } = await submitConsumeForm();
    await http('POST', `${sandboxUrl}/sandbox/faults`, { outTradeNo: paymentNo, badSignature: true });
    await buyerPays(paymentNo);
    await waitFor('a refused send', async () => {
      const trade = (await http('GET', `${sandboxUrl}/sandbox/wechat/trades/${paymentNo}`)).body;
      return trade.notifications?.length >= 1;
    });
    expect((await paymentOf(paymentNo)).status).toBe('PAYING');
    const refused = { channel: 'unionpay', reason: 'signature' };
    expect(await metricValue(running.app, REFUSED, refused)).toBeGreaterThanOrEqual(1);
  });

  it('duplicated notifications (x5) apply once; a wrong amount goes to review', async () => {
    const first = await submitConsumeForm();
    await http('POST', `${sandboxUrl}/sandbox/faults`, { outTradeNo: first.paymentNo, duplicateNotifications: 5 });
    await buyerPays(first.paymentNo);
    await waitFor('payment PAID', async () => (await paymentOf(first.paymentNo)).status === 'PAID');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(
      ((await paymentOf(first.paymentNo)).history as { to: string }[]).filter((h) => h.to === 'PAID'),
    ).toHaveLength(1);

    const second = await submitConsumeForm();
    await http('POST', `${sandboxUrl}/sandbox/faults`, { outTradeNo: second.paymentNo, wrongAmountFen: 1 });
    await buyerPays(second.paymentNo);
    await waitFor('NEEDS_REVIEW', async () => (await paymentOf(second.paymentNo)).status === 'NEEDS_REVIEW');
  });

  it('notifications delayed, then delivered in reverse order: every payment PAID once', () =>
    expectDelayedReversedNotificationsApplyOnce({
      sandboxUrl,
      startPayment: submitConsumeForm,
      buyerPays,
      paymentOf,
    }));

  it('refunds through backTransReq: accepted, queried to success; the same refund number is never a second refund', async () => {
    const { paymentNo } = await submitConsumeForm();
    await buyerPays(paymentNo);
    const paid = await waitFor('payment PAID', async () => {
      const p = await paymentOf(paymentNo);
      return p.status === 'PAID' && p;
    });
    const gateway = new UnionPayGateway(settings);
    const refund = {
      paymentNo,
      refundNo: newRefundNo(new Date()),
      gatewayTradeNo: paid.gatewayTradeNo as string,
      totalFen: 2500,
      refundFen: 1000,
      reason: 'one item returned',
    };
    expect(await gateway.refund(refund)).toMatchObject({ kind: 'processing', gatewayRefundNo: expect.any(String) });
    expect(await gateway.queryRefund(refund)).toMatchObject({ kind: 'succeeded' });
    // A retry of the same refund is a duplicate at UnionPay (respCode 12): unknown, and the query decides.
    expect(await gateway.refund(refund)).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('12') });
    expect(await gateway.refund({ ...refund, refundNo: newRefundNo(new Date()), refundFen: 1501 })).toMatchObject({
      kind: 'rejected',
      code: '30',
    });
    expect(await gateway.queryRefund({ paymentNo, refundNo: newRefundNo(new Date()) })).toEqual({ kind: 'not_found' });
    const trade = (await http('GET', `${sandboxUrl}/sandbox/wechat/trades/${paymentNo}`)).body;
    expect(trade.refunds.map((r: { amountFen: number }) => r.amountFen)).toEqual([1000]);
    await http('POST', `${sandboxUrl}/sandbox/faults`, { outTradeNo: paymentNo, apiError: true });
    expect(await gateway.refund({ ...refund, refundNo: newRefundNo(new Date()) })).toMatchObject({ kind: 'unknown' });
  });

  it('a refund result notification parses as that refund; a consume notification as a payment', async () => {
    const gateway = new UnionPayGateway(settings);
    const refundNo = newRefundNo(new Date());
    const signed = (fields: Record<string, string>) => {
      const all = { ...fields, signPubKeyCert: vendor.unionpay.signCertPem };
      return Buffer.from(
        new URLSearchParams({ ...all, signature: signFields(all, vendor.unionpay.signPrivateKey) }).toString(),
      );
    };
    const base = { version: '5.1.0', encoding: 'UTF-8', signMethod: '01', bizType: '000201', merId: settings.merId };
    const fields = { ...base, txnType: '04', txnSubType: '00', orderId: refundNo, txnTime: txnTimeOf(refundNo) };
    const refunded = { ...fields, respCode: '00', queryId: '9', txnAmt: '1000', origQryId: '8' };
    expect(await gateway.parseNotification({ headers: {}, rawBody: signed(refunded) })).toEqual({
      kind: 'refund',
      refundNo,
      result: { kind: 'succeeded', gatewayRefundNo: '9' },
      facts: { refundFen: 1000, gatewayTradeNo: '8' },
    });
    // A success without the amount cannot be compared with the refund: not believed, the query decides.
    const { txnAmt: _amount, ...withoutAmount } = refunded;
    expect(await gateway.parseNotification({ headers: {}, rawBody: signed(withoutAmount) })).toMatchObject({
      kind: 'refund',
      result: { kind: 'unknown' },
    });
    await expect(
      gateway.parseNotification({
        headers: {},
        rawBody: signed({ ...fields, txnTime: '20200101000000', respCode: '00' }),
      }),
    ).rejects.toThrow(/not an order of ours/);
    await expect(
      gateway.parseNotification({ headers: {}, rawBody: signed({ ...fields, txnType: '31', respCode: '00' }) }),
    ).rejects.toThrow(/txnType 31/);
  });

  it('close waits for payTimeout: before it unknown, after it closed (and the buyer can no longer pay); paid wins', async () => {
    const gateway = new UnionPayGateway(settings);
    const paymentNo = newPaymentNo(new Date());
    const expiresAt = new Date(Date.now() + 1500);
    const created = await gateway.createPayment({
      paymentNo,
      amountFen: 300,
      currency: 'CNY',
      description: 'close test',
      expiresAt,
    });
    if (created.kind !== 'created' || created.credential.type !== 'form') throw new Error('no form');
    await fetch(created.credential.action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(created.credential.fields).toString(),
    });
    expect(await gateway.close({ paymentNo, expiresAt })).toMatchObject({ kind: 'unknown' });
    await new Promise((resolve) => setTimeout(resolve, expiresAt.getTime() - Date.now() + 1100)); // payTimeout has seconds
    expect(await gateway.close({ paymentNo, expiresAt })).toEqual({ kind: 'closed' });
    expect((await buyerPays(paymentNo)).status).toBe(409);

    const { paymentNo: paidNo } = await submitConsumeForm();
    await http('POST', `${sandboxUrl}/sandbox/faults`, { outTradeNo: paidNo, dropNotifications: true });
    await buyerPays(paidNo);
    expect(await gateway.close({ paymentNo: paidNo, expiresAt: new Date() })).toEqual({ kind: 'paid' });
  });
});
