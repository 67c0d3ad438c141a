import { createPublicKey, createVerify, type KeyObject } from 'node:crypto';
import { alipayMiniProgramAppIdOf, readPem } from '../src/gateways/wire/sandbox-key-set';
import { AlipayGateway } from '../src/gateways/alipay/alipay.gateway';
import type { CreatePaymentResult, PayWay } from '../src/gateways/gateway.types';
import type { PaymentGateway } from '../src/gateways/payment-gateway';
import { sqlPool } from './support/database';
import { type RunningSandbox, sandboxGateways, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, uniqueId } from './support/test-app';
import { waitFor } from './support/amqp';

const USER_ID = '2088102177846881';
const OPEN_ID = '074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5';

/**
 * Alipay's signature rule written out here, apart from our protocol code and from alipay-sdk (which signs the
 * requests under test): every parameter but `sign`, empty ones dropped, sorted by key, `k=v` joined by `&`,
 * RSA-SHA256 with the app's public key (Alipay's "自行实现签名" page).
 */
function verifiesAsAlipay(params: Record<string, string>, key: KeyObject): boolean {
  const content = Object.keys(params)
    .filter((name) => name !== 'sign' && params[name] !== '')
    .sort()
    .map((name) => `${name}=${params[name]}`)
    .join('&');
  return createVerify('RSA-SHA256')
    .update(content, 'utf8')
    .verify(key, params.sign ?? '', 'base64');
}

/** An order string as the Alipay app SDK reads it: `k=v` pairs, each value URI-encoded. */
function orderStringParams(orderString: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of orderString.split('&')) {
    const at = pair.indexOf('=');
    params[pair.slice(0, at)] = decodeURIComponent(pair.slice(at + 1));
  }
  return params;
}

/** One character of the amount changed: what a tampered credential would ask Alipay to take. */
function tamperAmount(text: string, encodedAmountKey: string): string {
  const at = text.indexOf(encodedAmountKey);
  expect(at).toBeGreaterThan(0);
  const digit = at + encodedAmountKey.length;
  return text.slice(0, digit) + (text[digit] === '1' ? '2' : '1') + text.slice(digit + 1);
}

/**
 * Alipay's pay modes beside the QR code, end to end against the sandbox: each credential checked by the rule above
 * with the merchant's public key, the sandbox's buyer side paying only what verifies, and the payment PAID with its
 * event. Until the buyer acts, recovery's query sees no trade and reads it as not paid. Bad input writes nothing.
 */
