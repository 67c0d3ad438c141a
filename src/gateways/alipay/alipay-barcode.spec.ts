import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AlipayGateway, type AlipaySettings } from './alipay.gateway';
import { alipaySignContent, rsa2Sign, rsa2Verify } from '../wire/alipay.protocol';

/**
 * Barcode payments (当面付 条码支付) against a fake gateway.do on loopback: alipay-sdk sends its real requests,
 * the fake records every parameter (URL and form) and answers what the test sets, signed with the fake Alipay
 * key as gateway.do signs it.
 */

const APP_ID = '2021000000000001';
const TOKEN = '202611BBf1c2e3d4a5b6c7d8e9f0a1b2c3d4eX01';
const app = generateKeyPairSync('rsa', { modulusLength: 2048 });
const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });

type Received = Record<string, string>;
let received: { path: string; httpMethod: string; params: Received }[] = [];
let answer: (method: string) => Record<string, string> = () => ({ code: '10000', msg: 'Success' });
/** Answer with this HTTP status and no Alipay body (a proxy's 502...), when set. */
let httpStatus: number | undefined;
let server: Server;
let gatewayUrl = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const params: Received = {};
      for (const [key, value] of [...url.searchParams, ...new URLSearchParams(body)]) params[key] = value;
      received.push({ path: url.pathname, httpMethod: req.method ?? '', params });
      if (httpStatus) {
        res.writeHead(httpStatus).end('Bad Gateway');
        return;
      }
      const inner = JSON.stringify(answer(params.method ?? ''));
      const key = `${(params.method ?? '').replaceAll('.', '_')}_response`;
      res.writeHead(200, { 'content-type': 'application/json;charset=utf-8' });
      res.end(`{"${key}":${inner},"sign":"${rsa2Sign(inner, alipay.privateKey)}"}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gatewayUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/gateway.do`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  received = [];
  httpStatus = undefined;
  answer = () => ({ code: '10000', msg: 'Success' });
});

function gateway(isv: Pick<AlipaySettings, 'appAuthToken' | 'authAppId'> = {}): AlipayGateway {
  return new AlipayGateway({
    gatewayUrl,
    appId: APP_ID,
    appPrivateKeyPem: app.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    alipayPublicKeyPem: alipay.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    notifyUrl: 'https://pc.example/api/payments/notify/alipay',
    timeoutMs: 1000,
    ...isv,
  });
}

const request = {
  paymentNo: 'P1',
  amountFen: 2599,
  currency: 'CNY' as const,
  description: 'Tea',
  authCode: '283456789012345670',
};
const failed = (subCode: string, code = '40004') => ({ code, msg: 'Business Failed', sub_code: subCode, sub_msg: 'x' });

