import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { miniProgramAppIdOf, mobileAppIdOf } from '../sandbox/wechat/wechat-sandbox-vendor';
import { notifyUrlOf, DEFAULT_ACCOUNT } from '../src/gateways/accounts/account-gateway';
import type { AppConfig } from '../src/config/app-config';
import type { PaymentGateway } from '../src/gateways/payment-gateway';
import { WechatPayGateway } from '../src/gateways/wechat/wechat-pay.gateway';
import { loadKey, wechatSandboxMeta } from '../src/gateways/wire/sandbox-key-set';
import {
  authorizationHeader,
  newNonce,
  requestMessage,
  rsaSign,
  toBeijingRfc3339,
} from '../src/gateways/wire/wechatpay.protocol';
import { sqlPool } from './support/database';
import { freePort, type RunningSandbox, sandboxGateways, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, startApp, uniqueId } from './support/test-app';
import { waitFor } from './support/amqp';

/** An independent implementation of WeChat's signatures: the test checks ours with it, not with our own code. */
const plugin = createRequire(join(process.cwd(), 'package.json'))('wechatpay-axios-plugin') as {
  Rsa: { verify(message: string, signature: string, key: KeyObject): boolean };
  Formatter: { joinedByLineFeed(...pieces: string[]): string };
};

interface AppCredential {
  type: 'wechat_app';
  appId: string;
  partnerId: string;
  prepayId: string;
  package: string;
  nonceStr: string;
  timeStamp: string;
  sign: string;
}

/**
 * WeChat APP payments (the merchant's own native app) end to end against the sandbox: the APP order under the
 * merchant's mobile app, the `wechat_app` parameters its app hands WeChat's SDK, their `sign` checked by an
 * independent implementation, the sandbox's SDK client paying only what is signed right, and the payment PAID
 * with its event. Without a mobile app, or under an app that is not one of the merchant's, nothing is written.
 */
