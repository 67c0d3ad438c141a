import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { miniProgramAppIdOf } from '../sandbox/wechat/wechat-sandbox-vendor';
import { sqlPool } from './support/database';
import { type RunningSandbox, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, uniqueId } from './support/test-app';
import { waitFor } from './support/amqp';

/** An independent implementation of WeChat's signatures: the test checks ours with it, not with our own code. */
const plugin = createRequire(join(process.cwd(), 'package.json'))('wechatpay-axios-plugin') as {
  Rsa: { verify(message: string, signature: string, key: KeyObject): boolean };
  Formatter: { joinedByLineFeed(...pieces: string[]): string };
};

interface JsapiCredential {
  type: 'wechat_jsapi';
  appId: string;
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: string;
  paySign: string;
}

const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';

/**
 * WeChat in-app payments (an official-account page, a mini-program) end to end against the sandbox: the order,
 * the `wechat_jsapi` parameters the buyer's page hands WeChat, their `paySign` checked by an independent
 * implementation, the sandbox's buyer client paying only what is signed right, and the payment PAID with its
 * event. Bad input is refused before anything is written.
 */
describe('WeChat in-app payments (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  const db = sqlPool();

  beforeAll(async () => {
    sandbox = await startSandbox();
    running = await startAppOnSandbox(sandbox);
  });

  afterAll(async () => {
    await running.close();
    await sandbox.app.close();
    await db.end();
  });

  const app = (path: string) => `${running.url}${path}`;
  const newOrder = async () =>
    (await http('POST', app('/api/orders'), orderBody(uniqueId('inapp')))).body.orderNo as string;
  const pay = (orderNo: string, body: Record<string, unknown>) => http('POST', app(`/api/orders/${orderNo}/pay`), body);
  const buyerPays = (call: Record<string, unknown>) => http('POST', `${sandbox.url}/sandbox/wechat/in-app/pay`, call);
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

  function expectSignedByTheMerchant(credential: JsapiCredential) {
    const message = plugin.Formatter.joinedByLineFeed(
      credential.appId,
      credential.timeStamp,
      credential.nonceStr,
      credential.package,
    );
    expect(message).toBe(
      `${credential.appId}\n${credential.timeStamp}\n${credential.nonceStr}\n${credential.package}\n`,
    );
    expect(plugin.Rsa.verify(message, credential.paySign, sandbox.settings.wechat.merchantPublicKey)).toBe(true);
    // A signature over anything else does not verify: the check can fail.
    expect(
      plugin.Rsa.verify(
        message.replace('prepay_id', 'prepay_iD'),
        credential.paySign,
        sandbox.settings.wechat.merchantPublicKey,
      ),
    ).toBe(false);
  }

  it.each([
    ['in_app', undefined],
    ['mini_program', 'mini'],
  ])(
    '%s: the credential is signed by the merchant, a forged one pays nothing, the right one pays: PAID',
    async (mode, app) => {
      const orderNo = await newOrder();
      const appId = app ? miniProgramAppIdOf(sandbox.settings.wechat.appid) : undefined;
      const answer = await pay(orderNo, { channel: 'wechat', mode, payerId: OPENID, ...(appId ? { appId } : {}) });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ mode, status: 'PAYING' });
      const credential = answer.body.payCredential as JsapiCredential;
      expect(credential).toMatchObject({
        type: 'wechat_jsapi',
        appId: appId ?? sandbox.settings.wechat.appid,
        signType: 'RSA',
        package: expect.stringMatching(/^prepay_id=wx[0-9a-f]{32}$/),
        timeStamp: expect.stringMatching(/^\d{10}$/),
      });
      expect(Math.abs(Number(credential.timeStamp) - Date.now() / 1000)).toBeLessThan(60);
      expectSignedByTheMerchant(credential);

      const forged = { ...credential, paySign: credential.paySign.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) };
      expect((await buyerPays({ ...forged, openid: OPENID })).body).toEqual({ error: 'SIGN_ERROR' });
      expect((await buyerPays({ ...credential, openid: 'oAnotherBuyer000000000000000' })).body).toEqual({
        error: 'PAYER_MISMATCH',
      });
      expect(
        (await buyerPays({ ...credential, timeStamp: String(Number(credential.timeStamp) + 1), openid: OPENID })).body,
      ).toEqual({
        error: 'SIGN_ERROR',
      });
      const paymentNo = answer.body.paymentNo as string;
      expect((await http('GET', app_(paymentNo))).body.status).toBe('PAYING');

      expect((await buyerPays({ ...credential, openid: OPENID })).status).toBe(200);
      await waitFor('payment PAID', async () => (await http('GET', app_(paymentNo))).body.status === 'PAID');
      expect(await succeededEvents(paymentNo)).toBe(1);
    },
  );

  const app_ = (paymentNo: string) => app(`/api/payments/${paymentNo}`);

  it("mobile_web (H5): a redirect to WeChat's page for the buyer's browser; paid there: PAID", async () => {
    const orderNo = await newOrder();
    const answer = await pay(orderNo, { channel: 'wechat', mode: 'mobile_web', clientIp: '203.0.113.7' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ mode: 'mobile_web', status: 'PAYING', payCredential: { type: 'redirect' } });
    const paymentNo = answer.body.paymentNo as string;
    const page = await fetch(answer.body.payCredential.url as string);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(paymentNo);
    expect((await http('POST', `${sandbox.url}/sandbox/wechat/trades/${paymentNo}/pay`, {})).status).toBe(200);
    await waitFor('payment PAID', async () => (await http('GET', app_(paymentNo))).body.status === 'PAID');
    expect(await succeededEvents(paymentNo)).toBe(1);
  });

  it('the same mode again while PAYING gives the same payment; the QR code is another payment', async () => {
    const orderNo = await newOrder();
    // Each its own request (distinct keys), not a replay of the first by the duplicate-submission guard.
    const key = (k: string) => ({ 'Idempotency-Key': `${orderNo}-${k}` });
    const body = { channel: 'wechat', mode: 'in_app', payerId: OPENID };
    const first = await http('POST', app(`/api/orders/${orderNo}/pay`), body, key('1'));
    const again = await http('POST', app(`/api/orders/${orderNo}/pay`), body, key('2'));
    expect(again.body.paymentNo).toBe(first.body.paymentNo);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    const qr = await http('POST', app(`/api/orders/${orderNo}/pay`), { channel: 'wechat' }, key('3'));
    expect(qr.body.paymentNo).not.toBe(first.body.paymentNo);
    expect(qr.body.payCredential.type).toBe('code_url');
  });

  it('bad input is 400 (or 422 for a mode the channel does not offer) and writes nothing', async () => {
    const orderNo = await newOrder();
    for (const [body, field] of [
      [{ channel: 'wechat', mode: 'in_app' }, 'payerId'],
      [{ channel: 'wechat', mode: 'mini_program', payerId: 'short' }, 'payerId'],
      [{ channel: 'wechat', mode: 'in_app', payerId: `${OPENID}<script>` }, 'payerId'],
      [{ channel: 'wechat', mode: 'mini_program', payerId: OPENID, appId: 'wx123' }, 'appId'],
      [{ channel: 'wechat', mode: 'h5', payerId: OPENID }, 'mode'],
      [{ channel: 'wechat', payerId: OPENID }, 'payerId'],
      [{ authCode: '134567890123456780', mode: 'in_app', payerId: OPENID }, 'mode'],
      [{ channel: 'wechat', mode: 'mobile_web' }, 'clientIp'],
      [{ channel: 'wechat', mode: 'mobile_web', clientIp: '203.0.113' }, 'clientIp'],
      [{ channel: 'wechat', clientIp: '203.0.113.7' }, 'clientIp'],
    ] as [Record<string, unknown>, string][]) {
      const refused = await pay(orderNo, body);
      expect([refused.status, refused.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(JSON.stringify(refused.body.details)).toContain(field);
    }
    // Alipay offers these modes (test/alipay-pay-modes.e2e-spec.ts): a WeChat openid is not an Alipay payer there.
    for (const channel of ['unionpay']) {
      const refused = await pay(orderNo, { channel, mode: 'in_app', payerId: OPENID });
      expect([refused.status, refused.body.code]).toEqual([422, 'PAY_MODE_UNSUPPORTED']);
    }
    // WeChat has no page of its own for a PC browser (its QR code is that).
    const web = await pay(orderNo, { channel: 'wechat', mode: 'pc_web' });
    expect([web.status, web.body.code]).toEqual([422, 'PAY_MODE_UNSUPPORTED']);
    expect(await paymentsOfOrder(orderNo)).toBe(0);
  });

  it("an app that is not one of the merchant's is refused before anything is written: 422", async () => {
    const orderNo = await newOrder();
    const refused = await pay(orderNo, {
      channel: 'wechat',
      mode: 'mini_program',
      payerId: OPENID,
      appId: 'wx0123456789abcdef',
    });
    expect([refused.status, refused.body.code]).toEqual([422, 'PAY_MODE_UNSUPPORTED']);
    expect(refused.body.message).toContain('wx0123456789abcdef');
    expect(await paymentsOfOrder(orderNo)).toBe(0);
  });
});
