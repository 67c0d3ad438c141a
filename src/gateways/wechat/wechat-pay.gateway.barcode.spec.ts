import { jest } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import type { BarcodePayRequest } from '../gateway.types';
import { WechatPayGateway, type WechatPaySettings } from './wechat-pay.gateway';
import {
  newNonce,
  parseAuthorization,
  requestMessage,
  responseMessage,
  rsaSign,
  rsaVerify,
} from '../wire/wechatpay.protocol';

/**
 * Barcode (付款码) payments against a fake WeChat Pay: `fetch` is replaced, every request the adapter sends is
 * recorded as sent and answered with a body signed by the platform key, so each vendor answer's mapping is pinned.
 */

const BASE_URL = 'http://wechat.test';
const MCHID = '1900000109';
const APPID = 'wxd678efh567hg6787';
const platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });

function gateway(partner: Pick<WechatPaySettings, 'subMchid'> = {}): WechatPayGateway {
  return new WechatPayGateway({
    baseUrl: BASE_URL,
    mchid: MCHID,
    appid: APPID,
    merchantSerialNo: 'SERIAL',
    merchantPrivateKey: merchant.privateKey,
    platformKeys: new Map([['PUB_KEY_ID_1', platform.publicKey]]),
    apiV3Key: '0123456789abcdef0123456789abcdef',
    notifyUrl: 'https://pc.example/api/payments/notify/wechat',
    timeoutMs: 1000,
    ...partner,
  });
}

interface Sent {
  method: string;
  pathWithQuery: string;
  authorization: string;
  body: string;
}
type Answer = { status: number; json?: unknown } | { unsigned: true; status: number; json: unknown } | 'network';

/** Replaces fetch with WeChat Pay answering `answers` in order; returns the requests as they were sent. */
function fakeWechat(...answers: Answer[]): Sent[] {
  const sent: Sent[] = [];
  jest.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
    const url = input instanceof Request ? input.url : input.toString();
    const headers = new Headers(init?.headers);
    sent.push({
      method: init?.method ?? 'GET',
      pathWithQuery: url.slice(BASE_URL.length),
      authorization: headers.get('authorization') ?? '',
      body: typeof init?.body === 'string' ? init.body : '',
    });
    const answer = answers.shift();
    if (!answer) return Promise.reject(new Error(`no answer left for ${url}`));
    if (answer === 'network') return Promise.reject(new TypeError('fetch failed'));
    const text = answer.json === undefined ? '' : JSON.stringify(answer.json);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = newNonce();
    const signed = {
      'wechatpay-timestamp': timestamp,
      'wechatpay-nonce': nonce,
      'wechatpay-serial': 'PUB_KEY_ID_1',
      'wechatpay-signature': rsaSign(responseMessage(timestamp, nonce, text), platform.privateKey),
    };
    const body = answer.status === 204 ? null : text;
    return Promise.resolve(new Response(body, { status: answer.status, headers: 'unsigned' in answer ? {} : signed }));
  });
  return sent;
}

afterEach(() => jest.restoreAllMocks());

function expectSignedByMerchant(request: Sent): void {
  const fields = parseAuthorization(request.authorization);
  expect(fields).toMatchObject({ mchid: MCHID, serial_no: 'SERIAL' });
  const message = requestMessage(
    request.method,
    request.pathWithQuery,
    fields!.timestamp,
    fields!.nonce_str,
    request.body,
  );
  expect(rsaVerify(message, fields!.signature, merchant.publicKey)).toBe(true);
}

const scan: BarcodePayRequest = {
  paymentNo: 'P1',
  amountFen: 2500,
  currency: 'CNY',
  description: 'Tea',
  authCode: '134567890123456780',
  terminal: { storeId: 'S-01', deviceId: 'POS-7' },
};

const paidTransaction = {
  appid: APPID,
  mchid: MCHID,
  out_trade_no: 'P1',
  transaction_id: '4200000001',
  trade_type: 'MICROPAY',
  trade_state: 'SUCCESS',
  trade_state_desc: '支付成功',
  success_time: '2026-11-25T10:00:00+08:00',
  amount: { total: 2500, payer_total: 2500, currency: 'CNY', payer_currency: 'CNY' },
};

