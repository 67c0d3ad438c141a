import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CertificateMint } from '../../../test/support/certificates';
import { newPaymentNo } from '../../common/ids';
import type { CreatePaymentRequest, PayWay } from '../gateway.types';
import { parseForm, signFields, unionpayTime, verifyFields } from '../wire/unionpay.protocol';
import { txnTimeOf, UnionPayGateway } from './unionpay.gateway';

/**
 * The pay modes (pc_web and mobile_web front forms, the app control's appTransReq) against a fake UnionPay gateway
 * on loopback that records every request and answers signed with a signing certificate of a test chain.
 */

const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
const mint = new CertificateMint();
const { root, middle, leaf } = mint.chain({ subject: '/CN=041@Z12345678@中国银联股份有限公司@00010000' });

const MER_ID = '777290058110048';
const NOTIFY_URL = 'https://pc.example/api/payments/notify/unionpay';
const RETURN_URL = 'https://pc.example/pay/return/P1';

type Answer = { status?: number; fields?: Record<string, string> };
let received: { path: string; fields: Record<string, string> }[] = [];
let answers: Answer[] = [];
let server: Server;
let baseUrl = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      received.push({ path: req.url ?? '', fields: parseForm(body) });
      const answer = answers.shift() ?? { status: 500 };
      if (!answer.fields) {
        res.writeHead(answer.status ?? 500).end('system busy');
        return;
      }
      const all = { version: '5.1.0', encoding: 'UTF-8', signMethod: '01', ...answer.fields, signPubKeyCert: leaf.pem };
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(new URLSearchParams({ ...all, signature: signFields(all, leaf.privateKey) }).toString());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  received = [];
  answers = [];
});

function gateway(anchors = { root: root.certificate, middle: middle.certificate }): UnionPayGateway {
  return new UnionPayGateway({
    baseUrl,
    fileUrl: `${baseUrl}/filedownload`,
    merId: MER_ID,
    merchantPrivateKey: merchant.privateKey,
    merchantCertId: '68759663125',
    anchors: { ...anchors, requireUnionPayCn: true },
    notifyUrl: NOTIFY_URL,
    timeoutMs: 2000,
  });
}

function request(way?: PayWay): CreatePaymentRequest & { paymentNo: string } {
  const expiresAt = new Date(Date.now() + 15 * 60_000);
  return { paymentNo: newPaymentNo(new Date()), amountFen: 2500, currency: 'CNY', description: 'Tea', expiresAt, way };
}

/** The consume every mode sends, but for channelType and frontUrl. */
function consumeOf(paymentNo: string, expiresAt: Date): Record<string, string> {
  return {
    version: '5.1.0',
    encoding: 'UTF-8',
    signMethod: '01',
    certId: '68759663125',
    merId: MER_ID,
    txnType: '01',
    txnSubType: '01',
    bizType: '000201',
    accessType: '0',
    orderId: paymentNo,
    txnTime: txnTimeOf(paymentNo),
    txnAmt: '2500',
    currencyCode: '156',
    backUrl: NOTIFY_URL,
    payTimeout: unionpayTime(expiresAt),
  };
}

const tnAnswer = (paymentNo: string, fields: Record<string, string> = {}): Answer => ({
  fields: { txnType: '01', txnSubType: '01', merId: MER_ID, orderId: paymentNo, respCode: '00', ...fields },
});

describe('UnionPay pay modes: which are offered', () => {
  it('offers standard, mobile_web, pc_web and app; in_app and mini_program are another UnionPay product', () => {
    const sut = gateway();
    for (const mode of ['standard', 'mobile_web', 'pc_web', 'app'] as const)
      expect(sut.payModeUnsupported({ mode })).toBeUndefined();
    for (const mode of ['in_app', 'mini_program'] as const)
      expect(sut.payModeUnsupported({ mode, payerId: 'x' })).toMatch(/separate product/);
  });

  it('refuses an appId (UnionPay registers no app for its control): 400 on that field', () => {
    expect(gateway().payWayInvalid({ mode: 'app', appId: 'com.example.shop' })).toMatchObject({ field: 'appId' });
    expect(gateway().payWayInvalid({ mode: 'app' })).toBeUndefined();
    expect(gateway().payWayInvalid({ mode: 'mobile_web', clientIp: '203.0.113.7' })).toBeUndefined();
  });
});