describe('Alipay barcode pay (alipay.trade.pay, scene bar_code)', () => {
  it('supports barcode payments, also as a third-party app', () => {
    expect(gateway().barcodeUnsupported()).toBeUndefined();
    expect(gateway({ appAuthToken: TOKEN, authAppId: '2021000000000777' }).barcodeUnsupported()).toBeUndefined();
  });

  it('posts one signed alipay.trade.pay to gateway.do with the code, the amount in yuan and the counter', async () => {
    answer = () => ({
      code: '10000',
      msg: 'Success',
      trade_no: '2026112522001400001',
      out_trade_no: 'P1',
      total_amount: '25.99',
      gmt_payment: '2026-11-25 10:00:00',
    });
    const result = await gateway().payByCode({ ...request, terminal: { storeId: 'S01', deviceId: 'POS7' } });
    expect(result).toEqual({
      kind: 'paid',
      gatewayTradeNo: '2026112522001400001',
      paidAmountFen: 2599,
      paidAt: new Date('2026-11-25T02:00:00Z'),
    });
    expect(received).toHaveLength(1);
    const [{ path, httpMethod, params }] = received;
    expect({ path, httpMethod }).toEqual({ path: '/gateway.do', httpMethod: 'POST' });
    expect(params).toMatchObject({
      method: 'alipay.trade.pay',
      app_id: APP_ID,
      sign_type: 'RSA2',
      notify_url: 'https://pc.example/api/payments/notify/alipay',
    });
    expect(params.app_auth_token).toBeUndefined();
    expect(JSON.parse(params.biz_content)).toEqual({
      out_trade_no: 'P1',
      scene: 'bar_code',
      auth_code: '283456789012345670',
      product_code: 'FACE_TO_FACE_PAYMENT',
      subject: 'Tea',
      total_amount: '25.99',
      store_id: 'S01',
      terminal_id: 'POS7',
    });
    expect(rsa2Verify(alipaySignContent(params, ['sign']), params.sign, app.publicKey)).toBe(true);
  });

  it('leaves the counter out when none is given', async () => {
    await gateway().payByCode(request);
    expect(Object.keys(JSON.parse(received[0].params.biz_content) as object)).not.toContain('store_id');
  });

  it('sends app_auth_token, signed, outside biz_content, as a third-party app', async () => {
    await gateway({ appAuthToken: TOKEN, authAppId: '2021000000000777' }).payByCode(request);
    const { params } = received[0];
    expect(params.app_auth_token).toBe(TOKEN);
    expect(params.biz_content).not.toContain(TOKEN);
    expect(rsa2Verify(alipaySignContent(params, ['sign']), params.sign, app.publicKey)).toBe(true);
  });

  it('10003: the buyer is asked for a password, paying', async () => {
    answer = () => ({ code: '10003', msg: 'order success pay inprocess', trade_no: 'T1', out_trade_no: 'P1' });
    await expect(gateway().payByCode(request)).resolves.toEqual({
      kind: 'paying',
      reason: '10003 order success pay inprocess',
    });
  });

  it.each([
    'ACQ.PAYMENT_AUTH_CODE_INVALID',
    'ACQ.BUYER_BALANCE_NOT_ENOUGH',
    'ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH',
    'ACQ.BUYER_ENABLE_STATUS_FORBID',
    'ACQ.TRADE_HAS_CLOSE',
    'ACQ.INVALID_PARAMETER',
  ])('40004 %s is a definite refusal', async (subCode) => {
    answer = () => failed(subCode);
    await expect(gateway().payByCode(request)).resolves.toEqual({ kind: 'refused', code: subCode, message: 'x' });
  });

  it.each([
    ['20000 isp.unknown-error', failed('isp.unknown-error', '20000')],
    ['40004 ACQ.SYSTEM_ERROR', failed('ACQ.SYSTEM_ERROR')],
    ['40004 ACQ.TRADE_HAS_SUCCESS (a trade of this number exists, maybe paid)', failed('ACQ.TRADE_HAS_SUCCESS')],
    ['40004 ACQ.CONTEXT_INCONSISTENT', failed('ACQ.CONTEXT_INCONSISTENT')],
    ['40004 an unlisted sub_code', failed('ACQ.SOMETHING_NEW')],
    ['40002 (gateway-level)', failed('isv.invalid-signature', '40002')],
    ['10000 without trade_no', { code: '10000', msg: 'Success', total_amount: '25.99' }],
  ])('%s is unknown, never refused', async (_, body) => {
    answer = () => body;
    await expect(gateway().payByCode(request)).resolves.toMatchObject({ kind: 'unknown' });
  });

  it('an HTTP error, a badly signed answer or no answer in time is unknown', async () => {
    httpStatus = 502;
    await expect(gateway().payByCode(request)).resolves.toMatchObject({ kind: 'unknown' });
    httpStatus = undefined;
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = new AlipayGateway({
      gatewayUrl,
      appId: APP_ID,
      appPrivateKeyPem: app.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      alipayPublicKeyPem: stranger.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      notifyUrl: '',
      timeoutMs: 1000,
    });
    await expect(forged.payByCode(request)).resolves.toMatchObject({ kind: 'unknown' });
    const silent = new AlipayGateway({
      gatewayUrl: 'http://127.0.0.1:9/gateway.do',
      appId: APP_ID,
      appPrivateKeyPem: app.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      alipayPublicKeyPem: alipay.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      notifyUrl: '',
      timeoutMs: 300,
    });
    await expect(silent.payByCode(request)).resolves.toMatchObject({ kind: 'unknown' });
  });
});

