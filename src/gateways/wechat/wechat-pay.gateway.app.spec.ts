import { jest } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import type { CreatePaymentRequest, PayCredential, PayWay } from '../gateway.types';
import { WechatPayGateway, type WechatPaySettings } from './wechat-pay.gateway';
import {
  encryptResource,
  newNonce,
  parseAuthorization,
  requestMessage,
  responseMessage,
  rsaSign,
  rsaVerify,
} from '../wire/wechatpay.protocol';

/**
 * WeChat APP payments (the merchant's own native app) against a fake WeChat Pay: `fetch` is replaced, every
 * request is recorded as sent and answered with a body signed by the platform key. Pinned here: the order as
 * WeChat's APP API takes it, the `PayReq` parameters and their signature, and which apps and accounts may use it.
 */

const BASE_URL = 'http://wechat.test';
const MCHID = '1900000109';
const APPID = 'wxd678efh567hg6787';
const MINI_PROGRAM = 'wx0000000000000001';
const MOBILE_APP = 'wxd930ea5d5a258f4f';
const OTHER_MOBILE_APP = 'wx1111111111111111';
const platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
const NOW = new Date('2026-12-07T08:00:00Z');

function gateway(change: Partial<WechatPaySettings> = {}): WechatPayGateway {
  return new WechatPayGateway({
    baseUrl: BASE_URL,
    mchid: MCHID,
    appid: APPID,
    miniProgramAppIds: [MINI_PROGRAM],
    mobileAppIds: [MOBILE_APP, OTHER_MOBILE_APP],
    merchantSerialNo: 'SERIAL',
    merchantPrivateKey: merchant.privateKey,
    platformKeys: new Map([['PUB_KEY_ID_1', platform.publicKey]]),
    apiV3Key: '0123456789abcdef0123456789abcdef',
    notifyUrl: 'https://pc.example/api/payments/notify/wechat',
    timeoutMs: 1000,
    now: () => NOW,
    ...change,
  });
}

interface Sent {
  method: string;
  pathWithQuery: string;
  authorization: string;
  body: string;
}

/** Replaces fetch with WeChat Pay answering `answers` in order (signed with the platform key); returns what was sent. */
function fakeWechat(...answers: ({ status: number; json?: unknown } | 'network')[]): Sent[] {
  const sent: Sent[] = [];
  jest.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
    const url = input instanceof Request ? input.url : input.toString();
    sent.push({
      method: init?.method ?? 'GET',
      pathWithQuery: url.slice(BASE_URL.length),
      authorization: new Headers(init?.headers).get('authorization') ?? '',
      body: typeof init?.body === 'string' ? init.body : '',
    });
    const answer = answers.shift();
    if (!answer) return Promise.reject(new Error(`no answer left for ${url}`));
    if (answer === 'network') return Promise.reject(new TypeError('fetch failed'));
    const text = answer.json === undefined ? '' : JSON.stringify(answer.json);
    // The adapter's clock is NOW: the answer is stamped with it, or the adapter would refuse it as stale.
    const timestamp = String(Math.floor(NOW.getTime() / 1000));
    const nonce = newNonce();
    const headers = {
      'wechatpay-timestamp': timestamp,
      'wechatpay-nonce': nonce,
      'wechatpay-serial': 'PUB_KEY_ID_1',
      'wechatpay-signature': rsaSign(responseMessage(timestamp, nonce, text), platform.privateKey),
    };
    return Promise.resolve(new Response(text, { status: answer.status, headers }));
  });
  return sent;
}

afterEach(() => jest.restoreAllMocks());

const order = (way: PayWay = { mode: 'app' }): CreatePaymentRequest => ({
  paymentNo: 'P1',
  amountFen: 2500,
  currency: 'CNY',
  description: 'Tea',
  expiresAt: new Date('2026-12-07T08:30:00Z'),
  way,
});

type AppCredential = Extract<PayCredential, { type: 'wechat_app' }>;