describe('Alipay pay modes (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  let appPublicKey: KeyObject;
  let alipay: PaymentGateway;
  const db = sqlPool();

  beforeAll(async () => {
    sandbox = await startSandbox();
    running = await startAppOnSandbox(sandbox);
    appPublicKey = createPublicKey(readPem(sandbox.keys, 'alipayAppPublic'));
    // The adapter as recovery uses it (its query), built by the app's own factory.
    alipay = sandboxGateways(sandbox, 1).find((g) => g.channel === 'alipay') as PaymentGateway;
  });

  afterAll(async () => {
    await running.close();
    await sandbox.app.close();
    await db.end();
  });

  const app = (path: string) => `${running.url}${path}`;
  const newOrder = async () =>
    (await http('POST', app('/api/orders'), orderBody(uniqueId('alimode')))).body.orderNo as string;
  const pay = (orderNo: string, body: Record<string, unknown>) => http('POST', app(`/api/orders/${orderNo}/pay`), body);
  const statusOf = async (paymentNo: string) => (await http('GET', app(`/api/payments/${paymentNo}`))).body.status;
  const paymentsOfOrder = async (orderNo: string) => {
    const [rows] = await db.query('SELECT payment_no FROM payments WHERE order_no = ?', [orderNo]);
    return (rows as unknown[]).length;
  };
  const succeededEvents = async (paymentNo: string) => {
    const [rows] = await db.query("SELECT id FROM outbox_events WHERE payment_no = ? AND type = 'payment.succeeded'", [
      paymentNo,
    ]);
    return (rows as unknown[]).length;
  };
  const expectPaid = async (paymentNo: string) => {
    await waitFor('payment PAID', async () => (await statusOf(paymentNo)) === 'PAID');
    expect(await succeededEvents(paymentNo)).toBe(1);
  };

  it.each([
    ['pc_web', 'alipay.trade.page.pay', 'FAST_INSTANT_TRADE_PAY'],
    ['mobile_web', 'alipay.trade.wap.pay', 'QUICK_WAP_WAY'],
  ])(
    "%s: a signed link to Alipay's cashier (%s), not a trade until the buyer pays; a tampered link is refused",
    async (mode, method, productCode) => {
      const orderNo = await newOrder();
      const answer = await pay(orderNo, { channel: 'alipay', mode });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ mode, status: 'PAYING', payCredential: { type: 'redirect' } });
      const paymentNo = answer.body.paymentNo as string;
      const url = answer.body.payCredential.url as string;
      expect(url.startsWith(`${sandbox.url}/gateway.do?`)).toBe(true);

      const params = Object.fromEntries(new URL(url).searchParams);
      expect(verifiesAsAlipay(params, appPublicKey)).toBe(true);
      expect(verifiesAsAlipay({ ...params, return_url: `${params.return_url}x` }, appPublicKey)).toBe(false);
      expect(params).toMatchObject({ method, app_id: sandbox.settings.alipay.appId, sign_type: 'RSA2' });
      // Our return page (on PUBLIC_BASE_URL), never the merchant's.
      expect(new URL(params.return_url).pathname).toBe(`/pay/return/${paymentNo}`);
      expect(params.notify_url).toBe(`${running.url}/api/payments/notify/alipay`);
      expect(JSON.parse(params.biz_content)).toMatchObject({
        out_trade_no: paymentNo,
        total_amount: '25.00',
        product_code: productCode,
        time_expire: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      });

      // What recovery sees before the buyer pays: Alipay has no such trade yet, which is not paid.
      expect(await alipay.query(paymentNo)).toEqual({ kind: 'not_paid' });

      const tampered = await fetch(tamperAmount(url, 'total_amount%22%3A%22'));
      expect(tampered.status).toBe(400);
      expect(await tampered.text()).toContain('isv.invalid-signature');
      expect((await http('GET', `${sandbox.url}/sandbox/trades/${paymentNo}`)).status).toBe(404);

      const page = await fetch(url);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain(paymentNo);
      expect(html.includes('device-phone')).toBe(mode === 'mobile_web');
      expect(await alipay.query(paymentNo)).toEqual({ kind: 'not_paid' });
      expect(await statusOf(paymentNo)).toBe('PAYING');

      expect((await http('POST', `${sandbox.url}/sandbox/alipay/trades/${paymentNo}/pay`, {})).status).toBe(200);
      await expectPaid(paymentNo);
      // The link again: Alipay will not take a paid trade twice.
      const again = await fetch(url);
      expect([again.status, await again.text()]).toEqual([400, expect.stringContaining('ACQ.TRADE_HAS_SUCCESS')]);
      // The cashier now links back to our return page, with Alipay's signed return parameters.
      const cashier = await (await fetch(`${sandbox.url}/sandbox/cashier/${paymentNo}`)).text();
      const back = /id="return-link" href="([^"]+)"/.exec(cashier)?.[1]?.replaceAll('&#38;', '&');
      expect(back?.startsWith(`${params.return_url}?`)).toBe(true);
      expect(new URL(back as string).searchParams.get('out_trade_no')).toBe(paymentNo);
    },
  );

  it("pc_web: the same signed request as a form POST (the SDK's other shape) opens the same cashier", async () => {
    const orderNo = await newOrder();
    const answer = await pay(orderNo, { channel: 'alipay', mode: 'pc_web' });
    const paymentNo = answer.body.paymentNo as string;
    const url = new URL(answer.body.payCredential.url as string);
    const post = (form: URLSearchParams) =>
      fetch(`${url.origin}${url.pathname}`, { method: 'POST', body: form, redirect: 'manual' });
    const form = new URLSearchParams(url.searchParams);
    form.set(
      'timestamp',
      (form.get('timestamp') ?? '').replace(/\d$/, (d) => String((Number(d) + 1) % 10)),
    );
    expect((await post(form)).status).toBe(400);
    const opened = await post(new URLSearchParams(url.searchParams));
    expect([opened.status, opened.headers.get('location')]).toEqual([303, `/sandbox/cashier/${paymentNo}`]);
  });

  it('app: the order string verifies with the merchant key; a tampered one pays nothing; the Alipay app pays it', async () => {
    const orderNo = await newOrder();
    const answer = await pay(orderNo, { channel: 'alipay', mode: 'app' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      mode: 'app',
      status: 'PAYING',
      payCredential: { type: 'alipay_order_string' },
    });
    const paymentNo = answer.body.paymentNo as string;
    const orderString = answer.body.payCredential.orderString as string;

    const params = orderStringParams(orderString);
    expect(verifiesAsAlipay(params, appPublicKey)).toBe(true);
    expect(params).toMatchObject({ method: 'alipay.trade.app.pay', app_id: sandbox.settings.alipay.appId });
    expect(JSON.parse(params.biz_content)).toMatchObject({
      out_trade_no: paymentNo,
      total_amount: '25.00',
      product_code: 'QUICK_MSECURITY_PAY',
    });
    expect(await alipay.query(paymentNo)).toEqual({ kind: 'not_paid' });

    const appPays = (text: string) => http('POST', `${sandbox.url}/sandbox/alipay/app/pay`, { orderString: text });
    const tampered = tamperAmount(orderString, 'total_amount%22%3A%22');
    expect(verifiesAsAlipay(orderStringParams(tampered), appPublicKey)).toBe(false);
    expect(await appPays(tampered)).toMatchObject({ status: 400, body: { error: 'INVALID_SIGNATURE' } });
    expect(await statusOf(paymentNo)).toBe('PAYING');

    const paid = await appPays(orderString);
    expect(paid).toMatchObject({ status: 200, body: { resultStatus: '9000', outTradeNo: paymentNo } });
    await expectPaid(paymentNo);
    expect(await appPays(orderString)).toMatchObject({ status: 409, body: { error: 'ACQ.TRADE_HAS_SUCCESS' } });
  });

  it.each([
    ['in_app', USER_ID, false],
    ['in_app', OPEN_ID, false],
    ['mini_program', USER_ID, true],
  ])(
    '%s for %s (a mini-program of the merchant: %s): a trade_no only that buyer can pay: PAID',
    async (mode, payerId, miniProgram) => {
      const orderNo = await newOrder();
      const appId = miniProgram ? alipayMiniProgramAppIdOf(sandbox.settings.alipay.appId) : undefined;
      const answer = await pay(orderNo, { channel: 'alipay', mode, payerId, ...(appId ? { appId } : {}) });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ mode, status: 'PAYING', payCredential: { type: 'alipay_trade_no' } });
      const paymentNo = answer.body.paymentNo as string;
      const tradeNo = answer.body.payCredential.tradeNo as string;
      // The trade_no is Alipay's own number of the trade it made for this payment (nothing in it to sign).
      const trade = (await http('GET', `${sandbox.url}/sandbox/trades/${paymentNo}`)).body;
      expect(trade).toMatchObject({ transactionId: tradeNo, alipayFlow: { kind: 'jsapi', buyer: payerId } });
      // Alipay knows the trade from the create on: the query sees it waiting for the buyer.
      expect(await alipay.query(paymentNo)).toEqual({ kind: 'not_paid' });

      const buyerPays = (buyerId: string) =>
        http('POST', `${sandbox.url}/sandbox/alipay/in-app/pay`, { tradeNo, buyerId });
      expect(await buyerPays('2088000000000002')).toMatchObject({ status: 400, body: { error: 'BUYER_MISMATCH' } });
      expect(await statusOf(paymentNo)).toBe('PAYING');
      expect(await buyerPays(payerId)).toMatchObject({ status: 200, body: { resultCode: '9000', tradeNo } });
      await expectPaid(paymentNo);
    },
  );

  describe('a third-party app (app_auth_token) collecting for the merchant that authorised it', () => {
    let isv: AlipayGateway;
    let merchant: { authAppId: string; sellerId: string };

    beforeAll(async () => {
      const created = await http('POST', `${sandbox.url}/sandbox/merchants`, {
        channel: 'alipay',
        kind: 'third_party',
      });
      expect(created.status).toBe(201);
      const material = created.body as Record<string, string>;
      merchant = { authAppId: material.authAppId, sellerId: material.sellerId };
      isv = new AlipayGateway({
        gatewayUrl: `${sandbox.url}/gateway.do`,
        appId: material.appId,
        appPrivateKeyPem: material.appPrivateKeyPem,
        alipayPublicKeyPem: material.alipayPublicKeyPem,
        // Nobody listens: the payment is found by the query, as recovery finds it.
        notifyUrl: 'http://127.0.0.1:9/api/payments/notify/alipay/isv',
        timeoutMs: 2000,
        appAuthToken: material.appAuthToken,
        authAppId: material.authAppId,
        miniProgramAppIds: [alipayMiniProgramAppIdOf(material.authAppId)],
      });
    });

    const create = (paymentNo: string, way: PayWay) =>
      isv.createPayment({
        paymentNo,
        amountFen: 1999,
        currency: 'CNY',
        description: 'Tea',
        expiresAt: new Date(Date.now() + 10 * 60_000),
        way,
      });
    const credentialOf = (result: CreatePaymentResult) => {
      if (result.kind !== 'created') throw new Error(`not created: ${JSON.stringify(result)}`);
      return result.credential;
    };
    const expectTheMerchants = async (paymentNo: string) => {
      expect(await isv.query(paymentNo)).toMatchObject({ kind: 'paid', paidAmountFen: 1999 });
      const trade = (await http('GET', `${sandbox.url}/sandbox/trades/${paymentNo}`)).body;
      expect(trade.alipay).toEqual(merchant);
    };

    it('pc_web: the link carries app_auth_token and opens the cashier for that merchant', async () => {
      const paymentNo = `P${uniqueId('isv').replace(/\W/g, '')}`;
      const credential = credentialOf(await create(paymentNo, { mode: 'pc_web', returnUrl: 'https://pc.example/r' }));
      if (credential.type !== 'redirect') throw new Error(credential.type);
      expect(new URL(credential.url).searchParams.get('app_auth_token')).toBeTruthy();
      expect((await fetch(credential.url)).status).toBe(200);
      expect(await isv.query(paymentNo)).toEqual({ kind: 'not_paid' });
      expect((await http('POST', `${sandbox.url}/sandbox/alipay/trades/${paymentNo}/pay`, {})).status).toBe(200);
      await expectTheMerchants(paymentNo);
    });

    it('app: the order string pays for that merchant', async () => {
      const paymentNo = `P${uniqueId('isv').replace(/\W/g, '')}`;
      const credential = credentialOf(await create(paymentNo, { mode: 'app' }));
      if (credential.type !== 'alipay_order_string') throw new Error(credential.type);
      const paid = await http('POST', `${sandbox.url}/sandbox/alipay/app/pay`, { orderString: credential.orderString });
      expect(paid.status).toBe(200);
      await expectTheMerchants(paymentNo);
    });

    it("mini_program: the merchant's mini-program as op_app_id, paid by that buyer", async () => {
      const paymentNo = `P${uniqueId('isv').replace(/\W/g, '')}`;
      const appId = alipayMiniProgramAppIdOf(merchant.authAppId);
      const credential = credentialOf(await create(paymentNo, { mode: 'mini_program', payerId: USER_ID, appId }));
      if (credential.type !== 'alipay_trade_no') throw new Error(credential.type);
      const paid = await http('POST', `${sandbox.url}/sandbox/alipay/in-app/pay`, {
        tradeNo: credential.tradeNo,
        buyerId: USER_ID,
      });
      expect(paid.status).toBe(200);
      await expectTheMerchants(paymentNo);
    });
  });

  it('bad input is 400 naming the field, or 422 for an app not the merchant’s, and writes nothing', async () => {
    const orderNo = await newOrder();
    for (const [body, field] of [
      [{ channel: 'alipay', mode: 'in_app' }, 'payerId'],
      [{ channel: 'alipay', mode: 'in_app', payerId: '1234567890123456' }, 'payerId'],
      [{ channel: 'alipay', mode: 'mini_program', payerId: '2088-1021-7784-68' }, 'payerId'],
      [{ channel: 'alipay', mode: 'mini_program', payerId: USER_ID, appId: 'wx0123456789abcdef' }, 'appId'],
    ] as [Record<string, unknown>, string][]) {
      const refused = await pay(orderNo, body);
      expect([refused.status, refused.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(JSON.stringify(refused.body.details)).toContain(field);
    }
    for (const body of [
      { channel: 'alipay', mode: 'mini_program', payerId: USER_ID, appId: '2021000000000999' },
      { channel: 'alipay', mode: 'app', appId: alipayMiniProgramAppIdOf(sandbox.settings.alipay.appId) },
    ]) {
      const refused = await pay(orderNo, body);
      expect([refused.status, refused.body.code]).toEqual([422, 'PAY_MODE_UNSUPPORTED']);
    }
    expect(await paymentsOfOrder(orderNo)).toBe(0);
  });
});
