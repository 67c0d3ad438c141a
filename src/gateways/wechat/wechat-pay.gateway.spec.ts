import { generateKeyPairSync } from 'node:crypto';
import { NotificationRejected } from '../notification-rejected';
import { WechatPayGateway } from './wechat-pay.gateway';
import { encryptResource, newNonce, responseMessage, rsaSign } from '../wire/wechatpay.protocol';

const platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
const apiV3Key = '0123456789abcdef0123456789abcdef';
const sut = new WechatPayGateway({
  baseUrl: 'http://127.0.0.1:9',
  mchid: '1900000109',
  appid: 'wxd678efh567hg6787',
  merchantSerialNo: 'SERIAL',
  merchantPrivateKey: merchant.privateKey,
  platformKeys: new Map([['PUB_KEY_ID_1', platform.publicKey]]),
  apiV3Key,
  notifyUrl: '',
  timeoutMs: 1000,
});

/** A TRANSACTION.SUCCESS notification as WeChat Pay sends it, with one thing changed at a time. */
function notification(
  change: { amount?: object; algorithm?: string; headers?: Record<string, string | undefined> } = {},
) {
  const transaction = {
    appid: 'wxd678efh567hg6787',
    mchid: '1900000109',
    out_trade_no: 'P1',
    transaction_id: '4200000001',
    trade_state: 'SUCCESS',
    success_time: '2026-11-25T10:00:00+08:00',
    amount: change.amount ?? { total: 2500, payer_total: 2500, currency: 'CNY', payer_currency: 'CNY' },
  };
  const resource = encryptResource(JSON.stringify(transaction), apiV3Key, 'transaction', 'transaction');
  const body = JSON.stringify({
    id: 'EV-1',
    event_type: 'TRANSACTION.SUCCESS',
    resource_type: 'encrypt-resource',
    resource: { ...resource, algorithm: change.algorithm ?? resource.algorithm },
  });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = newNonce();
  const headers: Record<string, string | undefined> = {
    'wechatpay-timestamp': timestamp,
    'wechatpay-nonce': nonce,
    'wechatpay-serial': 'PUB_KEY_ID_1',
    'wechatpay-signature': rsaSign(responseMessage(timestamp, nonce, body), platform.privateKey),
    'wechatpay-signature-type': 'WECHATPAY2-SHA256-RSA2048',
    ...change.headers,
  };
  return sut.parseNotification({ headers, rawBody: Buffer.from(body) });
}

const refusal = (reason: string, message: RegExp) =>
  expect.objectContaining({ constructor: NotificationRejected, reason, message: expect.stringMatching(message) });

describe('WeChat Pay notifications, checked to the letter', () => {
  it('accepts a transaction signed WECHATPAY2-SHA256-RSA2048, resource AEAD_AES_256_GCM, amount in CNY', async () => {
    await expect(notification()).resolves.toMatchObject({
      kind: 'payment',
      paymentNo: 'P1',
      result: { kind: 'paid', paidAmountFen: 2500, gatewayTradeNo: '4200000001' },
    });
  });

  it('takes a missing Wechatpay-Signature-Type as the one scheme there is (as wechatpay-java does)', async () => {
    await expect(notification({ headers: { 'wechatpay-signature-type': undefined } })).resolves.toMatchObject({
      result: { kind: 'paid' },
    });
  });

  it.each(['WECHATPAY2-SM2-WITH-SM3', 'WECHATPAY2-SHA256-RSA2048 ', 'wechatpay2-sha256-rsa2048', ''])(
    'refuses Wechatpay-Signature-Type %j, though the RSA signature itself is good',
    async (type) => {
      await expect(notification({ headers: { 'wechatpay-signature-type': type } })).rejects.toEqual(
        refusal('signature', /Wechatpay-Signature-Type/),
      );
    },
  );

  it.each(['AEAD_SM4_GCM', 'AES_256_GCM', ''])('refuses resource.algorithm %j before decrypting', async (algorithm) => {
    await expect(notification({ algorithm })).rejects.toEqual(refusal('unsupported', /not AEAD_AES_256_GCM/));
  });

  it('refuses a paid transaction without amount.currency instead of assuming CNY', async () => {
    await expect(notification({ amount: { total: 2500, payer_total: 2500 } })).rejects.toEqual(
      refusal('malformed', /without amount.currency/),
    );
  });

  it('refuses a paid transaction in another currency', async () => {
    await expect(notification({ amount: { total: 2500, currency: 'USD' } })).rejects.toEqual(
      refusal('unsupported', /USD/),
    );
  });
});