async function createdCredential(sut: WechatPayGateway, way?: PayWay): Promise<AppCredential> {
  const result = await sut.createPayment(order(way));
  if (result.kind !== 'created' || result.credential.type !== 'wechat_app') {
    throw new Error(`not a wechat_app credential: ${JSON.stringify(result)}`);
  }
  return result.credential;
}

describe('WeChat APP payments: the order, as sent', () => {
  it('posts /v3/pay/transactions/app under the first mobile app, with the fields the APP API takes', async () => {
    const sent = fakeWechat({ status: 200, json: { prepay_id: 'wx07160000000000000000000000000001' } });
    await createdCredential(gateway());
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ method: 'POST', pathWithQuery: '/v3/pay/transactions/app' });
    // The mobile app's appid (Open Platform), never the official account's; amount in fen; Beijing-time expiry.
    expect(JSON.parse(sent[0].body)).toEqual({
      appid: MOBILE_APP,
      mchid: MCHID,
      description: 'Tea',
      out_trade_no: 'P1',
      time_expire: '2026-12-07T16:30:00+08:00',
      notify_url: 'https://pc.example/api/payments/notify/wechat',
      amount: { total: 2500, currency: 'CNY' },
    });
    const fields = parseAuthorization(sent[0].authorization);
    expect(fields).toMatchObject({ mchid: MCHID, serial_no: 'SERIAL' });
    const signed = requestMessage('POST', sent[0].pathWithQuery, fields!.timestamp, fields!.nonce_str, sent[0].body);
    expect(rsaVerify(signed, fields!.signature, merchant.publicKey)).toBe(true);
  });

  it('orders under the mobile app the request names, when it is one of the merchant’s', async () => {
    const sent = fakeWechat({ status: 200, json: { prepay_id: 'wx07160000000000000000000000000002' } });
    const credential = await createdCredential(gateway(), { mode: 'app', appId: OTHER_MOBILE_APP });
    expect((JSON.parse(sent[0].body) as { appid: string }).appid).toBe(OTHER_MOBILE_APP);
    expect(credential.appId).toBe(OTHER_MOBILE_APP);
  });
});

describe('WeChat APP payments: the PayReq parameters and their signature', () => {
  it('answers appId, partnerId (the mchid), prepayId, package Sign=WXPay, nonceStr, timeStamp and sign', async () => {
    fakeWechat({ status: 200, json: { prepay_id: 'wx07160000000000000000000000000003' } });
    const credential = await createdCredential(gateway());
    expect(credential).toEqual({
      type: 'wechat_app',
      appId: MOBILE_APP,
      partnerId: MCHID,
      prepayId: 'wx07160000000000000000000000000003',
      package: 'Sign=WXPay',
      nonceStr: expect.stringMatching(/^[0-9A-Za-z]{1,32}$/),
      timeStamp: String(NOW.getTime() / 1000),
      sign: expect.any(String),
    });
  });

  it('signs appId\\ntimeStamp\\nnonceStr\\nprepayId\\n with the merchant key (APP 调起支付签名), nothing else', async () => {
    fakeWechat({ status: 200, json: { prepay_id: 'wx07160000000000000000000000000004' } });
    const c = await createdCredential(gateway());
    const message = `${c.appId}\n${c.timeStamp}\n${c.nonceStr}\n${c.prepayId}\n`;
    expect(rsaVerify(message, c.sign, merchant.publicKey)).toBe(true);
    // Not the JSAPI form (prepay_id=…), not with partnerid or package, not by another key.
    expect(
      rsaVerify(`${c.appId}\n${c.timeStamp}\n${c.nonceStr}\nprepay_id=${c.prepayId}\n`, c.sign, merchant.publicKey),
    ).toBe(false);
    expect(
      rsaVerify(
        `${c.appId}\n${c.partnerId}\n${c.timeStamp}\n${c.nonceStr}\n${c.prepayId}\n`,
        c.sign,
        merchant.publicKey,
      ),
    ).toBe(false);
    expect(rsaVerify(message, c.sign, platform.publicKey)).toBe(false);
  });
});