describe('Alipay barcode reverse (alipay.trade.cancel)', () => {
  const cancelled = (fields: Record<string, string>) => ({
    code: '10000',
    msg: 'Success',
    out_trade_no: 'P1',
    ...fields,
  });

  it('posts one signed alipay.trade.cancel naming the trade by both numbers', async () => {
    answer = () => cancelled({ retry_flag: 'N', action: 'close', trade_no: 'T1' });
    await expect(gateway().reverse({ paymentNo: 'P1', gatewayTradeNo: 'T1' })).resolves.toEqual({ kind: 'closed' });
    expect(received).toHaveLength(1);
    const [{ path, httpMethod, params }] = received;
    expect({ path, httpMethod, method: params.method }).toEqual({
      path: '/gateway.do',
      httpMethod: 'POST',
      method: 'alipay.trade.cancel',
    });
    expect(JSON.parse(params.biz_content)).toEqual({ out_trade_no: 'P1', trade_no: 'T1' });
    expect(params.notify_url).toBeUndefined();
    expect(rsa2Verify(alipaySignContent(params, ['sign']), params.sign, app.publicKey)).toBe(true);
  });

  it('names the trade by out_trade_no alone when Alipay never gave a trade_no; with app_auth_token as an ISV', async () => {
    await gateway({ appAuthToken: TOKEN, authAppId: '2021000000000777' }).reverse({
      paymentNo: 'P1',
      gatewayTradeNo: null,
    });
    expect(JSON.parse(received[0].params.biz_content)).toEqual({ out_trade_no: 'P1' });
    expect(received[0].params.app_auth_token).toBe(TOKEN);
  });

  it.each([
    ['action close', cancelled({ retry_flag: 'N', action: 'close' }), { kind: 'closed' }],
    [
      'action refund',
      cancelled({ retry_flag: 'N', action: 'refund', trade_no: 'T9' }),
      { kind: 'refunded', gatewayTradeNo: 'T9' },
    ],
    ['success without action (no such trade)', cancelled({ retry_flag: 'N' }), { kind: 'absent' }],
    ['40004 with retry_flag Y', { ...failed('ACQ.SYSTEM_ERROR'), retry_flag: 'Y' }, { kind: 'again' }],
    ['20000', failed('isp.unknown-error', '20000'), { kind: 'unknown' }],
    ['40004 ACQ.SYSTEM_ERROR, retry_flag N', { ...failed('ACQ.SYSTEM_ERROR'), retry_flag: 'N' }, { kind: 'unknown' }],
    ['40004 ACQ.TRADE_CANCEL_TIME_OUT', failed('ACQ.TRADE_CANCEL_TIME_OUT'), { kind: 'unknown' }],
    ['40004 ACQ.SELLER_BALANCE_NOT_ENOUGH', failed('ACQ.SELLER_BALANCE_NOT_ENOUGH'), { kind: 'unknown' }],
    ['an action Alipay never documented', cancelled({ retry_flag: 'N', action: 'other' }), { kind: 'unknown' }],
  ])('%s', async (_, body, expected) => {
    answer = () => body;
    await expect(gateway().reverse({ paymentNo: 'P1', gatewayTradeNo: 'T1' })).resolves.toMatchObject(expected);
  });

  it('an HTTP error is unknown', async () => {
    httpStatus = 500;
    await expect(gateway().reverse({ paymentNo: 'P1', gatewayTradeNo: 'T1' })).resolves.toMatchObject({
      kind: 'unknown',
    });
  });
});

describe('Alipay barcode trades in the query', () => {
  it.each([
    ['WAIT_BUYER_PAY (the buyer has not entered the password)', 'WAIT_BUYER_PAY', { kind: 'not_paid' }],
    ['TRADE_CLOSED (cancelled, or refused)', 'TRADE_CLOSED', { kind: 'closed' }],
  ])('%s', async (_, status, expected) => {
    answer = () => ({ code: '10000', msg: 'Success', out_trade_no: 'P1', trade_no: 'T1', trade_status: status });
    await expect(gateway().query('P1')).resolves.toEqual(expected);
  });
});
