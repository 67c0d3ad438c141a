import { jest } from '@jest/globals';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { NotificationRejected } from '../notification-rejected';
import { WechatPayGateway, type WechatPaySettings } from './wechat-pay.gateway';
import {
  encryptResource,
  newNonce,
  parseAuthorization,
  requestMessage,
  responseMessage,
  rsaSign,
  rsaVerify,
  TRADE_BILL_COLUMNS,
  TRADE_BILL_SUMMARY,
} from '../wire/wechatpay.protocol';

/**
 * Service-provider (服务商) mode against a fake WeChat Pay: `fetch` is replaced, every request the adapter sends
 * is recorded as sent (path with query, body, Authorization) and answered with a body signed by the platform key.
 */

const BASE_URL = 'http://wechat.test';
const SP_MCHID = '1900000100';
const SP_APPID = 'wx8888888888888888';
const SUB_MCHID = '1900000109';
const SUB_APPID = 'wxd678efh567hg6999';
const platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
const provider = generateKeyPairSync('rsa', { modulusLength: 2048 });
const apiV3Key = '0123456789abcdef0123456789abcdef';

function gateway(partner: Pick<WechatPaySettings, 'subMchid' | 'subAppid'> = {}): WechatPayGateway {
  return new WechatPayGateway({
    baseUrl: BASE_URL,
    mchid: SP_MCHID,
    appid: SP_APPID,
    merchantSerialNo: 'SP-SERIAL',
    merchantPrivateKey: provider.privateKey,
    platformKeys: new Map([['PUB_KEY_ID_1', platform.publicKey]]),
    apiV3Key,
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
/** What the fake vendor answers: a JSON body (signed), or a bill file (the download's answer is not signed). */
type Answer = { status: number; json?: unknown } | { file: Buffer };

function signedHeaders(body: string): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = newNonce();
  return {
    'wechatpay-timestamp': timestamp,
    'wechatpay-nonce': nonce,
    'wechatpay-serial': 'PUB_KEY_ID_1',
    'wechatpay-signature': rsaSign(responseMessage(timestamp, nonce, body), platform.privateKey),
  };
}

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
    if ('file' in answer) return Promise.resolve(new Response(new Uint8Array(answer.file), { status: 200 }));
    const text = answer.json === undefined ? '' : JSON.stringify(answer.json);
    const body = answer.status === 204 ? null : text;
    return Promise.resolve(new Response(body, { status: answer.status, headers: signedHeaders(text) }));
  });
  return sent;
}

afterEach(() => jest.restoreAllMocks());

/** The request was signed by the service provider: its mchid and serial in the header, its key over what was sent. */
function expectSignedByProvider(request: Sent): void {
  const fields = parseAuthorization(request.authorization);
  expect(fields).toMatchObject({ mchid: SP_MCHID, serial_no: 'SP-SERIAL' });
  const message = requestMessage(
    request.method,
    request.pathWithQuery,
    fields!.timestamp,
    fields!.nonce_str,
    request.body,
  );
  expect(rsaVerify(message, fields!.signature, provider.publicKey)).toBe(true);
}