describe('UnionPay pay modes: the front forms', () => {
  it('standard is the PC form exactly as before: channelType 07, no frontUrl, no call to UnionPay', async () => {
    const create = request();
    const result = await gateway().createPayment(create);
    expect(result).toMatchObject({ kind: 'created', credential: { type: 'form' } });
    if (result.kind !== 'created' || result.credential.type !== 'form') throw new Error('no form');
    const { signature, ...fields } = result.credential.fields;
    expect(fields).toEqual({ ...consumeOf(create.paymentNo, create.expiresAt), channelType: '07' });
    expect(verifyFields({ ...fields, signature }, merchant.publicKey)).toBe(true);
    expect(result.credential.action).toBe(`${baseUrl}/gateway/api/frontTransReq.do`);
    expect(received).toEqual([]);
  });

  it.each([
    ['pc_web', '07'],
    ['mobile_web', '08'],
  ] as const)(
    '%s: the front form with channelType %s and frontUrl = our return page, signed',
    async (mode, channel) => {
      const create = request({ mode, returnUrl: RETURN_URL });
      const result = await gateway().createPayment(create);
      if (result.kind !== 'created' || result.credential.type !== 'form') throw new Error('no form');
      const { signature, ...fields } = result.credential.fields;
      expect(fields).toEqual({
        ...consumeOf(create.paymentNo, create.expiresAt),
        channelType: channel,
        frontUrl: RETURN_URL,
      });
      expect(verifyFields(result.credential.fields, merchant.publicKey)).toBe(true);
      // The signature covers frontUrl: a form sent elsewhere does not verify.
      expect(verifyFields({ ...result.credential.fields, frontUrl: 'https://evil.example/' }, merchant.publicKey)).toBe(
        false,
      );
      expect(signature).toBeTruthy();
      expect(received).toEqual([]);
    },
  );

  it('an in-app mode reaching createPayment anyway is rejected, with no call', async () => {
    expect(await gateway().createPayment(request({ mode: 'in_app', payerId: 'x' }))).toMatchObject({
      kind: 'rejected',
      code: 'MODE_UNSUPPORTED',
    });
    expect(received).toEqual([]);
  });
});

describe('UnionPay pay modes: app (appTransReq → tn)', () => {
  it('sends the consume with channelType 08 to appTransReq and answers the tn as a unionpay_tn credential', async () => {
    const create = request({ mode: 'app' });
    answers = [tnAnswer(create.paymentNo, { tn: '795707889285638725101' })];
    expect(await gateway().createPayment(create)).toEqual({
      kind: 'created',
      credential: { type: 'unionpay_tn', tn: '795707889285638725101' },
    });
    expect(received.map((r) => r.path)).toEqual(['/gateway/api/appTransReq.do']);
    const { signature, ...fields } = received[0].fields;
    expect(fields).toEqual({ ...consumeOf(create.paymentNo, create.expiresAt), channelType: '08' });
    expect(verifyFields({ ...fields, signature }, merchant.publicKey)).toBe(true);
  });

  it.each(['11', '30', '64'])('a definite refusal (respCode %s) is rejected', async (respCode) => {
    const create = request({ mode: 'app' });
    answers = [tnAnswer(create.paymentNo, { respCode, respMsg: 'refused' })];
    expect(await gateway().createPayment(create)).toEqual({ kind: 'rejected', code: respCode, message: 'refused' });
  });

  it.each(['03', '04', '05', '12', '01', '99'])('respCode %s is unknown, never rejected', async (respCode) => {
    const create = request({ mode: 'app' });
    answers = [tnAnswer(create.paymentNo, { respCode })];
    expect(await gateway().createPayment(create)).toMatchObject({ kind: 'unknown' });
  });

  it('a 5xx, an aborted call, an answer that does not verify, no tn, or another order: unknown', async () => {
    const create = request({ mode: 'app' });
    answers = [{ status: 502 }];
    expect(await gateway().createPayment(create)).toMatchObject({ kind: 'unknown', reason: 'appTransReq: HTTP 502' });

    expect(await gateway().createPayment({ ...create, signal: AbortSignal.abort() })).toMatchObject({
      kind: 'unknown',
    });

    const other = mint.chain({ subject: '/CN=041@Z12345678@中国银联股份有限公司@00010000' });
    answers = [tnAnswer(create.paymentNo, { tn: '795707889285638725101' })];
    const stranger = gateway({ root: other.root.certificate, middle: other.middle.certificate });
    expect(await stranger.createPayment(create)).toMatchObject({ kind: 'unknown', reason: /unverified answer/ });

    answers = [tnAnswer(create.paymentNo)];
    expect(await gateway().createPayment(create)).toMatchObject({ kind: 'unknown', reason: /without tn/ });

    answers = [tnAnswer(newPaymentNo(new Date(Date.now() + 1000)), { tn: '1' })];
    expect(await gateway().createPayment(create)).toMatchObject({ kind: 'unknown', reason: /answered for/ });
  });
});
