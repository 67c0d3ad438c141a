import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CreatePaymentRequest, PayWay } from '../gateway.types';
import { AlipayGateway, type AlipaySettings } from './alipay.gateway';
import { alipaySignContent, rsa2Sign, rsa2Verify } from '../wire/alipay.protocol';

/**
 * The pay modes beside the QR code: what each signs or sends. Page, WAP and app requests are signed here and sent
 * nowhere (the fake gateway must see no call); alipay.trade.create is a real call to a fake gateway.do on loopback,
 * which records every parameter and answers what the test sets, signed with the fake Alipay key.
 */

const APP_ID = '2021000000000001';
const MINI_PROGRAM = '2021000000000555';
const TOKEN = '202611BBf1c2e3d4a5b6c7d8e9f0a1b2c3d4eX01';
const USER_ID = '2088102177846881';
const OPEN_ID = '074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5';
const RETURN_URL = 'https://pc.example/pay/return/P1';
const app = generateKeyPairSync('rsa', { modulusLength: 2048 });
const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });

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
      const url = new URL(req.url ?? '/', 'http://fake');
      const params: Received = {};
      for (const [key, value] of [...url.searchParams, ...new URLSearchParams(body)]) params[key] = value;
      received.push(params);
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
  answer = () => ({ code: '10000', msg: 'Success' });
});

function gateway(extra: Partial<AlipaySettings> = {}): AlipayGateway {
  return new AlipayGateway({
    gatewayUrl,
    appId: APP_ID,
    appPrivateKeyPem: app.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    alipayPublicKeyPem: alipay.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    notifyUrl: 'https://pc.example/api/payments/notify/alipay',
    timeoutMs: 3000,
    miniProgramAppIds: [MINI_PROGRAM],
    ...extra,
  });
}
const isv = { appAuthToken: TOKEN, authAppId: '2021000000000777' };

// 2026-12-07 18:30:00 in Beijing.
const expiresAt = new Date('2026-12-07T10:30:00Z');
const request = (way: PayWay): CreatePaymentRequest => ({
  paymentNo: 'P1',
  amountFen: 2501,
  currency: 'CNY',
  description: 'Tea',
  expiresAt,
  way,
});

/** The parameters of a signed request, checked as Alipay checks them: all but `sign`, sorted, RSA2 app key. */
function expectSignedByApp(params: Received): void {
  expect(params.sign_type).toBe('RSA2');
  expect(rsa2Verify(alipaySignContent(params, ['sign']), params.sign, app.publicKey)).toBe(true);
}

function paramsOfUrl(url: string): Received {
  return Object.fromEntries(new URL(url).searchParams);
}

function paramsOfOrderString(orderString: string): Received {
  return Object.fromEntries(
    orderString.split('&').map((pair) => {
      const at = pair.indexOf('=');
      return [pair.slice(0, at), decodeURIComponent(pair.slice(at + 1))];
    }),
  );
}

describe('Alipay page modes: a signed link to the cashier, nothing sent', () => {
  it.each([
    ['pc_web', 'alipay.trade.page.pay', 'FAST_INSTANT_TRADE_PAY'],
    ['mobile_web', 'alipay.trade.wap.pay', 'QUICK_WAP_WAY'],
  ] as const)('%s: %s (%s), return_url, notify_url, time_expire, yuan', async (mode, method, productCode) => {
    const result = await gateway().createPayment(request({ mode, returnUrl: RETURN_URL, clientIp: '203.0.113.7' }));
    expect(result).toMatchObject({ kind: 'created', credential: { type: 'redirect' } });
    if (result.kind !== 'created' || result.credential.type !== 'redirect') throw new Error('no redirect');
    expect(result.gatewayTradeNo).toBeUndefined();
    const url = new URL(result.credential.url);
    expect(`${url.origin}${url.pathname}`).toBe(gatewayUrl);
    const params = paramsOfUrl(result.credential.url);
    expect(params).toMatchObject({
      app_id: APP_ID,
      method,
      charset: 'utf-8',
      version: '1.0',
      notify_url: 'https://pc.example/api/payments/notify/alipay',
      return_url: RETURN_URL,
    });
    expect(params.app_auth_token).toBeUndefined();
    expect(JSON.parse(params.biz_content)).toEqual({
      out_trade_no: 'P1',
      total_amount: '25.01',
      subject: 'Tea',
      time_expire: '2026-12-07 18:30:00',
      product_code: productCode,
      ...(mode === 'mobile_web' ? { quit_url: RETURN_URL } : {}),
    });
    // Alipay documents no client IP for these APIs: it is not sent.
    expect(result.credential.url).not.toContain('203.0.113.7');
    expectSignedByApp(params);
    expect(received).toEqual([]);
  });

  it('in ISV mode carries app_auth_token, signed with the rest', async () => {
    const result = await gateway(isv).createPayment(request({ mode: 'pc_web', returnUrl: RETURN_URL }));
    if (result.kind !== 'created' || result.credential.type !== 'redirect') throw new Error('no redirect');
    const params = paramsOfUrl(result.credential.url);
    expect(params.app_auth_token).toBe(TOKEN);
    expectSignedByApp(params);
    const { app_auth_token: _token, ...without } = params;
    expect(rsa2Verify(alipaySignContent(without, ['sign']), params.sign, app.publicKey)).toBe(false);
  });

  it('a key that cannot sign is a refusal (nothing exists at Alipay), not a throw', async () => {
    const ed25519 = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const result = await gateway({ appPrivateKeyPem: ed25519 }).createPayment(request({ mode: 'pc_web' }));
    expect(result).toMatchObject({ kind: 'rejected', code: 'SIGN_FAILED' });
  });
});