describe('WeChat Pay code-pay: the request, as sent', () => {
  it('posts /v3/pay/transactions/codepay with appid, mchid, payer.auth_code, amount in fen and scene_info', async () => {
    const sent = fakeWechat({ status: 200, json: paidTransaction });
    await gateway().payByCode(scan);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ method: 'POST', pathWithQuery: '/v3/pay/transactions/codepay' });
    expect(JSON.parse(sent[0].body)).toEqual({
      appid: APPID,
      mchid: MCHID,
      description: 'Tea',
      out_trade_no: 'P1',
      payer: { auth_code: '134567890123456780' },
      amount: { total: 2500, currency: 'CNY' },
      scene_info: { device_id: 'POS-7', store_info: { out_id: 'S-01' } },
    });
    expectSignedByMerchant(sent[0]);
  });

  it('still sends the required scene_info.store_info when the counter names no store or device', async () => {
    const sent = fakeWechat({ status: 200, json: paidTransaction });
    await gateway().payByCode({ ...scan, terminal: undefined });
    expect(JSON.parse(sent[0].body)).toMatchObject({ scene_info: { store_info: {} } });
    expect((JSON.parse(sent[0].body) as { scene_info: object }).scene_info).toEqual({ store_info: {} });
  });
});

describe('WeChat Pay code-pay: each answer in our terms', () => {
  it('200 trade_state SUCCESS is paid, with the transaction id, the amount in fen and success_time', async () => {
    fakeWechat({ status: 200, json: paidTransaction });
    await expect(gateway().payByCode(scan)).resolves.toEqual({
      kind: 'paid',
      gatewayTradeNo: '4200000001',
      paidAmountFen: 2500,
      paidAt: new Date('2026-11-25T02:00:00Z'),
    });
  });

  it.each([
    [
      '202 {trade_state: USERPAYING} (the body may carry nothing else)',
      { status: 202, json: { trade_state: 'USERPAYING' } },
    ],
    ['202 {code: USERPAYING}', { status: 202, json: { code: 'USERPAYING', message: '用户支付中，需要输入密码' } }],
    ['200 trade_state USERPAYING', { status: 200, json: { ...paidTransaction, trade_state: 'USERPAYING' } }],
  ])('%s is paying', async (_, answer) => {
    fakeWechat(answer);
    await expect(gateway().payByCode(scan)).resolves.toMatchObject({ kind: 'paying' });
  });

  it.each([
    ['403 NOT_ENOUGH', 403, 'NOT_ENOUGH'],
    ['403 NOTENOUGH (v2 name)', 403, 'NOTENOUGH'],
    ['403 ACCOUNT_ERROR', 403, 'ACCOUNT_ERROR'],
    ['403 AUTH_CODE_INVALID', 403, 'AUTH_CODE_INVALID'],
    ['400 AUTHCODEEXPIRE', 400, 'AUTHCODEEXPIRE'],
    ['400 PARAM_ERROR', 400, 'PARAM_ERROR'],
    ['401 SIGN_ERROR', 401, 'SIGN_ERROR'],
    ['403 NO_AUTH', 403, 'NO_AUTH'],
  ])('%s is a definite refusal', async (_, status, code) => {
    fakeWechat({ status, json: { code, message: 'refused' } });
    await expect(gateway().payByCode(scan)).resolves.toEqual({ kind: 'refused', code, message: 'refused' });
  });

  it.each([
    ['500 SYSTEM_ERROR', { status: 500, json: { code: 'SYSTEM_ERROR', message: '系统繁忙,请稍后重试' } }],
    ['500 BANK_ERROR', { status: 500, json: { code: 'BANK_ERROR', message: '银行系统异常' } }],
    ['502 without a body', { status: 502 }],
    ['429 FREQUENCY_LIMITED', { status: 429, json: { code: 'FREQUENCY_LIMITED', message: '频率超限' } }],
    [
      '403 TRADE_ERROR (several business failures share it)',
      { status: 403, json: { code: 'TRADE_ERROR', message: '交易错误' } },
    ],
    ['403 OUT_TRADE_NO_USED', { status: 403, json: { code: 'OUT_TRADE_NO_USED', message: '商户订单号重复' } }],
    ['429 PARAM_ERROR (a refusal code on a retry status)', { status: 429, json: { code: 'PARAM_ERROR' } }],
    [
      '200 trade_state PAYERROR (the query tells)',
      { status: 200, json: { ...paidTransaction, trade_state: 'PAYERROR' } },
    ],
    ['200 SUCCESS without transaction_id', { status: 200, json: { ...paidTransaction, transaction_id: undefined } }],
    ['200 SUCCESS for another out_trade_no', { status: 200, json: { ...paidTransaction, out_trade_no: 'P2' } }],
    ['200 SUCCESS for another mchid', { status: 200, json: { ...paidTransaction, mchid: '1900000999' } }],
  ] as [string, Answer][])('%s is unknown, never refused', async (_, answer) => {
    fakeWechat(answer);
    await expect(gateway().payByCode(scan)).resolves.toMatchObject({ kind: 'unknown' });
  });

  it('an answer that is not signed by the platform key is unknown, even a refusal', async () => {
    fakeWechat({ unsigned: true, status: 403, json: { code: 'NOT_ENOUGH', message: '余额不足' } });
    await expect(gateway().payByCode(scan)).resolves.toMatchObject({ kind: 'unknown' });
  });

  it('a network failure is unknown', async () => {
    fakeWechat('network');
    await expect(gateway().payByCode(scan)).resolves.toMatchObject({ kind: 'unknown' });
  });
});

