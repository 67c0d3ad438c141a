import { createHash, createSign, createVerify, X509Certificate } from 'node:crypto';
import { loadKey, readPem, unionpaySandboxMeta } from '../src/gateways/wire/sandbox-key-set';
import { newPaymentNo } from '../src/common/ids';
import { AppConfig } from '../src/config/app-config';
import { sqlPool } from './support/database';
import { type RunningSandbox, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, uniqueId } from './support/test-app';
import { waitFor } from './support/amqp';

interface FormCredential {
  type: 'form';
  action: string;
  fields: Record<string, string>;
}

/**
 * UnionPay's signature (signMethod 01) written out from its documentation, with node:crypto alone and none of our
 * protocol code: every field but `signature`, sorted by name, `k=v` joined by `&` → SHA-256 as lowercase hex →
 * SHA256withRSA over that hex string with the merchant certificate's key → base64.
 */
function signedByMerchant(fields: Record<string, string>, certificatePem: string): boolean {
  return createVerify('RSA-SHA256')
    .update(digestHex(fields), 'utf8')
    .verify(new X509Certificate(certificatePem).publicKey, fields.signature ?? '', 'base64');
}

function digestHex(fields: Record<string, string>): string {
  const content = Object.keys(fields)
    .filter((key) => key !== 'signature')
    .sort()
    .map((key) => `${key}=${fields[key]}`)
    .join('&');
  return createHash('sha256').update(content, 'utf8').digest('hex');
}

/**
 * UnionPay's pay modes end to end against the sandbox over HTTP: the PC (07) and phone (08) front forms with our
 * return page as frontUrl, checked independently and posted as the buyer's browser would; the app control's tn,
 * paid by the sandbox's stand-in for UnionPay's app SDK; each PAID with its payment.succeeded event. Bad input
 * writes nothing.
 */
