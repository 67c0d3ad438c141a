import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CertificateMint } from '../../../test/support/certificates';
import { newPaymentNo } from '../../common/ids';
import { parseForm, signFields, verifyFields } from '../wire/unionpay.protocol';
import { txnTimeOf, UnionPayGateway } from './unionpay.gateway';

/**
 * Barcode payments (二维码 被扫 and 冲正) against a fake UnionPay gateway on loopback: the fake records every
 * request (path and form fields) and answers signed with a signing certificate of a test chain, as UnionPay does.
 */

const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
const mint = new CertificateMint();
const { root, middle, leaf } = mint.chain({ subject: '/CN=041@Z12345678@中国银联股份有限公司@00010000' });

interface Received {
  path: string;
  method: string;
  fields: Record<string, string>;
}
type Answer = { status?: number; fields?: Record<string, string> };
let received: Received[] = [];
let answers: Answer[] = [];
let server: Server;
let baseUrl = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      received.push({ path: req.url ?? '', method: req.method ?? '', fields: parseForm(body) });
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
    merId: '777290058110048',
    merchantPrivateKey: merchant.privateKey,
    merchantCertId: '68759663125',
    anchors: { ...anchors, requireUnionPayCn: true },
    notifyUrl: 'https://pc.example/api/payments/notify/unionpay',
    timeoutMs: 2000,
  });
}

const CODE = '6234567890123456780';
const back = (fields: Record<string, string>): Answer => ({ fields: { txnType: '01', ...fields } });
const query = (fields: Record<string, string>): Answer => ({ fields: { respCode: '00', txnType: '00', ...fields } });

/** Every request was signed with the merchant key over all fields but signature, as UnionPay checks it. */
function expectSigned(): void {
  for (const request of received) expect(verifyFields(request.fields, merchant.publicKey)).toBe(true);
}

describe('UnionPay barcode payments: the exact requests', () => {
  it('pays with a QR-code consume on backTransReq (01/06/000000, qrNo, termId), then one queryTrans', async () => {
    const sut = gateway();
    const paymentNo = newPaymentNo(new Date());
    answers = [back({ respCode: '00' }), query({ origRespCode: '00', queryId: '202612070001', txnAmt: '2500' })];
    const result = await sut.payByCode({
      paymentNo,
      amountFen: 2500,
      currency: 'CNY',
      description: 'Tea',
      authCode: CODE,
      terminal: { storeId: 'S1', deviceId: '49000002' },
    });
    expect(result).toEqual({
      kind: 'paid',
      gatewayTradeNo: '202612070001',
      paidAmountFen: 2500,
      paidAt: expect.any(Date),
    });
    expect(received.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /gateway/api/backTransReq.do',
      'POST /gateway/api/queryTrans.do',
    ]);
    const { signature, ...consume } = received[0].fields;
    expect(signature).toBeTruthy();
    expect(consume).toEqual({
      version: '5.1.0',
      encoding: 'UTF-8',
      signMethod: '01',
      certId: '68759663125',
      merId: '777290058110048',
      txnType: '01',
      txnSubType: '06',
      bizType: '000000',
      channelType: '07',
      accessType: '0',
      orderId: paymentNo,
      txnTime: txnTimeOf(paymentNo),
      txnAmt: '2500',
      currencyCode: '156',
      qrNo: CODE,
      backUrl: 'https://pc.example/api/payments/notify/unionpay',
      termId: '49000002',
    });
    expect(received[1].fields).toMatchObject({ txnType: '00', txnSubType: '00', orderId: paymentNo });
    expectSigned();
  });

  it('reverses with 冲正 on backTransReq (99/01/000000, the consume’s orderId and txnTime), then one queryTrans', async () => {
    const sut = gateway();
    const paymentNo = newPaymentNo(new Date());
    answers = [back({ txnType: '99', respCode: '00' }), query({ txnType: '99', origRespCode: '00' })];
    expect(await sut.reverse({ paymentNo, gatewayTradeNo: null })).toEqual({ kind: 'closed' });
    const { signature, ...reversal } = received[0].fields;
    expect(signature).toBeTruthy();
    expect(received[0].path).toBe('/gateway/api/backTransReq.do');
    expect(reversal).toEqual({
      version: '5.1.0',
      encoding: 'UTF-8',
      signMethod: '01',
      certId: '68759663125',
      merId: '777290058110048',
      txnType: '99',
      txnSubType: '01',
      bizType: '000000',
      channelType: '07',
      accessType: '0',
      orderId: paymentNo,
      txnTime: txnTimeOf(paymentNo),
    });
    expect(received[1].path).toBe('/gateway/api/queryTrans.do');
    expectSigned();
  });
});