describe('WeChat APP payments: each answer in our terms', () => {
  it('a 4xx is a definite refusal; a 429, a 5xx, an answer without prepay_id or a lost one is unknown', async () => {
    fakeWechat(
      { status: 400, json: { code: 'APPID_MCHID_NOT_MATCH', message: 'appid和mch_id不匹配' } },
      { status: 429, json: { code: 'FREQUENCY_LIMITED', message: '频率超限' } },
      { status: 500, json: { code: 'SYSTEM_ERROR', message: '系统错误' } },
      { status: 200, json: {} },
      'network',
    );
    const sut = gateway();
    await expect(sut.createPayment(order())).resolves.toEqual({
      kind: 'rejected',
      code: 'APPID_MCHID_NOT_MATCH',
      message: 'appid和mch_id不匹配',
    });
    for (let i = 0; i < 4; i++) await expect(sut.createPayment(order())).resolves.toMatchObject({ kind: 'unknown' });
  });

  it('believes a notification of a trade made under one of its mobile apps', async () => {
    const sut = gateway();
    const transaction = {
      appid: MOBILE_APP,
      mchid: MCHID,
      out_trade_no: 'P1',
      transaction_id: '4200000001',
      trade_type: 'APP',
      trade_state: 'SUCCESS',
      success_time: '2026-12-07T16:01:00+08:00',
      amount: { total: 2500, payer_total: 2500, currency: 'CNY', payer_currency: 'CNY' },
    };
    const body = JSON.stringify({
      id: 'EV-1',
      event_type: 'TRANSACTION.SUCCESS',
      resource_type: 'encrypt-resource',
      resource: encryptResource(
        JSON.stringify(transaction),
        '0123456789abcdef0123456789abcdef',
        'transaction',
        'transaction',
      ),
    });
    const timestamp = String(Math.floor(NOW.getTime() / 1000));
    const headers = {
      'wechatpay-timestamp': timestamp,
      'wechatpay-nonce': 'N1',
      'wechatpay-serial': 'PUB_KEY_ID_1',
      'wechatpay-signature': rsaSign(responseMessage(timestamp, 'N1', body), platform.privateKey),
    };
    await expect(sut.parseNotification({ headers, rawBody: Buffer.from(body) })).resolves.toMatchObject({
      kind: 'payment',
      paymentNo: 'P1',
      result: { kind: 'paid', paidAmountFen: 2500 },
    });
  });
});

describe('WeChat APP payments: who may use them (a 422 before anything is written)', () => {
  it('names WECHAT_MOBILE_APP_IDS when the merchant has no mobile app, and orders nothing', async () => {
    const sent = fakeWechat();
    const sut = gateway({ mobileAppIds: [] });
    expect(sut.payModeUnsupported({ mode: 'app' })).toMatch(/WECHAT_MOBILE_APP_IDS/);
    expect(gateway({ mobileAppIds: undefined }).payModeUnsupported({ mode: 'app' })).toMatch(/WECHAT_MOBILE_APP_IDS/);
    await expect(sut.createPayment(order())).resolves.toMatchObject({ kind: 'rejected', code: 'MODE_UNSUPPORTED' });
    expect(sent).toHaveLength(0);
  });

  it.each([
    ['an app of someone else', 'wx0123456789abcdef'],
    ['its official account (a JSAPI app)', APPID],
    ['its mini-program (a JSAPI app)', MINI_PROGRAM],
  ])('refuses an APP payment under %s', (_, appId) => {
    expect(gateway().payModeUnsupported({ mode: 'app', appId })).toMatch(new RegExp(`${appId}.*mobile apps`));
  });

  it('takes the mobile apps for APP only: a JSAPI payment under a mobile app is refused', () => {
    const way: PayWay = { mode: 'in_app', payerId: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', appId: MOBILE_APP };
    expect(gateway().payModeUnsupported(way)).toMatch(MOBILE_APP);
    expect(gateway().payModeUnsupported({ mode: 'app', appId: MOBILE_APP })).toBeUndefined();
  });

  it("refuses it for a service provider's sub-merchant (the partner APP API is not wired)", () => {
    expect(gateway({ subMchid: '1900000200' }).payModeUnsupported({ mode: 'app' })).toMatch(/sub-merchant/);
  });
});
