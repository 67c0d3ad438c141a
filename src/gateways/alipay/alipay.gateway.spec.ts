import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NotificationRejected } from '../notification-rejected';
import { AlipayGateway, type AlipaySettings } from './alipay.gateway';
import { alipaySignContent, rsa2Sign, rsa2Verify } from '../wire/alipay.protocol';

/**
 * Third-party (ISV) mode against a fake openapi gateway on loopback: alipay-sdk sends its real requests, the fake
 * records every parameter (URL and form) and answers `{"<method>_response": {...}, "sign": ...}` signed with the
 * fake Alipay key, as gateway.do does.
 */

const ISV_APP_ID = '2021000000000001';
const MERCHANT_APP_ID = '2021000000000777';
const TOKEN = '202611BBf1c2e3d4a5b6c7d8e9f0a1b2c3d4eX01';
const app = generateKeyPairSync('rsa', { modulusLength: 2048 });
const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** Every parameter of one call (URL query and form body together), as gateway.do receives them. */
type Received = Record<string, string>;
let received: Received[] = [];
let answer: (method: string) => Record<string, string> = () => ({ code: '10000', msg: 'Success' });
let server: Server;
let gatewayUrl = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const params: Received = {};
      const url = new URL(req.url ?? '/', 'http://fake');
      for (const [key, value] of [...url.searchParams, ...new URLSearchParams(body)]) params[key] = value;
      received.push(params);
      const inner = JSON.stringify(answer(params.method ?? ''));
      const key = `${(params.method ?? '').replaceAll('.', '_')}_response`;
      const sign = rsa2Sign(inner, alipay.privateKey);
      res.writeHead(200, { 'content-type': 'application/json;charset=utf-8' });
      res.end(`{"${key}":${inner},"sign":"${sign}"}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gatewayUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/gateway.do`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  received = [];
  answer = () => ({ code: '10000', msg: 'Success' });
});

function gateway(isv: Pick<AlipaySettings, 'appAuthToken' | 'authAppId' | 'sellerId'> = {}): AlipayGateway {
  return new AlipayGateway({
    gatewayUrl,
    appId: ISV_APP_ID,
    appPrivateKeyPem: app.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    alipayPublicKeyPem: alipay.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    notifyUrl: 'https://pc.example/api/payments/notify/alipay',
    timeoutMs: 3000,
    ...isv,
  });
}
const isv = { appAuthToken: TOKEN, authAppId: MERCHANT_APP_ID };

/** The call was signed with the app key over every parameter but sign (sign_type included), as Alipay checks it. */
function expectSignedByApp(params: Received): void {
  expect(params.sign_type).toBe('RSA2');
  expect(rsa2Verify(alipaySignContent(params, ['sign']), params.sign, app.publicKey)).toBe(true);
}

/** Each port method once, answered so that none needs a second call. */
async function everyCall(sut: AlipayGateway): Promise<unknown[]> {
  answer = (method): Record<string, string> => {
    switch (method) {
      case 'alipay.trade.precreate':
        return { code: '10000', msg: 'Success', out_trade_no: 'P1', qr_code: 'https://qr.alipay.com/abc' };
      case 'alipay.trade.query':
        return { code: '10000', msg: 'Success', trade_no: 'T1', out_trade_no: 'P1', trade_status: 'WAIT_BUYER_PAY' };
      case 'alipay.trade.refund':
        return { code: '10000', msg: 'Success', out_trade_no: 'P1', fund_change: 'Y', refund_fee: '10.00' };
      case 'alipay.trade.fastpay.refund.query':
        return { code: '10000', msg: 'Success', refund_status: 'REFUND_SUCCESS', refund_amount: '10.00' };
      case 'alipay.data.dataservice.bill.downloadurl.query':
        return { code: '40004', msg: 'Business Failed', sub_code: 'isp.bill_not_exist', sub_msg: 'no bill' };
      default:
        return { code: '10000', msg: 'Success', out_trade_no: 'P1' };
    }
  };
  const expiresAt = new Date(Date.now() + 15 * 60_000);
  const refund = { paymentNo: 'P1', refundNo: 'R1', gatewayTradeNo: 'T1', totalFen: 2500, refundFen: 1000 };
  return [
    await sut.createPayment({ paymentNo: 'P1', amountFen: 2500, currency: 'CNY', description: 'Tea', expiresAt }),
    await sut.query('P1'),
    await sut.close({ paymentNo: 'P1', expiresAt }),
    await sut.refund({ ...refund, reason: 'broken cup' }),
    await sut.queryRefund({ paymentNo: 'P1', refundNo: 'R1' }),
    await sut.fetchStatement('2026-11-25'),
  ];
}
const METHODS = [
  'alipay.trade.precreate',
  'alipay.trade.query',
  'alipay.trade.close',
  'alipay.trade.refund',
  'alipay.trade.fastpay.refund.query',
  'alipay.data.dataservice.bill.downloadurl.query',
];