describe('UnionPay barcode payments: each answer in our terms', () => {
  const pay = (consume: Answer, ...then: Answer[]) => {
    answers = [consume, ...then];
    return gateway().payByCode({
      paymentNo: newPaymentNo(new Date()),
      amountFen: 2500,
      currency: 'CNY',
      description: 'Tea',
      authCode: CODE,
    });
  };

  it.each([
    ['accepted, the query still in progress (05)', back({ respCode: '00' }), query({ origRespCode: '05' }), 'paying'],
    ['accepted (05), the query in progress (03)', back({ respCode: '05' }), query({ origRespCode: '03' }), 'paying'],
    ['accepted, the query finds nothing yet (34)', back({ respCode: '00' }), query({ respCode: '34' }), 'paying'],
    ['accepted, the query unreachable', back({ respCode: '00' }), { status: 502 }, 'paying'],
    ['accepted, the query says short balance (64)', back({ respCode: '00' }), query({ origRespCode: '64' }), 'refused'],
    ['accepted, the query says failed (01)', back({ respCode: '00' }), query({ origRespCode: '01' }), 'unknown'],
    ['accepted, paid without queryId', back({ respCode: '00' }), query({ origRespCode: '00' }), 'unknown'],
  ])('%s → %s', async (_, consume, then, kind) => {
    expect((await pay(consume, then)).kind).toBe(kind);
  });

  it.each([
    ['64 insufficient balance', '64'],
    ['88 no such QR code', '88'],
    ['61 invalid code', '61'],
    ['10 format error (a malformed code)', '10'],
    ['11 signature not verified', '11'],
    ['13 missing fields', '13'],
  ])('a definite refusal (%s) is refused, with no query', async (_, code) => {
    expect(await pay(back({ respCode: code, respMsg: 'no' }))).toEqual({ kind: 'refused', code, message: 'no' });
    expect(received).toHaveLength(1);
  });

  it.each([
    ['03 timeout', back({ respCode: '03' })],
    ['04 state unknown', back({ respCode: '04' })],
    ['06 system busy', back({ respCode: '06' })],
    ['12 duplicate', back({ respCode: '12' })],
    ['01 failed (not known to be definite)', back({ respCode: '01' })],
    ['99 general error', back({ respCode: '99' })],
    ['an unlisted code', back({ respCode: 'ZZ' })],
    ['HTTP 500', { status: 500 }],
  ])('a system error or an unclear answer (%s) is unknown, never refused', async (_, consume) => {
    expect((await pay(consume)).kind).toBe('unknown');
  });

  it('an answer that does not verify (another chain) is unknown, never refused', async () => {
    const other = mint.chain({ subject: '/CN=041@Z1@中国银联股份有限公司@0001' });
    answers = [back({ respCode: '64' })];
    const stranger = gateway({ root: other.root.certificate, middle: other.middle.certificate });
    const result = await stranger.payByCode({
      paymentNo: newPaymentNo(new Date()),
      amountFen: 2500,
      currency: 'CNY',
      description: 'Tea',
      authCode: CODE,
    });
    expect(result).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('unverified') });
  });

  const reverse = (...replies: Answer[]) => {
    answers = replies;
    return gateway().reverse({ paymentNo: newPaymentNo(new Date()), gatewayTradeNo: null });
  };

  it.each([
    [
      '00, the reversal found naming the consume it undid',
      [back({ respCode: '00' }), query({ txnType: '99', origRespCode: '00', origQryId: 'Q1' })],
      { kind: 'refunded', gatewayTradeNo: 'Q1' },
    ],
    [
      '00, the reversal found, nothing was paid',
      [back({ respCode: '00' }), query({ txnType: '99', origRespCode: '00' })],
      { kind: 'closed' },
    ],
    [
      '00, the query still shows the paid consume',
      [back({ respCode: '00' }), query({ origRespCode: '00', queryId: 'Q2' })],
      { kind: 'refunded', gatewayTradeNo: 'Q2' },
    ],
    ['00, the consume had failed', [back({ respCode: '00' }), query({ origRespCode: '64' })], { kind: 'closed' }],
    ['00, the consume still in progress', [back({ respCode: '00' }), query({ origRespCode: '05' })], { kind: 'again' }],
    ['05 accepted, not applied yet', [back({ respCode: '05' })], { kind: 'again' }],
    ['35, the consume had failed', [back({ respCode: '35' }), query({ origRespCode: '01' })], { kind: 'closed' }],
    [
      '35, and no consume is found (34): none was made',
      [back({ respCode: '35' }), query({ respCode: '34' })],
      { kind: 'absent' },
    ],
    [
      '35, the consume is paid and not reversed',
      [back({ respCode: '35' }), query({ origRespCode: '00' })],
      { kind: 'unknown' },
    ],
    ['00, the query unreachable', [back({ respCode: '00' }), { status: 500 }], { kind: 'unknown' }],
    ['03 timeout', [back({ respCode: '03' })], { kind: 'unknown' }],
    ['06 system busy', [back({ respCode: '06' })], { kind: 'unknown' }],
    ['HTTP 500', [{ status: 500 }], { kind: 'unknown' }],
  ])('reverse: %s', async (_, replies, expected) => {
    expect(await reverse(...replies)).toMatchObject(expected);
  });

  it('query: a reversed consume (the reversal found, 00) is closed; a reversal not final is unknown', async () => {
    answers = [query({ txnType: '99', origRespCode: '00' })];
    expect(await gateway().query(newPaymentNo(new Date()))).toEqual({ kind: 'closed' });
    answers = [query({ txnType: '99', origRespCode: '05' })];
    expect((await gateway().query(newPaymentNo(new Date()))).kind).toBe('unknown');
  });

  it('the QR consume notification (txnSubType 06, bizType 000000) is a payment notification', async () => {
    const paymentNo = newPaymentNo(new Date());
    const fields: Record<string, string> = {
      version: '5.1.0',
      encoding: 'UTF-8',
      signMethod: '01',
      merId: '777290058110048',
      txnType: '01',
      txnSubType: '06',
      bizType: '000000',
      accessType: '0',
      currencyCode: '156',
      orderId: paymentNo,
      txnTime: txnTimeOf(paymentNo),
      txnAmt: '2500',
      queryId: 'Q3',
      respCode: '00',
      respMsg: 'success',
      signPubKeyCert: leaf.pem,
    };
    const rawBody = Buffer.from(
      new URLSearchParams({ ...fields, signature: signFields(fields, leaf.privateKey) }).toString(),
    );
    await expect(gateway().parseNotification({ headers: {}, rawBody })).resolves.toMatchObject({
      kind: 'payment',
      paymentNo,
      result: { kind: 'paid', gatewayTradeNo: 'Q3', paidAmountFen: 2500 },
    });
  });

  it('takes barcode payments', () => {
    expect(gateway().barcodeUnsupported()).toBeUndefined();
  });
});
