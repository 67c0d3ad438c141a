import type { INestApplication } from '@nestjs/common';
import { X509Certificate } from 'node:crypto';
import { newPaymentNo } from '../src/common/ids';
import type { BarcodePayResult, GatewayResult, ReverseResult } from '../src/gateways/gateway.types';
import { txnTimeOf, UnionPayGateway } from '../src/gateways/unionpay/unionpay.gateway';
import { loadKey, readPem, unionpaySandboxMeta } from '../src/gateways/wire/sandbox-key-set';
import { certIdOf, signFields, UNIONPAY_VERSION } from '../src/gateways/wire/unionpay.protocol';
import { startSandbox } from './support/sandbox';

/**
 * The UnionPay adapter's barcode payments (二维码 被扫 and 冲正) against the sandbox over HTTP, for every scenario
 * of sandbox/barcode-scenarios.ts: the code's last digit picks it (19 digits from 62).
 */
describe('UnionPay barcode payments through the sandbox (e2e)', () => {
  let sandbox: INestApplication;
  let sandboxUrl: string;
  let sut: UnionPayGateway;
  let keys: string;

  beforeAll(async () => {
    const started = await startSandbox();
    sandbox = started.app;
    sandboxUrl = started.url;
    keys = started.keys;
    sut = new UnionPayGateway({
      baseUrl: sandboxUrl,
      fileUrl: `${sandboxUrl}/filedownload`,
      merId: unionpaySandboxMeta(keys).merId,
      merchantPrivateKey: loadKey(keys, 'unionpayMerchantPrivate'),
      merchantCertId: certIdOf(new X509Certificate(readPem(keys, 'unionpayMerchantCert'))),
      anchors: {
        root: new X509Certificate(readPem(keys, 'unionpayRootCert')),
        middle: new X509Certificate(readPem(keys, 'unionpayMiddleCert')),
        requireUnionPayCn: true,
      },
      // Nobody listens here: the consume notifications are not what these tests look at.
      notifyUrl: 'http://127.0.0.1:9/notify',
      timeoutMs: 2000,
    });
  });
  afterAll(() => sandbox.close());
  beforeEach(() => post('/sandbox/faults', {}));

  async function post(path: string, body: unknown): Promise<void> {
    const response = await fetch(`${sandboxUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.ok).toBe(true);
  }

  /** A code of this scenario digit (and, before it, the seconds the buyer takes). */
  const code = (last: string) => `62345678901234567${last.padStart(2, '0')}`;
  const pay = (paymentNo: string, authCode: string): Promise<BarcodePayResult> =>
    sut.payByCode({ paymentNo, amountFen: 2500, currency: 'CNY', description: 'Tea', authCode });
  const kinds = (results: { kind: string }[]) => results.map((r) => r.kind);
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function reverseTimes(paymentNo: string, times: number): Promise<ReverseResult[]> {
    const results: ReverseResult[] = [];
    for (let i = 0; i < times; i++) results.push(await sut.reverse({ paymentNo, gatewayTradeNo: null }));
    return results;
  }

  it('0 pays: paid at once, with the queryId and amount; a reverse then refunds it and the query says closed', async () => {
    const paymentNo = newPaymentNo(new Date());
    const paid = await pay(paymentNo, code('0'));
    expect(paid).toMatchObject({
      kind: 'paid',
      paidAmountFen: 2500,
      gatewayTradeNo: expect.stringMatching(/^\d{21}$/),
    });
    expect(await sut.query(paymentNo)).toMatchObject({ kind: 'paid', paidAmountFen: 2500 });
    const gatewayTradeNo = (paid as { gatewayTradeNo: string }).gatewayTradeNo;
    expect(await sut.reverse({ paymentNo, gatewayTradeNo })).toEqual({ kind: 'refunded', gatewayTradeNo });
    expect(await sut.query(paymentNo)).toEqual({ kind: 'closed' });
  });

  it('1 password_then_pays (code ending 11: one second): paying, not_paid, then paid', async () => {
    const paymentNo = newPaymentNo(new Date());
    expect(await pay(paymentNo, code('11'))).toMatchObject({ kind: 'paying' });
    expect(await sut.query(paymentNo)).toEqual({ kind: 'not_paid' });
    await sleep(1300);
    expect(await sut.query(paymentNo)).toMatchObject({ kind: 'paid', paidAmountFen: 2500 });
  });

  it('2 password_never: paying and not_paid until reversed, then closed and no longer payable', async () => {
    const paymentNo = newPaymentNo(new Date());
    expect(await pay(paymentNo, code('2'))).toMatchObject({ kind: 'paying' });
    expect(await sut.query(paymentNo)).toEqual({ kind: 'not_paid' });
    expect(kinds(await reverseTimes(paymentNo, 2))).toEqual(['closed', 'closed']);
    expect(await sut.query(paymentNo)).toEqual({ kind: 'closed' });
    const buyer = await fetch(`${sandboxUrl}/sandbox/unionpay/trades/${paymentNo}/pay`, { method: 'POST' });
    expect(buyer.status).toBe(409);
  });

  it('3 insufficient_funds: refused with 64; the query shows a failed consume', async () => {
    const paymentNo = newPaymentNo(new Date());
    expect(await pay(paymentNo, code('3'))).toEqual({ kind: 'refused', code: '64', message: expect.any(String) });
    expect(await sut.query(paymentNo)).toMatchObject({ kind: 'failed', code: '64' });
  });

  it('4 unknown_then_paid: unknown (03, never refused), then the query finds it paid', async () => {
    const paymentNo = newPaymentNo(new Date());
    expect(await pay(paymentNo, code('4'))).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('03') });
    expect(await sut.query(paymentNo)).toMatchObject({ kind: 'paid', paidAmountFen: 2500 });
  });

  it('5 unknown_then_nothing: unknown, not_paid, and a reverse closes it', async () => {
    const paymentNo = newPaymentNo(new Date());
    expect(await pay(paymentNo, code('5'))).toMatchObject({ kind: 'unknown' });
    expect(await sut.query(paymentNo)).toEqual({ kind: 'not_paid' });
    expect(await sut.reverse({ paymentNo, gatewayTradeNo: null })).toEqual({ kind: 'closed' });
    expect(await sut.query(paymentNo)).toEqual({ kind: 'closed' });
  });

  it('6 reverse_recall: the first reverse asks to be called again (05), the second closes', async () => {
    const paymentNo = newPaymentNo(new Date());
    expect(await pay(paymentNo, code('6'))).toMatchObject({ kind: 'paying' });
    expect(kinds(await reverseTimes(paymentNo, 2))).toEqual(['again', 'closed']);
    expect(await sut.query(paymentNo)).toEqual({ kind: 'closed' });
  });

  it('7 paid_at_reverse: the buyer pays as the reverse arrives: refunded, naming the consume', async () => {
    const paymentNo = newPaymentNo(new Date());
    expect(await pay(paymentNo, code('7'))).toMatchObject({ kind: 'paying' });
    const [reversed] = await reverseTimes(paymentNo, 1);
    expect(reversed).toEqual({ kind: 'refunded', gatewayTradeNo: expect.stringMatching(/^\d{21}$/) });
    expect(await sut.query(paymentNo)).toEqual({ kind: 'closed' });
  });

  it('8 invalid_code: refused with 88', async () => {
    expect(await pay(newPaymentNo(new Date()), code('8'))).toEqual({
      kind: 'refused',
      code: '88',
      message: expect.any(String),
    });
  });

  it('9 reverse_unknown: unknown, unknown, then closed', async () => {
    const paymentNo = newPaymentNo(new Date());
    expect(await pay(paymentNo, code('9'))).toMatchObject({ kind: 'paying' });
    expect(kinds(await reverseTimes(paymentNo, 3))).toEqual(['unknown', 'unknown', 'closed']);
  });

  it('a code in the wrong format is a parameter error (respCode 10): refused, and no trade is made', async () => {
    const paymentNo = newPaymentNo(new Date());
    for (const wrong of ['134567890123456780', '623456789012345678', '6234567890123456780x']) {
      expect(await pay(paymentNo, wrong)).toEqual({ kind: 'refused', code: '10', message: expect.any(String) });
    }
    expect(await sut.query(paymentNo)).toEqual({ kind: 'not_paid' }); // respCode 34: no such order
  });

  it('required fields are checked (13), and a signature that does not verify is refused (11)', async () => {
    const merId = unionpaySandboxMeta(keys).merId;
    const paymentNo = newPaymentNo(new Date());
    const fields: Record<string, string> = {
      version: UNIONPAY_VERSION,
      encoding: 'UTF-8',
      signMethod: '01',
      certId: certIdOf(new X509Certificate(readPem(keys, 'unionpayMerchantCert'))),
      merId,
      txnType: '01',
      txnSubType: '06',
      bizType: '000000',
      channelType: '07',
      accessType: '0',
      orderId: paymentNo,
      txnTime: txnTimeOf(paymentNo),
      txnAmt: '2500',
      currencyCode: '156',
      backUrl: 'http://127.0.0.1:9/notify',
    };
    const send = async (body: Record<string, string>) => {
      const response = await fetch(`${sandboxUrl}/gateway/api/backTransReq.do`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body).toString(),
      });
      return Object.fromEntries(new URLSearchParams(await response.text()));
    };
    const key = loadKey(keys, 'unionpayMerchantPrivate');
    expect(await send({ ...fields, signature: signFields(fields, key) })).toMatchObject({ respCode: '13' });
    const full = { ...fields, qrNo: code('0') };
    expect(await send({ ...full, signature: signFields({ ...full, txnAmt: '1' }, key) })).toMatchObject({
      respCode: '11',
    });
  });

  it('the fault switches apply: an HTTP 500 is unknown for the pay and the reverse, never refused', async () => {
    const paymentNo = newPaymentNo(new Date());
    await post('/sandbox/faults', { apiError: true });
    expect(await pay(paymentNo, code('0'))).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('500') });
    expect(await sut.reverse({ paymentNo, gatewayTradeNo: null })).toMatchObject({ kind: 'unknown' });
    await post('/sandbox/faults', {});
    expect(await sut.query(paymentNo)).toEqual({ kind: 'not_paid' });
  });

  it('a reversed consume stays out of the day’s reconciliation file; a paid one is in it', async () => {
    const kept = newPaymentNo(new Date());
    const reversed = newPaymentNo(new Date());
    expect(await pay(kept, code('0'))).toMatchObject({ kind: 'paid' });
    expect(await pay(reversed, code('0'))).toMatchObject({ kind: 'paid' });
    expect(await sut.reverse({ paymentNo: reversed, gatewayTradeNo: null })).toMatchObject({ kind: 'refunded' });
    const beijingToday = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    const statement = await sut.fetchStatement(beijingToday);
    expect(statement.kind).toBe('statement');
    const numbers = statement.kind === 'statement' ? statement.lines.map((line) => line.paymentNo) : [];
    expect(numbers).toContain(kept);
    expect(numbers).not.toContain(reversed);
  });

  it('the query of an unknown order is not_paid (respCode 34), as before', async () => {
    const result: GatewayResult = await sut.query(newPaymentNo(new Date()));
    expect(result).toEqual({ kind: 'not_paid' });
  });
});