describe('Alipay as a third-party app: app_auth_token on every call', () => {
  it('sends app_auth_token as a signed common parameter, outside biz_content, on every call', async () => {
    const results = await everyCall(gateway(isv));
    expect(results).toEqual([
      { kind: 'created', credential: { type: 'code_url', codeUrl: 'https://qr.alipay.com/abc' } },
      { kind: 'not_paid' },
      { kind: 'closed' },
      { kind: 'succeeded', gatewayRefundNo: 'R1' },
      { kind: 'succeeded', gatewayRefundNo: 'R1' },
      { kind: 'empty' },
    ]);
    expect(received.map((params) => params.method)).toEqual(METHODS);
    for (const params of received) {
      expect(params).toMatchObject({ app_id: ISV_APP_ID, app_auth_token: TOKEN });
      expect(params.biz_content).not.toContain('auth_token');
      expectSignedByApp(params);
    }
  });

  it('signs app_auth_token with the rest: without it the signature does not verify', async () => {
    await everyCall(gateway(isv));
    const { app_auth_token: _token, ...withoutToken } = received[0];
    expect(rsa2Verify(alipaySignContent(withoutToken, ['sign']), received[0].sign, app.publicKey)).toBe(false);
  });

  it("as the merchant's own app, sends no app_auth_token, the same parameters as before", async () => {
    await everyCall(gateway());
    expect(received.map((params) => params.method)).toEqual(METHODS);
    for (const params of received) {
      expect(Object.keys(params).sort()).toEqual(
        [
          'app_id',
          'biz_content',
          'charset',
          'method',
          'sign',
          'sign_type',
          'timestamp',
          'version',
          ...(params.method === 'alipay.trade.precreate' ? ['notify_url'] : []),
        ].sort(),
      );
      expectSignedByApp(params);
    }
  });

  it.each([
    ['appAuthToken without authAppId', { appAuthToken: TOKEN }],
    ['authAppId without appAuthToken', { authAppId: MERCHANT_APP_ID }],
  ])('refuses %s', (_, half) => {
    expect(() => gateway(half)).toThrow(/appAuthToken and authAppId are set together/);
  });
});

describe('Alipay notifications in third-party app mode', () => {
  /** A trade_status_sync form as Alipay posts it, signed RSA2 over every field but sign and sign_type. */
  function notify(sut: AlipayGateway, change: Record<string, string | undefined> = {}) {
    const fields: Record<string, string> = {};
    const form = {
      notify_time: '2026-11-25 10:00:01',
      notify_type: 'trade_status_sync',
      notify_id: 'N1',
      app_id: ISV_APP_ID,
      auth_app_id: MERCHANT_APP_ID,
      charset: 'utf-8',
      version: '1.0',
      trade_no: 'T1',
      out_trade_no: 'P1',
      seller_id: '2088000000000001',
      trade_status: 'TRADE_SUCCESS',
      total_amount: '25.00',
      gmt_payment: '2026-11-25 10:00:00',
      ...change,
    };
    for (const [key, value] of Object.entries(form)) if (value !== undefined) fields[key] = value;
    fields.sign = rsa2Sign(alipaySignContent(fields, ['sign', 'sign_type']), alipay.privateKey);
    fields.sign_type = 'RSA2';
    return sut.parseNotification({ headers: {}, rawBody: Buffer.from(new URLSearchParams(fields).toString()) });
  }
  const refusedFor = (message: RegExp) =>
    expect.objectContaining({
      constructor: NotificationRejected,
      reason: 'merchant',
      message: expect.stringMatching(message),
    });

  it("accepts a notification for the authorising merchant's app", async () => {
    await expect(notify(gateway(isv))).resolves.toMatchObject({
      kind: 'payment',
      paymentNo: 'P1',
      result: { kind: 'paid', gatewayTradeNo: 'T1', paidAmountFen: 2500 },
      notificationId: 'N1',
    });
  });

  it('refuses a notification for another merchant the app serves (another auth_app_id)', async () => {
    await expect(notify(gateway(isv), { auth_app_id: '2021000000000999' })).rejects.toEqual(
      refusedFor(/auth_app_id 2021000000000999/),
    );
  });

  it('refuses a notification without auth_app_id', async () => {
    await expect(notify(gateway(isv), { auth_app_id: undefined })).rejects.toEqual(refusedFor(/auth_app_id \(none\)/));
  });

  it('still refuses another app_id, and another seller_id when one is configured', async () => {
    await expect(notify(gateway(isv), { app_id: '2021000000000999' })).rejects.toEqual(
      refusedFor(/app_id 2021000000000999/),
    );
    await expect(notify(gateway({ ...isv, sellerId: '2088000000000002' }))).rejects.toEqual(
      refusedFor(/seller_id 2088000000000001/),
    );
  });

  it("as the merchant's own app, accepts its notification (auth_app_id equal to app_id), as before", async () => {
    await expect(notify(gateway(), { auth_app_id: ISV_APP_ID })).resolves.toMatchObject({ result: { kind: 'paid' } });
  });
});
