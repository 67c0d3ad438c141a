import { spawnSync } from 'node:child_process';
import { createSign, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'mysql2/promise';
import { alipaySignContent, rsa2Sign } from '../src/gateways/wire/alipay.protocol';
import { loadKey, unionpaySandboxMeta } from '../src/gateways/wire/sandbox-key-set';
import { txnTimeOf, UnionPayGateway } from '../src/gateways/unionpay/unionpay.gateway';
import { certIdOf, signFields } from '../src/gateways/wire/unionpay.protocol';
import { encryptResource, newNonce, responseMessage, rsaSign } from '../src/gateways/wire/wechatpay.protocol';
import type { SandboxSettings } from '../sandbox/sandbox.settings';
import { CertificateMint, type MintedCertificate } from './support/certificates';
import { sqlPool } from './support/database';
import { liveGatewayEnv } from './support/live-gateways';
import { metricValue } from './support/metrics';
import { freePort, type RunningSandbox, sandboxGateways, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, startApp, TestClock, uniqueId } from './support/test-app';

const REFUSED = 'payment_center_notification_verification_failures_total';
const DAY = 24 * 3600 * 1000;

/**
 * Callbacks verified to the letter (issue 20, part 3): the attacker holds a key the app trusts for something,
 * or a certificate that looks right when read carelessly, and posts a notification that pays a PAYING
 * payment. Each is refused by the running app over real HTTP, and nothing changes: the payment stays
 * PAYING, no event is written. Each case also has its genuine twin accepted, so the refusal is the check's.
 */
describe('security: vendor callbacks verified to the letter (e2e)', () => {
  let sandbox: RunningSandbox;
  let vendor: SandboxSettings;
  let running: RunningApp;
  let db: Pool;
  const mint = new CertificateMint();
  // The test's own UnionPay chain: the app trusts this root and middle, and nothing else.
  const unionpayCn = '/CN=041@Z12345678@中国银联股份有限公司@00010000';
  const chain = mint.chain({ subject: unionpayCn });

  beforeAll(async () => {
    sandbox = await startSandbox();
    vendor = sandbox.settings;
    const port = await freePort();
    const [wechat, alipay, sandboxUnionpay] = sandboxGateways(sandbox, port);
    const unionpay = new UnionPayGateway({
      baseUrl: sandbox.url,
      fileUrl: `${sandbox.url}/filedownload`,
      merId: unionpaySandboxMeta(sandbox.keys).merId,
      merchantPrivateKey: loadKey(sandbox.keys, 'unionpayMerchantPrivate'),
      merchantCertId: certIdOf(chain.leaf.certificate),
      anchors: { root: chain.root.certificate, middle: chain.middle.certificate, requireUnionPayCn: true },
      notifyUrl: `http://127.0.0.1:${port}/api/payments/notify/unionpay`,
      timeoutMs: 1000,
    });
    expect(sandboxUnionpay.channel).toBe('unionpay');
    running = await startApp([wechat, alipay, unionpay], new TestClock(), {}, port);
    db = sqlPool();
  });

  afterAll(async () => {
    await running.close();
    await sandbox.app.close();
    await db.end();
  });

  const app = (path: string) => `${running.url}${path}`;
  const refusals = (channel: string, reason: string) =>
    metricValue(running.app, REFUSED, { channel, reason }).then((value) => value ?? 0);

  async function payingPayment(channel: 'wechat' | 'alipay' | 'unionpay'): Promise<string> {
    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId(`sec-${channel}`)))).body;
    const payment = await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel });
    expect(payment.status).toBe(200);
    expect(payment.body.status).toBe('PAYING');
    return payment.body.paymentNo as string;
  }

  /** Nothing moved: still PAYING, and no event for partners was written. */
  async function expectUnchanged(paymentNo: string) {
    expect((await http('GET', app(`/api/payments/${paymentNo}`))).body.status).toBe('PAYING');
    const [events] = await db.query('SELECT event_id FROM outbox_events WHERE payment_no = ?', [paymentNo]);
    expect(events).toEqual([]);
  }

  async function expectPaid(paymentNo: string) {
    expect((await http('GET', app(`/api/payments/${paymentNo}`))).body).toMatchObject({
      status: 'PAID',
      paidAmountFen: 2500,
    });
  }

  /** Posts a notification and answers the vendor-facing reply, and how much the refusal metric moved. */
  async function post(channel: string, reason: string, body: string, headers: Record<string, string>) {
    const before = await refusals(channel, reason);
    const response = await fetch(app(`/api/payments/notify/${channel}`), { method: 'POST', headers, body });
    const reply = await response.text();
    return { status: response.status, reply, refusedAs: (await refusals(channel, reason)) - before };
  }

  describe('UnionPay: signPubKeyCert', () => {
    /** A consume success for the payment, signed with `signer`'s key and carrying its certificate. */
    function consumeNotification(paymentNo: string, signer: MintedCertificate): string {
      const fields: Record<string, string> = {
        version: '5.1.0',
        encoding: 'UTF-8',
        signMethod: '01',
        txnType: '01',
        txnSubType: '01',
        bizType: '000201',
        merId: unionpaySandboxMeta(sandbox.keys).merId,
        orderId: paymentNo,
        txnTime: txnTimeOf(paymentNo),
        txnAmt: '2500',
        currencyCode: '156',
        respCode: '00',
        respMsg: 'success',
        queryId: uniqueId('q').replace(/\D/g, '').slice(0, 21),
        certId: certIdOf(signer.certificate),
        signPubKeyCert: signer.pem,
      };
      return new URLSearchParams({ ...fields, signature: signFields(fields, signer.privateKey) }).toString();
    }
    const form = { 'content-type': 'application/x-www-form-urlencoded' };

    it('a certificate of UnionPay’s form under the configured chain pays (the twin of every refusal below)', async () => {
      const paymentNo = await payingPayment('unionpay');
      const answer = await post('unionpay', 'signature', consumeNotification(paymentNo, chain.leaf), form);
      expect(answer).toMatchObject({ status: 200, reply: 'ok', refusedAs: 0 });
      await expectPaid(paymentNo);
    });

    it.each([
      [
        'UnionPay’s name in an OU (OU=CN=…) beside a CN of its own',
        '/OU=CN=041@Z1@中国银联股份有限公司@0001/CN=attacker',
      ],
      ['two CN attributes, UnionPay’s first', '/CN=041@Z1@中国银联股份有限公司@0001/CN=attacker'],
      ['a CN with the organisation at index 2 and five fields', '/CN=041@Z1@中国银联股份有限公司@0001@attacker'],
    ])('refuses a leaf under the configured chain with %s', async (_, subject) => {
      const paymentNo = await payingPayment('unionpay');
      const forged = mint.issue({ subject, issuer: chain.middle });
      const answer = await post('unionpay', 'signature', consumeNotification(paymentNo, forged), form);
      expect(answer).toEqual({ status: 400, reply: 'fail', refusedAs: 1 });
      await expectUnchanged(paymentNo);
    });

    it('refuses a leaf of UnionPay’s name that is not a signing certificate (keyUsage without digitalSignature)', async () => {
      const paymentNo = await payingPayment('unionpay');
      const encipherment = mint.issue({
        subject: unionpayCn,
        issuer: chain.middle,
        keyUsage: 'critical,keyEncipherment',
      });
      const answer = await post('unionpay', 'signature', consumeNotification(paymentNo, encipherment), form);
      expect(answer).toEqual({ status: 400, reply: 'fail', refusedAs: 1 });
      await expectUnchanged(paymentNo);
    });

    describe('the configured root and middle at boot', () => {
      const main = join(process.cwd(), 'dist', 'src', 'main.js');
      const boot = async (env: Record<string, string>) =>
        spawnSync(process.execPath, [main], {
          env: {
            PATH: process.env.PATH ?? '',
            DB_NAME: process.env.DB_NAME ?? 'payment_center_test',
            PORT: String(await freePort()),
            RECOVERY_QUEUE_PREFIX: `sec-${process.pid}`,
            ...env,
          },
          cwd: join(process.cwd(), 'test'), // no .env here
          encoding: 'utf8',
          timeout: 30_000,
        });

      beforeAll(() => {
        if (!existsSync(main)) throw new Error('dist/src/main.js is missing: run `npm run build` first');
      });

      it('an expired middle certificate stops the boot, naming UNIONPAY_MIDDLE_CERT_FILE and the date', async () => {
        const expired = mint.issue({
          subject: '/CN=Expired Middle',
          ca: true,
          issuer: chain.root,
          notBefore: new Date(Date.now() - 400 * DAY),
          notAfter: new Date(Date.now() - DAY),
        });
        const result = await boot(liveGatewayEnv(mint, { root: chain.root, middle: expired }));
        expect(result.status).toBe(1);
        expect(result.stderr).toContain('Invalid configuration');
        expect(result.stderr).toContain(
          `UNIONPAY_MIDDLE_CERT_FILE=${expired.certFile}: the UnionPay middle certificate expired on ` +
            new Date(expired.certificate.validTo).toISOString(),
        );
        expect(result.stdout).not.toContain('listening');
      });
    });
  });

  describe('Alipay: sign_type and seller_id', () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    function tradeSuccess(paymentNo: string, change: Record<string, string | undefined> = {}) {
      const fields: Record<string, string | undefined> = {
        notify_id: uniqueId('n'),
        notify_type: 'trade_status_sync',
        app_id: vendor.alipay.appId,
        seller_id: vendor.alipay.sellerId,
        charset: 'utf-8',
        version: '1.0',
        out_trade_no: paymentNo,
        trade_no: `2026${Date.now()}`,
        trade_status: 'TRADE_SUCCESS',
        total_amount: '25.00',
      };
      const changed: Record<string, string | undefined> = { ...fields, ...change };
      return Object.fromEntries(Object.entries(changed).filter(([, value]) => value !== undefined)) as Record<
        string,
        string
      >;
    }
    const encode = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
    const signedRsa2 = (fields: Record<string, string>, key: KeyObject = vendor.alipay.alipayPrivateKey) =>
      encode({ ...fields, sign_type: 'RSA2', sign: rsa2Sign(alipaySignContent(fields, ['sign', 'sign_type']), key) });

    it('RSA2 over the documented content, for our app and seller, pays (the twin of every refusal below)', async () => {
      const paymentNo = await payingPayment('alipay');
      const answer = await post('alipay', 'signature', signedRsa2(tradeSuccess(paymentNo)), form);
      expect(answer).toMatchObject({ status: 200, reply: 'success', refusedAs: 0 });
      await expectPaid(paymentNo);
    });

    it('refuses sign_type RSA, though the SHA-1 signature is made with Alipay’s own key', async () => {
      const paymentNo = await payingPayment('alipay');
      const fields = tradeSuccess(paymentNo);
      const sha1 = createSign('RSA-SHA1')
        .update(alipaySignContent(fields, ['sign', 'sign_type']))
        .sign(vendor.alipay.alipayPrivateKey, 'base64');
      const answer = await post('alipay', 'signature', encode({ ...fields, sign_type: 'RSA', sign: sha1 }), form);
      expect(answer).toEqual({ status: 400, reply: 'fail', refusedAs: 1 });
      await expectUnchanged(paymentNo);
    });

    it('refuses an unknown sign_type as a rejected notification, not an adapter error', async () => {
      const paymentNo = await payingPayment('alipay');
      const errorsBefore = await refusals('alipay', 'error');
      const fields = tradeSuccess(paymentNo);
      const sign = rsa2Sign(alipaySignContent(fields, ['sign', 'sign_type']), vendor.alipay.alipayPrivateKey);
      const answer = await post('alipay', 'signature', encode({ ...fields, sign_type: 'SM2', sign }), form);
      expect(answer).toEqual({ status: 400, reply: 'fail', refusedAs: 1 });
      expect(await refusals('alipay', 'error')).toBe(errorsBefore);
      await expectUnchanged(paymentNo);
    });

    it.each([
      ['another seller_id', { seller_id: '2088000000000001' }],
      ['no seller_id', { seller_id: undefined }],
    ])('refuses a genuinely signed notification with %s when ALIPAY_SELLER_ID is set', async (_, change) => {
      const paymentNo = await payingPayment('alipay');
      const answer = await post('alipay', 'merchant', signedRsa2(tradeSuccess(paymentNo, change)), form);
      expect(answer).toEqual({ status: 400, reply: 'fail', refusedAs: 1 });
      await expectUnchanged(paymentNo);
    });
  });

  describe('WeChat Pay: signature type, resource algorithm, currency', () => {
    function notification(
      paymentNo: string,
      change: { amount?: object; algorithm?: string; signatureType?: string | null } = {},
    ) {
      const transaction = {
        appid: vendor.wechat.appid,
        mchid: vendor.wechat.mchid,
        out_trade_no: paymentNo,
        transaction_id: `4200${Date.now()}`,
        trade_state: 'SUCCESS',
        success_time: '2026-11-25T10:00:00+08:00',
        amount: change.amount ?? { total: 2500, payer_total: 2500, currency: 'CNY', payer_currency: 'CNY' },
      };
      const resource = encryptResource(
        JSON.stringify(transaction),
        vendor.wechat.apiV3Key,
        'transaction',
        'transaction',
      );
      const body = JSON.stringify({
        id: uniqueId('EV'),
        event_type: 'TRANSACTION.SUCCESS',
        resource_type: 'encrypt-resource',
        resource: { ...resource, algorithm: change.algorithm ?? resource.algorithm },
      });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const nonce = newNonce();
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'Wechatpay-Timestamp': timestamp,
        'Wechatpay-Nonce': nonce,
        'Wechatpay-Serial': vendor.wechat.platformKeyId,
        'Wechatpay-Signature': rsaSign(responseMessage(timestamp, nonce, body), vendor.wechat.platformPrivateKey),
      };
      if (change.signatureType !== null) {
        headers['Wechatpay-Signature-Type'] = change.signatureType ?? 'WECHATPAY2-SHA256-RSA2048';
      }
      return { body, headers };
    }
    const send = (reason: string, n: { body: string; headers: Record<string, string> }) =>
      post('wechat', reason, n.body, n.headers);

    it.each([
      ['with Wechatpay-Signature-Type WECHATPAY2-SHA256-RSA2048', {}],
      ['without Wechatpay-Signature-Type (the one scheme there is)', { signatureType: null }],
    ])('a notification %s pays (the twin of every refusal below)', async (_, change) => {
      const paymentNo = await payingPayment('wechat');
      expect(await send('signature', notification(paymentNo, change))).toMatchObject({ status: 204, refusedAs: 0 });
      await expectPaid(paymentNo);
    });

    it.each([
      ['Wechatpay-Signature-Type WECHATPAY2-SM2-WITH-SM3', 'signature', { signatureType: 'WECHATPAY2-SM2-WITH-SM3' }],
      ['resource.algorithm AEAD_SM4_GCM', 'unsupported', { algorithm: 'AEAD_SM4_GCM' }],
      ['a transaction amount without currency', 'malformed', { amount: { total: 2500, payer_total: 2500 } }],
    ])('refuses %s, signed with the platform key', async (_, reason, change) => {
      const paymentNo = await payingPayment('wechat');
      const answer = await send(reason, notification(paymentNo, change));
      expect(answer).toMatchObject({ status: 400, refusedAs: 1 });
      expect(JSON.parse(answer.reply)).toMatchObject({ code: 'FAIL' });
      await expectUnchanged(paymentNo);
    });
  });
});
