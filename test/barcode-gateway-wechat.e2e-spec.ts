import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { BarcodePayRequest } from '../src/gateways/gateway.types';
import { WechatPayGateway } from '../src/gateways/wechat/wechat-pay.gateway';
import { loadKey } from '../src/gateways/wire/sandbox-key-set';
import { beijingDate } from '../src/gateways/wire/vendor-formats';
import { startSandbox } from './support/sandbox';

/**
 * WeChat Pay barcode payments over real HTTP: the production adapter against the sandbox vendor, one test per
 * scenario of sandbox/barcode-scenarios.ts (the code's last digit picks it; the digit before it, for
 * password_then_pays, the seconds the buyer takes).
 */
describe('WeChat Pay barcode payments through the sandbox (e2e)', () => {
  let sandbox: INestApplication;
  let sandboxUrl: string;
  let sut: WechatPayGateway;

  beforeAll(async () => {
    const started = await startSandbox();
    sandbox = started.app;
    sandboxUrl = started.url;
    const vendor = started.settings.wechat;
    sut = new WechatPayGateway({
      baseUrl: sandboxUrl,
      mchid: vendor.mchid,
      appid: vendor.appid,
      merchantSerialNo: vendor.merchantSerialNo,
      merchantPrivateKey: loadKey(started.keys, 'merchantPrivate'),
      platformKeys: new Map([[vendor.platformKeyId, loadKey(started.keys, 'platformPublic')]]),
      apiV3Key: vendor.apiV3Key,
      notifyUrl: '',
      timeoutMs: 1000,
    });
  });

  afterAll(async () => {
    await sandbox.close();
  });

  /** A WeChat payment code (18 digits from 13) ending in these digits: the scenario, and before it the seconds. */
  const code = (ending: string) => `134567890123456780`.slice(0, 18 - ending.length) + ending;
  const paymentNo = () => `BW${randomBytes(8).toString('hex')}`;
  const scan = (no: string, authCode: string): BarcodePayRequest => ({
    paymentNo: no,
    amountFen: 1234,
    currency: 'CNY',
    description: 'Counter sale',
    authCode,
    terminal: { storeId: 'S-01', deviceId: 'POS-1' },
  });
  const reverse = (no: string) => sut.reverse({ paymentNo: no, gatewayTradeNo: null });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const post = (path: string, body: unknown) =>
    fetch(`${sandboxUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('pays (…0): paid at once, and the query agrees', async () => {
    const no = paymentNo();
    const paid = await sut.payByCode(scan(no, code('0')));
    expect(paid).toMatchObject({ kind: 'paid', paidAmountFen: 1234, gatewayTradeNo: expect.stringMatching(/^4200/) });
    await expect(sut.query(no)).resolves.toMatchObject({ kind: 'paid', paidAmountFen: 1234 });
  });

  it('password_then_pays (…11): paying, USERPAYING in queries, then paid after a second', async () => {
    const no = paymentNo();
    await expect(sut.payByCode(scan(no, code('11')))).resolves.toMatchObject({ kind: 'paying' });
    await expect(sut.query(no)).resolves.toEqual({ kind: 'not_paid' });
    await sleep(1300);
    await expect(sut.query(no)).resolves.toMatchObject({ kind: 'paid', paidAmountFen: 1234 });
  });

  it('password_never (…2): paying and never paid; the reverse closes it', async () => {
    const no = paymentNo();
    await expect(sut.payByCode(scan(no, code('2')))).resolves.toMatchObject({ kind: 'paying' });
    await expect(sut.query(no)).resolves.toEqual({ kind: 'not_paid' });
    await expect(reverse(no)).resolves.toEqual({ kind: 'closed' });
    await expect(sut.query(no)).resolves.toEqual({ kind: 'closed' });
  });

  it('insufficient_funds (…3): refused with NOT_ENOUGH; the query shows the failed payment', async () => {
    const no = paymentNo();
    await expect(sut.payByCode(scan(no, code('3')))).resolves.toMatchObject({ kind: 'refused', code: 'NOT_ENOUGH' });
    await expect(sut.query(no)).resolves.toMatchObject({ kind: 'failed', code: 'PAYERROR' });
  });

  it('unknown_then_paid (…4): no answer (500 SYSTEM_ERROR is unknown, never refused); the query finds it paid', async () => {
    const no = paymentNo();
    await expect(sut.payByCode(scan(no, code('4')))).resolves.toMatchObject({
      kind: 'unknown',
      reason: expect.stringMatching(/SYSTEM_ERROR/),
    });
    await expect(sut.query(no)).resolves.toMatchObject({ kind: 'paid', paidAmountFen: 1234 });
  });

  it('unknown_then_nothing (…5): no answer; the trade waits; the reverse closes it', async () => {
    const no = paymentNo();
    await expect(sut.payByCode(scan(no, code('5')))).resolves.toMatchObject({ kind: 'unknown' });
    await expect(sut.query(no)).resolves.toEqual({ kind: 'not_paid' });
    await expect(reverse(no)).resolves.toEqual({ kind: 'closed' });
    await expect(sut.query(no)).resolves.toEqual({ kind: 'closed' });
  });

  it('reverse_recall (…6): the first reverse asks to be called again (USERPAYING), the second closes', async () => {
    const no = paymentNo();
    await expect(sut.payByCode(scan(no, code('6')))).resolves.toMatchObject({ kind: 'paying' });
    await expect(reverse(no)).resolves.toMatchObject({ kind: 'again', reason: expect.stringMatching(/USERPAYING/) });
    await expect(sut.query(no)).resolves.toEqual({ kind: 'not_paid' });
    await expect(reverse(no)).resolves.toEqual({ kind: 'closed' });
    await expect(sut.query(no)).resolves.toEqual({ kind: 'closed' });
  });

  it('paid_at_reverse (…7): the buyer pays as the reverse arrives; WeChat returns the money and answers the same', async () => {
    const no = paymentNo();
    await expect(sut.payByCode(scan(no, code('7')))).resolves.toMatchObject({ kind: 'paying' });
    await expect(sut.query(no)).resolves.toEqual({ kind: 'not_paid' });
    // WeChat's reverse does not say whether money was taken: closed (the core knows from its paid query).
    await expect(reverse(no)).resolves.toEqual({ kind: 'closed' });
    await expect(sut.query(no)).resolves.toEqual({ kind: 'closed' });
    const trade = (await (await fetch(`${sandboxUrl}/sandbox/wechat/trades/${no}`)).json()) as {
      barcode?: { reversed?: string };
      transactionId?: string;
    };
    expect(trade.barcode?.reversed).toBe('refunded');
    expect(trade.transactionId).toBeDefined();
  });

  it('invalid_code (…8): refused as an invalid or expired code', async () => {
    const no = paymentNo();
    await expect(sut.payByCode(scan(no, code('8')))).resolves.toMatchObject({
      kind: 'refused',
      code: 'AUTH_CODE_INVALID',
    });
  });

  it('reverse_unknown (…9): the first two reverses get no answer, the third closes', async () => {
    const no = paymentNo();
    await expect(sut.payByCode(scan(no, code('9')))).resolves.toMatchObject({ kind: 'paying' });
    await expect(reverse(no)).resolves.toMatchObject({ kind: 'unknown' });
    await expect(reverse(no)).resolves.toMatchObject({ kind: 'unknown' });
    await expect(reverse(no)).resolves.toEqual({ kind: 'closed' });
    await expect(sut.query(no)).resolves.toEqual({ kind: 'closed' });
  });

  it.each([
    ['17 digits', '13456789012345670'],
    ['19 digits', '1345678901234567800'],
    ['a 16 prefix', '164567890123456780'],
    ['an Alipay code', '283456789012345678'],
    ['letters', '13456789012345678a'],
  ])('a code in the wrong format (%s) is refused as a parameter error, and no trade is made', async (_, authCode) => {
    const no = paymentNo();
    await expect(sut.payByCode(scan(no, authCode))).resolves.toMatchObject({ kind: 'refused', code: 'PARAM_ERROR' });
    const trade = (await (await fetch(`${sandboxUrl}/sandbox/wechat/trades/${no}`)).json()) as { error?: string };
    expect(trade.error).toBe('ORDER_NOT_EXIST');
  });

  it('a reversed trade can no longer be paid by the buyer', async () => {
    const no = paymentNo();
    await sut.payByCode(scan(no, code('2')));
    await expect(reverse(no)).resolves.toEqual({ kind: 'closed' });
    const paying = await post(`/sandbox/wechat/trades/${no}/pay`, {});
    expect(paying.status).toBe(404);
    await expect(paying.json()).resolves.toMatchObject({ ok: false, error: 'ORDERCLOSED' });
    await expect(sut.query(no)).resolves.toEqual({ kind: 'closed' });
  });

  it("the day's bill lists a paid code payment and leaves reversed ones out, paid or not", async () => {
    const kept = paymentNo();
    const refunded = paymentNo();
    const closed = paymentNo();
    await sut.payByCode(scan(kept, code('0')));
    await sut.payByCode(scan(refunded, code('7')));
    await sut.payByCode(scan(closed, code('2')));
    await reverse(refunded);
    await reverse(closed);
    const statement = await sut.fetchStatement(beijingDate(new Date()));
    expect(statement.kind).toBe('statement');
    const numbers = statement.kind === 'statement' ? statement.lines.map((line) => line.paymentNo) : [];
    expect(numbers).toContain(kept);
    expect(numbers).not.toContain(refunded);
    expect(numbers).not.toContain(closed);
  });

  it('a payment number used before is not a refusal of the new code (the trade is queried)', async () => {
    const no = paymentNo();
    await sut.payByCode(scan(no, code('0')));
    await expect(sut.payByCode(scan(no, code('3')))).resolves.toMatchObject({ kind: 'unknown' });
    await expect(sut.query(no)).resolves.toMatchObject({ kind: 'paid' });
  });

  describe('the fault switches apply to code-pay and reverse', () => {
    it('apiError: both answer 500 SYSTEM_ERROR (unknown) and nothing is made or reversed', async () => {
      const no = paymentNo();
      await post('/sandbox/faults', { outTradeNo: no, apiError: true });
      await expect(sut.payByCode(scan(no, code('0')))).resolves.toMatchObject({ kind: 'unknown' });
      await expect(reverse(no)).resolves.toMatchObject({ kind: 'unknown' });
      await post('/sandbox/faults', { outTradeNo: no });
      await expect(sut.query(no)).resolves.toEqual({ kind: 'not_paid' }); // ORDER_NOT_EXIST: nothing was made
    });

    it('apiDelayMs past our timeout: unknown, while the trade is made and paid', async () => {
      const no = paymentNo();
      await post('/sandbox/faults', { outTradeNo: no, apiDelayMs: 1500 });
      await expect(sut.payByCode(scan(no, code('0')))).resolves.toMatchObject({ kind: 'unknown' });
      await post('/sandbox/faults', { outTradeNo: no });
      await sleep(700); // the delayed request goes on at the vendor
      await expect(sut.query(no)).resolves.toMatchObject({ kind: 'paid' });
    });
  });
});