describe('Alipay app mode: the app SDK order string', () => {
  it.each([
    ['own app', {}],
    ['ISV', isv],
  ])('alipay.trade.app.pay (QUICK_MSECURITY_PAY) signed over every parameter but sign (%s)', async (_, extra) => {
    const result = await gateway(extra).createPayment(request({ mode: 'app' }));
    if (result.kind !== 'created' || result.credential.type !== 'alipay_order_string') throw new Error('no string');
    const params = paramsOfOrderString(result.credential.orderString);
    expect(params).toMatchObject({
      app_id: APP_ID,
      method: 'alipay.trade.app.pay',
      notify_url: 'https://pc.example/api/payments/notify/alipay',
    });
    expect(params.app_auth_token).toBe('appAuthToken' in extra ? TOKEN : undefined);
    expect(JSON.parse(params.biz_content)).toEqual({
      out_trade_no: 'P1',
      total_amount: '25.01',
      subject: 'Tea',
      time_expire: '2026-12-07 18:30:00',
      product_code: 'QUICK_MSECURITY_PAY',
    });
    expectSignedByApp(params);
    expect(received).toEqual([]);
  });
});

describe('Alipay in_app and mini_program: alipay.trade.create for one buyer', () => {
  const created = { code: '10000', msg: 'Success', out_trade_no: 'P1', trade_no: '2026120722001400001' };

  it.each([
    ['in_app', USER_ID, undefined, { buyer_id: USER_ID }],
    ['in_app', OPEN_ID, undefined, { buyer_open_id: OPEN_ID }],
    ['mini_program', USER_ID, MINI_PROGRAM, { buyer_id: USER_ID, op_app_id: MINI_PROGRAM }],
    ['mini_program', OPEN_ID, APP_ID, { buyer_open_id: OPEN_ID }],
  ] as const)('%s for %s in app %s', async (mode, payerId, appId, buyer) => {
    answer = () => created;
    const result = await gateway().createPayment(request({ mode, payerId, ...(appId ? { appId } : {}) }));
    expect(result).toEqual({
      kind: 'created',
      credential: { type: 'alipay_trade_no', tradeNo: created.trade_no },
      gatewayTradeNo: created.trade_no,
    });
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ method: 'alipay.trade.create', notify_url: expect.any(String) });
    expect(JSON.parse(received[0].biz_content)).toEqual({
      out_trade_no: 'P1',
      total_amount: '25.01',
      subject: 'Tea',
      time_expire: '2026-12-07 18:30:00',
      product_code: 'JSAPI_PAY',
      ...buyer,
    });
    expectSignedByApp(received[0]);
  });

  it('in ISV mode carries app_auth_token', async () => {
    answer = () => created;
    await gateway(isv).createPayment(request({ mode: 'in_app', payerId: USER_ID }));
    expect(received[0].app_auth_token).toBe(TOKEN);
    expectSignedByApp(received[0]);
  });

  it.each([
    [{ code: '40004', msg: 'Business Failed', sub_code: 'ACQ.INVALID_PARAMETER', sub_msg: 'bad' }, 'rejected'],
    [{ code: '40004', msg: 'Business Failed', sub_code: 'ACQ.SYSTEM_ERROR', sub_msg: 'busy' }, 'unknown'],
    [{ code: '20000', msg: 'Service Currently Unavailable', sub_code: 'isp.unknown-error' }, 'unknown'],
    [{ code: '10000', msg: 'Success', out_trade_no: 'P1' }, 'unknown'],
  ])('answers %j as %s', async (reply, kind) => {
    answer = () => reply;
    expect((await gateway().createPayment(request({ mode: 'in_app', payerId: USER_ID }))).kind).toBe(kind);
  });
});

describe('Alipay pay way checks', () => {
  const sut = gateway();
  it.each([
    [{ mode: 'in_app', payerId: '1234567890123456' }, 'payerId'],
    [{ mode: 'mini_program', payerId: '20881021778468810' }, 'payerId'],
    [{ mode: 'in_app', payerId: '2088-1021-7784-68' }, 'payerId'],
    [{ mode: 'in_app' }, 'payerId'],
    [{ mode: 'mini_program', payerId: USER_ID, appId: 'wx0123456789abcdef' }, 'appId'],
    [{ mode: 'mini_program', payerId: USER_ID, appId: '202100000000055' }, 'appId'],
  ] as [PayWay, string][])('%j is invalid: %s', (way, field) => {
    expect(sut.payWayInvalid(way)?.field).toBe(field);
  });

  it.each([
    { mode: 'in_app', payerId: USER_ID },
    { mode: 'mini_program', payerId: OPEN_ID, appId: MINI_PROGRAM },
    { mode: 'pc_web' },
    { mode: 'mobile_web', clientIp: '203.0.113.7' },
    { mode: 'app' },
  ] as PayWay[])('%j is offered and valid', (way) => {
    expect(sut.payModeUnsupported(way)).toBeUndefined();
    expect(sut.payWayInvalid(way)).toBeUndefined();
  });

  it("refuses an app that is not the merchant's (422), and app pay for another app", () => {
    expect(sut.payModeUnsupported({ mode: 'mini_program', payerId: USER_ID, appId: '2021000000000999' })).toContain(
      '2021000000000999',
    );
    expect(sut.payModeUnsupported({ mode: 'app', appId: MINI_PROGRAM })).toContain('own app');
    expect(sut.payModeUnsupported({ mode: 'app', appId: APP_ID })).toBeUndefined();
  });

  it('creates nothing for a way it refuses', async () => {
    const result = await sut.createPayment(request({ mode: 'in_app', payerId: '1234567890123456' }));
    expect(result).toMatchObject({ kind: 'rejected', code: 'MODE_UNSUPPORTED' });
    expect(received).toEqual([]);
  });
});