describe('WeChat APP payments (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  /** The same merchant on an app configured with no mobile app. */
  let withoutMobileApp: RunningApp;
  const db = sqlPool();

  beforeAll(async () => {
    sandbox = await startSandbox();
    running = await startAppOnSandbox(sandbox);
    const port = await freePort();
    const gateways = sandboxGateways(sandbox, port).map((gateway) =>
      gateway.channel === 'wechat' ? wechatWithoutMobileApp(sandbox, port) : gateway,
    );
    withoutMobileApp = await startApp(gateways, undefined, {}, port);
  });

  afterAll(async () => {
    await withoutMobileApp.close();
    await running.close();
    await sandbox.app.close();
    await db.end();
  });

  const mobileApp = () => mobileAppIdOf(sandbox.settings.wechat.appid);
  const newOrder = async (on: RunningApp) =>
    (await http('POST', `${on.url}/api/orders`, orderBody(uniqueId('app')))).body.orderNo as string;
  const pay = (on: RunningApp, orderNo: string, body: Record<string, unknown>) =>
    http('POST', `${on.url}/api/orders/${orderNo}/pay`, body);
  const sdkPays = (call: object) => http('POST', `${sandbox.url}/sandbox/wechat/app/pay`, call);
  const payment = (paymentNo: string) => http('GET', `${running.url}/api/payments/${paymentNo}`);
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

  it('the PayReq is signed by the merchant, a tampered one pays nothing, the right one pays: PAID', async () => {
    const orderNo = await newOrder(running);
    const answer = await pay(running, orderNo, { channel: 'wechat', mode: 'app' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ mode: 'app', status: 'PAYING' });
    const credential = answer.body.payCredential as AppCredential;
    expect(credential).toEqual({
      type: 'wechat_app',
      appId: mobileApp(),
      partnerId: sandbox.settings.wechat.mchid,
      prepayId: expect.stringMatching(/^wx[0-9a-f]{32}$/),
      package: 'Sign=WXPay',
      nonceStr: expect.stringMatching(/^[0-9A-Za-z]{1,32}$/),
      timeStamp: expect.stringMatching(/^\d{10}$/),
      sign: expect.any(String),
    });
    expect(Math.abs(Number(credential.timeStamp) - Date.now() / 1000)).toBeLessThan(60);

    // The independent check: the plugin's four lines over appid, timestamp, noncestr and the bare prepayid.
    const message = plugin.Formatter.joinedByLineFeed(
      credential.appId,
      credential.timeStamp,
      credential.nonceStr,
      credential.prepayId,
    );
    const merchantKey = sandbox.settings.wechat.merchantPublicKey;
    expect(plugin.Rsa.verify(message, credential.sign, merchantKey)).toBe(true);
    const jsapiForm = plugin.Formatter.joinedByLineFeed(
      credential.appId,
      credential.timeStamp,
      credential.nonceStr,
      `prepay_id=${credential.prepayId}`,
    );
    expect(plugin.Rsa.verify(jsapiForm, credential.sign, merchantKey)).toBe(false);

    const tampered = { ...credential, sign: credential.sign.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) };
    expect((await sdkPays(tampered)).body).toEqual({ error: 'SIGN_ERROR' });
    const later = { ...credential, timeStamp: String(Number(credential.timeStamp) + 1) };
    expect((await sdkPays(later)).body).toEqual({ error: 'SIGN_ERROR' });
    expect((await sdkPays({ ...credential, package: 'prepay_id=' + credential.prepayId })).body).toEqual({
      error: 'SIGN_ERROR',
    });
    expect((await sdkPays({ ...credential, partnerId: '1900000001' })).body).toEqual({ error: 'PARTNERID_MISMATCH' });
    expect((await sdkPays({ ...credential, appId: sandbox.settings.wechat.appid })).body).toEqual({
      error: 'APPID_MISMATCH',
    });
    const paymentNo = answer.body.paymentNo as string;
    expect((await payment(paymentNo)).body.status).toBe('PAYING');
    expect((await http('GET', `${sandbox.url}/sandbox/wechat/trades/${paymentNo}`)).body).toMatchObject({
      state: 'NOTPAY',
      appid: mobileApp(),
    });

    expect((await sdkPays(credential)).status).toBe(200);
    await waitFor('payment PAID', async () => (await payment(paymentNo)).body.status === 'PAID');
    expect(await succeededEvents(paymentNo)).toBe(1);
    // Paid once: the same PayReq again pays nothing more.
    expect((await sdkPays(credential)).body).toEqual({ error: 'ORDERPAID' });
  });

  it('the same mode again while PAYING gives the same payment and the same prepay_id', async () => {
    const orderNo = await newOrder(running);
    const key = (k: string) => ({ 'Idempotency-Key': `${orderNo}-${k}` });
    const body = { channel: 'wechat', mode: 'app' };
    const first = await http('POST', `${running.url}/api/orders/${orderNo}/pay`, body, key('1'));
    const again = await http('POST', `${running.url}/api/orders/${orderNo}/pay`, body, key('2'));
    expect(again.body.paymentNo).toBe(first.body.paymentNo);
    expect(again.body.payCredential.prepayId).toBe(first.body.payCredential.prepayId);
  });

  it('without a mobile app configured: 422 naming the setting, and no payment row', async () => {
    const orderNo = await newOrder(withoutMobileApp);
    const refused = await pay(withoutMobileApp, orderNo, { channel: 'wechat', mode: 'app' });
    expect([refused.status, refused.body.code]).toEqual([422, 'PAY_MODE_UNSUPPORTED']);
    expect(refused.body.message).toContain('WECHAT_MOBILE_APP_IDS');
    expect(await paymentsOfOrder(orderNo)).toBe(0);
  });

  it.each([
    ['an app of someone else', () => 'wx0123456789abcdef'],
    [
      "the merchant's mini-program (a JSAPI app, not a mobile app)",
      () => miniProgramAppIdOf(sandbox.settings.wechat.appid),
    ],
  ])('under %s: 422, and no payment row', async (_, appId) => {
    const orderNo = await newOrder(running);
    const refused = await pay(running, orderNo, { channel: 'wechat', mode: 'app', appId: appId() });
    expect([refused.status, refused.body.code]).toEqual([422, 'PAY_MODE_UNSUPPORTED']);
    expect(refused.body.message).toContain(appId());
    expect(await paymentsOfOrder(orderNo)).toBe(0);
  });

  it('a mobile app is no in-app (JSAPI) app: 422, and no payment row', async () => {
    const orderNo = await newOrder(running);
    const refused = await pay(running, orderNo, {
      channel: 'wechat',
      mode: 'in_app',
      payerId: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      appId: mobileApp(),
    });
    expect([refused.status, refused.body.code]).toEqual([422, 'PAY_MODE_UNSUPPORTED']);
    expect(await paymentsOfOrder(orderNo)).toBe(0);
  });

  it("the sandbox's APP API takes only the merchant's mobile app, as WeChat does", async () => {
    const order = (appid: string) => ({
      appid,
      mchid: sandbox.settings.wechat.mchid,
      description: 'Tea',
      out_trade_no: uniqueId('sbx')
        .replace(/[^0-9A-Za-z_-]/g, '')
        .slice(0, 32),
      time_expire: toBeijingRfc3339(new Date(Date.now() + 600_000)),
      notify_url: 'https://pc.example/api/payments/notify/wechat',
      amount: { total: 1, currency: 'CNY' },
    });
    const official = await signedPost(sandbox, '/v3/pay/transactions/app', order(sandbox.settings.wechat.appid));
    expect([official.status, official.body.code]).toEqual([400, 'PARAM_ERROR']);
    const mobile = await signedPost(sandbox, '/v3/pay/transactions/app', order(mobileApp()));
    expect(mobile.status).toBe(200);
    expect(mobile.body.prepay_id).toMatch(/^wx[0-9a-f]{32}$/);
  });
});