describe('UnionPay pay modes (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  let merchantCertPem: string;
  let publicBaseUrl: string;
  const db = sqlPool();

  beforeAll(async () => {
    sandbox = await startSandbox();
    running = await startAppOnSandbox(sandbox);
    merchantCertPem = readPem(sandbox.keys, 'unionpayMerchantCert');
    publicBaseUrl = running.app.get(AppConfig).publicBaseUrl.replace(/\/+$/, '');
  });

  afterAll(async () => {
    await running.close();
    await sandbox.app.close();
    await db.end();
  });

  beforeEach(async () => {
    await http('POST', `${sandbox.url}/sandbox/faults`, {});
  });

  const app = (path: string) => `${running.url}${path}`;
  const newOrder = async () =>
    (await http('POST', app('/api/orders'), orderBody(uniqueId('upmode')))).body.orderNo as string;
  const pay = (orderNo: string, body: Record<string, unknown>) => http('POST', app(`/api/orders/${orderNo}/pay`), body);
  const statusOf = async (paymentNo: string) => (await http('GET', app(`/api/payments/${paymentNo}`))).body.status;
  const sandboxTrade = (paymentNo: string) => http('GET', `${sandbox.url}/sandbox/trades/${paymentNo}`);
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
  /** The buyer's browser posting the form to UnionPay (the sandbox), as an auto-submitting page does. */
  const postForm = (action: string, fields: Record<string, string>) =>
    fetch(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual',
    });

  it.each([
    ['pc_web', '07', false],
    ['mobile_web', '08', true],
  ] as const)(
    '%s: the form (channelType %s) is signed by the merchant and returns to our page; a tampered one is refused; paid: PAID',
    async (mode, channelType, phone) => {
      const orderNo = await newOrder();
      const answer = await pay(orderNo, { channel: 'unionpay', mode });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ mode, status: 'PAYING' });
      const paymentNo = answer.body.paymentNo as string;
      const credential = answer.body.payCredential as FormCredential;
      expect(credential).toMatchObject({ type: 'form', action: `${sandbox.url}/gateway/api/frontTransReq.do` });
      expect(credential.fields).toMatchObject({
        channelType,
        frontUrl: `${publicBaseUrl}/pay/return/${paymentNo}`,
        txnType: '01',
        txnSubType: '01',
        bizType: '000201',
        orderId: paymentNo,
        txnAmt: '2500',
        currencyCode: '156',
      });
      expect(signedByMerchant(credential.fields, merchantCertPem)).toBe(true);
      // The check can fail: the same signature over another frontUrl does not verify.
      const elsewhere = { ...credential.fields, frontUrl: 'https://attacker.example/pay/return' };
      expect(signedByMerchant(elsewhere, merchantCertPem)).toBe(false);

      // A form altered on its way (a smaller amount, another return page) is refused and records nothing.
      for (const tampered of [{ ...credential.fields, txnAmt: '1' }, elsewhere]) {
        const refused = await postForm(credential.action, tampered);
        expect(refused.status).toBe(400);
        expect(await refused.text()).toContain('signature verification failed');
      }
      expect((await sandboxTrade(paymentNo)).status).toBe(404);

      const posted = await postForm(credential.action, credential.fields);
      expect(posted.status).toBe(303);
      const cashierUrl = `${sandbox.url}${posted.headers.get('location')}`;
      const before = await (await fetch(cashierUrl)).text();
      expect(before.includes('device-phone')).toBe(phone);
      expect(before).toContain(`href="${credential.fields.frontUrl}"`);
      expect(before).toContain('data-state="NOTPAY"');

      const paid = await http('POST', `${sandbox.url}/sandbox/unionpay/trades/${paymentNo}/pay`, {});
      expect(paid.body).toMatchObject({ ok: true });
      await waitFor('payment PAID', async () => (await statusOf(paymentNo)) === 'PAID');
      expect(await succeededEvents(paymentNo)).toBe(1);
      // After paying, the cashier leads back to our return page.
      const after = await (await fetch(cashierUrl)).text();
      expect(after).toContain('data-state="SUCCESS"');
      expect(after).toContain(`<a id="return-link" href="${credential.fields.frontUrl}">`);
    },
  );

  it('standard keeps the PC form as it was: channelType 07 and no frontUrl', async () => {
    const answer = await pay(await newOrder(), { channel: 'unionpay' });
    expect(answer.body).toMatchObject({ mode: 'standard', payCredential: { type: 'form' } });
    const fields = (answer.body.payCredential as FormCredential).fields;
    expect(fields.channelType).toBe('07');
    expect(fields.frontUrl).toBeUndefined();
    expect(signedByMerchant(fields, merchantCertPem)).toBe(true);
  });

  it("app: appTransReq's tn; an unknown tn pays nothing; UnionPay's app SDK paying the tn: PAID", async () => {
    const orderNo = await newOrder();
    const answer = await pay(orderNo, { channel: 'unionpay', mode: 'app' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ mode: 'app', status: 'PAYING' });
    const paymentNo = answer.body.paymentNo as string;
    const { tn } = answer.body.payCredential as { type: 'unionpay_tn'; tn: string };
    expect(answer.body.payCredential).toEqual({ type: 'unionpay_tn', tn: expect.stringMatching(/^\d{21}$/) });
    // The sandbox recorded the trade the tn pays, for this amount and our notify URL.
    expect((await sandboxTrade(paymentNo)).body).toMatchObject({
      channel: 'unionpay',
      amountFen: 2500,
      unionpayTn: tn,
      state: 'NOTPAY',
      notifyUrl: `${running.url}/api/payments/notify/unionpay`,
    });

    const buyerPays = (body: unknown) => http('POST', `${sandbox.url}/sandbox/unionpay/app/pay`, body);
    for (const wrong of [{ tn: `${tn.slice(0, -1)}${tn.endsWith('0') ? '1' : '0'}` }, {}, { tn: 42 }]) {
      const refused = await buyerPays(wrong);
      expect([refused.status, refused.body]).toEqual([400, { error: 'TN_NOT_FOUND' }]);
    }
    expect(await statusOf(paymentNo)).toBe('PAYING');

    expect((await buyerPays({ tn })).body).toEqual({ paid: true, orderId: paymentNo });
    await waitFor('payment PAID', async () => (await statusOf(paymentNo)) === 'PAID');
    expect(await succeededEvents(paymentNo)).toBe(1);
    expect((await buyerPays({ tn })).status).toBe(409);
  });

  it("the sandbox's appTransReq: a request signed by the merchant gets a signed tn; one altered after signing gets 11", async () => {
    const keys = sandbox.keys;
    const paymentNo = newPaymentNo(new Date());
    const beijing = new Date(Date.now() + 8 * 3600_000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
    const fields: Record<string, string> = {
      version: '5.1.0',
      encoding: 'UTF-8',
      signMethod: '01',
      certId: BigInt(`0x${new X509Certificate(merchantCertPem).serialNumber}`).toString(10),
      merId: unionpaySandboxMeta(keys).merId,
      txnType: '01',
      txnSubType: '01',
      bizType: '000201',
      channelType: '08',
      accessType: '0',
      orderId: paymentNo,
      txnTime: beijing,
      txnAmt: '100',
      currencyCode: '156',
      backUrl: 'http://127.0.0.1:9/notify',
    };
    fields.signature = createSign('RSA-SHA256')
      .update(digestHex(fields), 'utf8')
      .sign(loadKey(keys, 'unionpayMerchantPrivate'), 'base64');
    const ask = async (body: Record<string, string>) => {
      const response = await fetch(`${sandbox.url}/gateway/api/appTransReq.do`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body).toString(),
      });
      return Object.fromEntries(new URLSearchParams(await response.text()));
    };
    const refused = await ask({ ...fields, txnAmt: '1' });
    expect(refused).toMatchObject({ respCode: '11', orderId: paymentNo });
    expect((await sandboxTrade(paymentNo)).status).toBe(404);

    const answer = await ask(fields);
    expect(answer).toMatchObject({ respCode: '00', orderId: paymentNo, tn: expect.stringMatching(/^\d{21}$/) });
    // UnionPay's answer is signed with the certificate it carries (checked against the chain by the adapter).
    expect(signedByMerchant(answer, answer.signPubKeyCert)).toBe(true);
    expect(signedByMerchant({ ...answer, tn: '1' }, answer.signPubKeyCert)).toBe(false);
    // The same order asked again, unpaid: the same tn.
    expect((await ask(fields)).tn).toBe(answer.tn);
  });

  it('app: UnionPay not answering (5xx) is no refusal: the payment stays open to be checked', async () => {
    await http('POST', `${sandbox.url}/sandbox/faults`, { apiError: true });
    const orderNo = await newOrder();
    const answer = await pay(orderNo, { channel: 'unionpay', mode: 'app' });
    expect([answer.status, answer.body.code]).toEqual([503, 'GATEWAY_UNAVAILABLE']);
    const [rows] = await db.query('SELECT status FROM payments WHERE order_no = ?', [orderNo]);
    expect((rows as { status: string }[]).map((r) => r.status)).toEqual(['PAYING']);
  });

  it('in_app and mini_program are 422 with the reason, an appId is 400; nothing is written', async () => {
    const orderNo = await newOrder();
    for (const mode of ['in_app', 'mini_program']) {
      const refused = await pay(orderNo, { channel: 'unionpay', mode, payerId: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' });
      expect([refused.status, refused.body.code]).toEqual([422, 'PAY_MODE_UNSUPPORTED']);
      expect(refused.body.message).toContain('separate product');
    }
    // An app id of a well-formed kind (the request's own check passes it): UnionPay's adapter names it.
    const withApp = await pay(orderNo, { channel: 'unionpay', mode: 'app', appId: 'wx0123456789abcdef' });
    expect([withApp.status, withApp.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(JSON.stringify(withApp.body.details)).toContain("UnionPay's app payments take no appId");
    expect(await paymentsOfOrder(orderNo)).toBe(0);
  });
});