const ourTransaction = {
  sp_appid: SP_APPID,
  sp_mchid: SP_MCHID,
  sub_appid: SUB_APPID,
  sub_mchid: SUB_MCHID,
  out_trade_no: 'P1',
  transaction_id: '4200000001',
  trade_type: 'NATIVE',
  trade_state: 'SUCCESS',
  trade_state_desc: '支付成功',
  success_time: '2026-11-25T10:00:00+08:00',
  amount: { total: 2500, payer_total: 2500, currency: 'CNY', payer_currency: 'CNY' },
  payer: { sp_openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
};

/** The same trade as a direct merchant's resource: `mchid`/`appid`, no sp_ or sub_ fields. */
const directTransaction = {
  ...Object.fromEntries(Object.entries(ourTransaction).filter(([key]) => !/^(sp|sub)_/.test(key))),
  mchid: SP_MCHID,
  appid: SP_APPID,
};

const order = {
  paymentNo: 'P1',
  amountFen: 2500,
  currency: 'CNY' as const,
  description: 'Tea',
  expiresAt: new Date('2026-11-25T02:30:00Z'),
};

describe('WeChat Pay as a service provider: the partner requests, as sent', () => {
  it('orders through /v3/pay/partner/transactions/native naming sp_* and sub_*, signed by the service provider', async () => {
    const sent = fakeWechat({ status: 200, json: { code_url: 'weixin://wxpay/bizpayurl?pr=abc' } });
    await expect(gateway({ subMchid: SUB_MCHID, subAppid: SUB_APPID }).createPayment(order)).resolves.toEqual({
      kind: 'created',
      credential: { type: 'code_url', codeUrl: 'weixin://wxpay/bizpayurl?pr=abc' },
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ method: 'POST', pathWithQuery: '/v3/pay/partner/transactions/native' });
    expect(JSON.parse(sent[0].body)).toEqual({
      sp_appid: SP_APPID,
      sp_mchid: SP_MCHID,
      sub_appid: SUB_APPID,
      sub_mchid: SUB_MCHID,
      description: 'Tea',
      out_trade_no: 'P1',
      time_expire: '2026-11-25T10:30:00+08:00',
      notify_url: 'https://pc.example/api/payments/notify/wechat',
      amount: { total: 2500, currency: 'CNY' },
    });
    expectSignedByProvider(sent[0]);
  });

  it('leaves sub_appid out of the order when the sub-merchant has none configured', async () => {
    const sent = fakeWechat({ status: 200, json: { code_url: 'weixin://wxpay/bizpayurl?pr=abc' } });
    await gateway({ subMchid: SUB_MCHID }).createPayment(order);
    expect(Object.keys(JSON.parse(sent[0].body) as object)).toEqual([
      'sp_appid',
      'sp_mchid',
      'sub_mchid',
      'description',
      'out_trade_no',
      'time_expire',
      'notify_url',
      'amount',
    ]);
  });

  it('queries by out_trade_no with sp_mchid and sub_mchid in the query string', async () => {
    const sent = fakeWechat({ status: 200, json: ourTransaction });
    await expect(gateway({ subMchid: SUB_MCHID, subAppid: SUB_APPID }).query('P1')).resolves.toMatchObject({
      kind: 'paid',
      gatewayTradeNo: '4200000001',
      paidAmountFen: 2500,
    });
    expect(sent[0]).toMatchObject({
      method: 'GET',
      pathWithQuery: `/v3/pay/partner/transactions/out-trade-no/P1?sp_mchid=${SP_MCHID}&sub_mchid=${SUB_MCHID}`,
      body: '',
    });
    expectSignedByProvider(sent[0]);
  });

  it.each([
    ['another sub_mchid', { sub_mchid: '1900000999' }],
    ['another sp_mchid', { sp_mchid: '1900000999' }],
    ['another sp_appid', { sp_appid: 'wx0000000000000000' }],
    ['another sub_appid', { sub_appid: 'wx0000000000000000' }],
    ['no sub_mchid', { sub_mchid: undefined }],
  ])('does not believe a paid query answer naming %s', async (_, change) => {
    fakeWechat({ status: 200, json: { ...ourTransaction, ...change } });
    await expect(gateway({ subMchid: SUB_MCHID, subAppid: SUB_APPID }).query('P1')).resolves.toMatchObject({
      kind: 'unknown',
      reason: expect.stringMatching(/^query answered for sp_mchid/) as string,
    });
  });

  it('does not believe a direct-merchant answer (mchid/appid) to a partner query', async () => {
    fakeWechat({ status: 200, json: directTransaction });
    await expect(gateway({ subMchid: SUB_MCHID }).query('P1')).resolves.toMatchObject({ kind: 'unknown' });
  });

  it('closes with {sp_mchid, sub_mchid} on the partner close path', async () => {
    const sent = fakeWechat({ status: 204 });
    await expect(
      gateway({ subMchid: SUB_MCHID }).close({ paymentNo: 'P1', expiresAt: order.expiresAt }),
    ).resolves.toEqual({ kind: 'closed' });
    expect(sent[0]).toMatchObject({
      method: 'POST',
      pathWithQuery: '/v3/pay/partner/transactions/out-trade-no/P1/close',
      body: JSON.stringify({ sp_mchid: SP_MCHID, sub_mchid: SUB_MCHID }),
    });
    expectSignedByProvider(sent[0]);
  });

  it('refunds through /v3/refund/domestic/refunds with sub_mchid in the body', async () => {
    const sent = fakeWechat({ status: 200, json: { refund_id: '5030', out_refund_no: 'R1', status: 'PROCESSING' } });
    const refund = { paymentNo: 'P1', refundNo: 'R1', gatewayTradeNo: '4200000001', totalFen: 2500, refundFen: 1000 };
    await expect(gateway({ subMchid: SUB_MCHID }).refund({ ...refund, reason: 'broken cup' })).resolves.toEqual({
      kind: 'processing',
      gatewayRefundNo: '5030',
    });
    expect(sent[0]).toMatchObject({ method: 'POST', pathWithQuery: '/v3/refund/domestic/refunds' });
    expect(JSON.parse(sent[0].body)).toEqual({
      sub_mchid: SUB_MCHID,
      out_trade_no: 'P1',
      out_refund_no: 'R1',
      reason: 'broken cup',
      notify_url: 'https://pc.example/api/payments/notify/wechat',
      amount: { refund: 1000, total: 2500, currency: 'CNY' },
    });
    expectSignedByProvider(sent[0]);
  });

  it('queries a refund with sub_mchid in the query string', async () => {
    const sent = fakeWechat({ status: 200, json: { refund_id: '5030', out_refund_no: 'R1', status: 'SUCCESS' } });
    await expect(gateway({ subMchid: SUB_MCHID }).queryRefund({ paymentNo: 'P1', refundNo: 'R1' })).resolves.toEqual({
      kind: 'succeeded',
      gatewayRefundNo: '5030',
    });
    expect(sent[0]).toMatchObject({
      method: 'GET',
      pathWithQuery: `/v3/refund/domestic/refunds/R1?sub_mchid=${SUB_MCHID}`,
    });
    expectSignedByProvider(sent[0]);
  });

  describe('the trade bill', () => {
    /** A bill_type=ALL trade bill: header, backtick-prefixed rows, the summary block. */
    function tradeBill(rows: Partial<Record<(typeof TRADE_BILL_COLUMNS)[number], string>>[]): Buffer {
      const lines = [TRADE_BILL_COLUMNS.join(',')];
      for (const row of rows) lines.push(TRADE_BILL_COLUMNS.map((name) => `\`${row[name] ?? ''}`).join(','));
      lines.push(TRADE_BILL_SUMMARY, '`1,`25.00,`0.00,`0.00,`0.15,`25.00,`0.00');
      return Buffer.from(lines.join('\r\n'), 'utf8');
    }
    const paid = {
      交易时间: '2026-11-25 10:00:00',
      公众账号ID: SP_APPID,
      商户号: SP_MCHID,
      特约商户号: SUB_MCHID,
      微信订单号: '4200000001',
      商户订单号: 'P1',
      交易类型: 'NATIVE',
      交易状态: 'SUCCESS',
      货币种类: 'CNY',
      应结订单金额: '25.00',
      订单金额: '25.00',
    };
    const billAnswer = (file: Buffer): Answer => ({
      status: 200,
      json: {
        hash_type: 'SHA1',
        hash_value: createHash('sha1').update(file).digest('hex'),
        download_url: `${BASE_URL}/v3/billdownload/file?token=T1`,
      },
    });

    it("asks for the sub-merchant's bill (sub_mchid) and reads its lines", async () => {
      const file = tradeBill([paid]);
      const sent = fakeWechat(billAnswer(file), { file });
      await expect(gateway({ subMchid: SUB_MCHID }).fetchStatement('2026-11-25')).resolves.toEqual({
        kind: 'statement',
        lines: [expect.objectContaining({ kind: 'payment', paymentNo: 'P1', amountFen: 2500 })],
      });
      expect(sent.map((request) => request.pathWithQuery)).toEqual([
        `/v3/bill/tradebill?bill_date=2026-11-25&sub_mchid=${SUB_MCHID}&bill_type=ALL`,
        '/v3/billdownload/file?token=T1',
      ]);
      sent.forEach(expectSignedByProvider);
    });

    it('reconciles nothing against a bill holding another sub-merchant’s line', async () => {
      const file = tradeBill([paid, { ...paid, 特约商户号: '1900000999', 商户订单号: 'X9' }]);
      fakeWechat(billAnswer(file), { file });
      await expect(gateway({ subMchid: SUB_MCHID }).fetchStatement('2026-11-25')).resolves.toEqual({
        kind: 'unknown',
        reason: 'bill line X9: sub-merchant 1900000999',
      });
    });
  });
});

describe('WeChat Pay as a direct merchant: requests exactly as before', () => {
  it('orders, queries, closes, refunds and fetches the bill on the direct paths with mchid/appid', async () => {
    const sent = fakeWechat(
      { status: 200, json: { code_url: 'weixin://x' } },
      { status: 404, json: { code: 'ORDER_NOT_EXIST', message: 'no such order' } },
      { status: 204 },
      { status: 200, json: { refund_id: '5030', status: 'PROCESSING' } },
      { status: 404, json: { code: 'RESOURCE_NOT_EXISTS', message: 'no such refund' } },
      { status: 400, json: { code: 'NO_STATEMENT_EXIST', message: 'no bill' } },
    );
    const sut = gateway();
    await sut.createPayment(order);
    await sut.query('P1');
    await sut.close({ paymentNo: 'P1', expiresAt: order.expiresAt });
    const refund = { paymentNo: 'P1', refundNo: 'R1', gatewayTradeNo: '4200000001', totalFen: 2500, refundFen: 1000 };
    await sut.refund({ ...refund, reason: 'broken cup' });
    await sut.queryRefund({ paymentNo: 'P1', refundNo: 'R1' });
    await sut.fetchStatement('2026-11-25');
    expect(sent.map(({ method, pathWithQuery, body }) => [method, pathWithQuery, body])).toEqual([
      [
        'POST',
        '/v3/pay/transactions/native',
        `{"appid":"${SP_APPID}","mchid":"${SP_MCHID}","description":"Tea","out_trade_no":"P1",` +
          '"time_expire":"2026-11-25T10:30:00+08:00","notify_url":"https://pc.example/api/payments/notify/wechat",' +
          '"amount":{"total":2500,"currency":"CNY"}}',
      ],
      ['GET', `/v3/pay/transactions/out-trade-no/P1?mchid=${SP_MCHID}`, ''],
      ['POST', '/v3/pay/transactions/out-trade-no/P1/close', `{"mchid":"${SP_MCHID}"}`],
      [
        'POST',
        '/v3/refund/domestic/refunds',
        '{"out_trade_no":"P1","out_refund_no":"R1","reason":"broken cup",' +
          '"notify_url":"https://pc.example/api/payments/notify/wechat",' +
          '"amount":{"refund":1000,"total":2500,"currency":"CNY"}}',
      ],
      ['GET', '/v3/refund/domestic/refunds/R1', ''],
      ['GET', '/v3/bill/tradebill?bill_date=2026-11-25&bill_type=ALL', ''],
    ]);
    sent.forEach(expectSignedByProvider);
  });

  it('refuses a sub_appid configured without a sub-merchant', () => {
    expect(() => gateway({ subAppid: SUB_APPID })).toThrow(/subAppid is set without subMchid/);
  });
});

describe('WeChat Pay notifications in service-provider mode', () => {
  /** A signed, encrypted notification carrying `resource` as WeChat Pay sends it. */
  function notify(sut: WechatPayGateway, resource: object, kind: 'transaction' | 'refund' = 'transaction') {
    const encrypted = encryptResource(JSON.stringify(resource), apiV3Key, kind, kind);
    const body = JSON.stringify({
      id: 'EV-1',
      create_time: '2026-11-25T10:00:01+08:00',
      event_type: kind === 'transaction' ? 'TRANSACTION.SUCCESS' : 'REFUND.SUCCESS',
      resource_type: 'encrypt-resource',
      resource: encrypted,
      summary: kind === 'transaction' ? '支付成功' : '退款成功',
    });
    return sut.parseNotification({ headers: signedHeaders(body), rawBody: Buffer.from(body) });
  }
  const refusedFor = (message: RegExp) =>
    expect.objectContaining({
      constructor: NotificationRejected,
      reason: 'merchant',
      message: expect.stringMatching(message),
    });
  const partner = gateway({ subMchid: SUB_MCHID, subAppid: SUB_APPID });

  it('accepts a transaction for the configured service provider and sub-merchant', async () => {
    await expect(notify(partner, ourTransaction)).resolves.toMatchObject({
      kind: 'payment',
      paymentNo: 'P1',
      result: { kind: 'paid', paidAmountFen: 2500, gatewayTradeNo: '4200000001' },
      notificationId: 'EV-1',
    });
  });

  it('accepts a transaction without sub_appid when none is configured', async () => {
    const withoutSubAppid = Object.fromEntries(Object.entries(ourTransaction).filter(([key]) => key !== 'sub_appid'));
    await expect(notify(gateway({ subMchid: SUB_MCHID }), withoutSubAppid)).resolves.toMatchObject({
      result: { kind: 'paid' },
    });
  });

  it.each([
    ['another sub_mchid', { sub_mchid: '1900000999' }, /sub_mchid 1900000999/],
    ['another sp_mchid', { sp_mchid: '1900000999' }, /sp_mchid 1900000999/],
    ['another sp_appid', { sp_appid: 'wx0000000000000000' }, /sp_appid wx0000000000000000/],
    ['another sub_appid', { sub_appid: 'wx0000000000000000' }, /sub_appid wx0000000000000000/],
  ])('refuses a transaction naming %s', async (_, change, message) => {
    await expect(notify(partner, { ...ourTransaction, ...change })).rejects.toEqual(refusedFor(message));
  });

  it('refuses a direct-merchant transaction (mchid/appid, no sp_*/sub_*) even with our numbers', async () => {
    await expect(notify(partner, directTransaction)).rejects.toEqual(refusedFor(/sp_mchid undefined/));
  });

  const ourRefund = {
    sp_mchid: SP_MCHID,
    sub_mchid: SUB_MCHID,
    transaction_id: '4200000001',
    out_trade_no: 'P1',
    refund_id: '5030',
    out_refund_no: 'R1',
    refund_status: 'SUCCESS',
    success_time: '2026-11-25T11:00:00+08:00',
    user_received_account: '支付用户零钱',
    amount: { total: 2500, refund: 1000, payer_total: 2500, payer_refund: 1000 },
  };

  it('accepts a refund for the configured service provider and sub-merchant', async () => {
    await expect(notify(partner, ourRefund, 'refund')).resolves.toMatchObject({
      kind: 'refund',
      refundNo: 'R1',
      result: { kind: 'succeeded', gatewayRefundNo: '5030' },
      facts: { refundFen: 1000, paymentNo: 'P1' },
    });
  });

  it.each([
    ['another sub_mchid', { sub_mchid: '1900000999' }],
    ['another sp_mchid', { sp_mchid: '1900000999' }],
  ])('refuses a refund naming %s', async (_, change) => {
    await expect(notify(partner, { ...ourRefund, ...change }, 'refund')).rejects.toEqual(refusedFor(/1900000999/));
  });

  it('a direct merchant still refuses a partner transaction (no mchid), as before', async () => {
    await expect(notify(gateway(), ourTransaction)).rejects.toEqual(refusedFor(/^notification for mchid undefined/));
  });
});