/** The sandbox merchant's WeChat adapter as the factory builds it, but with no mobile app configured. */
function wechatWithoutMobileApp(sandbox: RunningSandbox, appPort: number): PaymentGateway {
  const meta = wechatSandboxMeta(sandbox.keys);
  return new WechatPayGateway({
    baseUrl: sandbox.url,
    mchid: meta.mchid,
    appid: meta.appid,
    merchantSerialNo: meta.merchantSerialNo,
    merchantPrivateKey: loadKey(sandbox.keys, 'merchantPrivate'),
    platformKeys: new Map([[meta.platformKeyId, loadKey(sandbox.keys, 'platformPublic')]]),
    apiV3Key: meta.apiV3Key,
    notifyUrl: notifyUrlOf({ publicBaseUrl: `http://127.0.0.1:${appPort}` } as AppConfig, 'wechat', DEFAULT_ACCOUNT),
    timeoutMs: 2000,
  });
}

/** A request to the sandbox's WeChat API signed as the sandbox merchant signs (the answer is not checked here). */
async function signedPost(sandbox: RunningSandbox, path: string, payload: object) {
  const body = JSON.stringify(payload);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = newNonce();
  const meta = wechatSandboxMeta(sandbox.keys);
  const signature = rsaSign(
    requestMessage('POST', path, timestamp, nonce, body),
    loadKey(sandbox.keys, 'merchantPrivate'),
  );
  const response = await fetch(`${sandbox.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: authorizationHeader({
        mchid: meta.mchid,
        nonce,
        timestamp,
        serialNo: meta.merchantSerialNo,
        signature,
      }),
    },
    body,
  });
  return { status: response.status, body: (await response.json()) as { code?: string; prepay_id?: string } };
}