describe('WeChat Pay reverse (撤销)', () => {
  it('posts /v3/pay/transactions/out-trade-no/{no}/reverse with {appid, mchid}; 200 is closed', async () => {
    const sent = fakeWechat({ status: 200, json: { appid: APPID, mchid: MCHID, out_trade_no: 'P 1' } });
    await expect(gateway().reverse({ paymentNo: 'P 1', gatewayTradeNo: null })).resolves.toEqual({ kind: 'closed' });
    expect(sent[0]).toMatchObject({ method: 'POST', pathWithQuery: '/v3/pay/transactions/out-trade-no/P%201/reverse' });
    expect(JSON.parse(sent[0].body)).toEqual({ appid: APPID, mchid: MCHID });
    expectSignedByMerchant(sent[0]);
  });

  it('USERPAYING (the buyer is still at the password) asks to be called again', async () => {
    fakeWechat({ status: 403, json: { code: 'USERPAYING', message: '正在支付中不能发起撤销，请稍后再试' } });
    await expect(gateway().reverse({ paymentNo: 'P1', gatewayTradeNo: null })).resolves.toMatchObject({
      kind: 'again',
    });
  });

  it.each([
    [400, 'ORDERREVERSED'],
    [400, 'ORDER_CLOSED'],
  ])('%s %s (reversed or closed before) is closed', async (status, code) => {
    fakeWechat({ status, json: { code, message: '' } });
    await expect(gateway().reverse({ paymentNo: 'P1', gatewayTradeNo: null })).resolves.toEqual({ kind: 'closed' });
  });

  it('404 ORDER_NOT_EXIST (the pay never reached WeChat) is absent: nothing reversed, nothing returned', async () => {
    fakeWechat({ status: 404, json: { code: 'ORDER_NOT_EXIST', message: '' } });
    await expect(gateway().reverse({ paymentNo: 'P1', gatewayTradeNo: null })).resolves.toEqual({ kind: 'absent' });
  });

  it.each([
    ['500 SYSTEM_ERROR', { status: 500, json: { code: 'SYSTEM_ERROR', message: '系统繁忙' } }],
    ['400 REVERSE_EXPIRE', { status: 400, json: { code: 'REVERSE_EXPIRE', message: '订单无法撤销' } }],
    ['200 for another out_trade_no', { status: 200, json: { appid: APPID, mchid: MCHID, out_trade_no: 'P2' } }],
    ['a network failure', 'network'],
  ] as [string, Answer][])('%s is unknown', async (_, answer) => {
    fakeWechat(answer);
    await expect(gateway().reverse({ paymentNo: 'P1', gatewayTradeNo: null })).resolves.toMatchObject({
      kind: 'unknown',
    });
  });
});

describe('WeChat Pay barcode as a service provider', () => {
  it('is declared unsupported, and neither pays nor reverses (nothing is sent)', async () => {
    const sent = fakeWechat();
    const sut = gateway({ subMchid: '1900000200' });
    expect(sut.barcodeUnsupported()).toMatch(/service provider/);
    expect(gateway().barcodeUnsupported()).toBeUndefined();
    await expect(sut.payByCode(scan)).resolves.toMatchObject({ kind: 'refused', code: 'BARCODE_UNSUPPORTED' });
    await expect(sut.reverse({ paymentNo: 'P1', gatewayTradeNo: null })).resolves.toMatchObject({ kind: 'unknown' });
    expect(sent).toHaveLength(0);
  });
});

describe('WeChat Pay query of a code payment', () => {
  it.each([
    ['USERPAYING', { kind: 'not_paid' }],
    ['REVOKED', { kind: 'closed' }],
    ['PAYERROR', { kind: 'failed', code: 'PAYERROR' }],
  ])('trade_state %s is %o', async (state, result) => {
    fakeWechat({ status: 200, json: { appid: APPID, mchid: MCHID, out_trade_no: 'P1', trade_state: state } });
    await expect(gateway().query('P1')).resolves.toMatchObject(result);
  });
});
