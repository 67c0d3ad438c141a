import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { beijingDate } from '../src/common/beijing-time';
import { newPaymentNo } from '../src/common/ids';
import { AlipayGateway } from '../src/gateways/alipay/alipay.gateway';
import type { BarcodePayRequest, StatementLine } from '../src/gateways/gateway.types';
import { alipaySandboxMeta, readPem } from '../src/gateways/wire/sandbox-key-set';
import { waitFor } from './support/amqp';
import { type RunningSandbox, startSandbox } from './support/sandbox';
import { http } from './support/test-app';

/**
 * Alipay barcode payments (当面付 条码支付) over HTTP: the production adapter (alipay-sdk) against the sandbox's
 * gateway.do, one payment per scenario of sandbox/barcode-scenarios.ts (the code's last digit). Notifications
 * go to a recorder that answers `success`, as our callback endpoint would.
 */
describe('Alipay barcode payments through the sandbox (e2e)', () => {
  let sandbox: RunningSandbox;
  let sut: AlipayGateway;
  let recorder: Server;
  const notifications: string[] = [];

  beforeAll(async () => {
    recorder = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        notifications.push(body);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('success');
      });
    });
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
    sandbox = await startSandbox();
    sut = new AlipayGateway({
      gatewayUrl: `${sandbox.url}/gateway.do`,
      appId: alipaySandboxMeta(sandbox.keys).appId,
      appPrivateKeyPem: readPem(sandbox.keys, 'alipayAppPrivate'),
      alipayPublicKeyPem: readPem(sandbox.keys, 'alipayPlatformPublic'),
      notifyUrl: `http://127.0.0.1:${(recorder.address() as AddressInfo).port}/api/payments/notify/alipay`,
      timeoutMs: 1000,
    });
  });

  afterAll(async () => {
    await sandbox.app.close();
    await new Promise<void>((resolve) => recorder.close(() => resolve()));
  });

  beforeEach(async () => {
    await http('POST', `${sandbox.url}/sandbox/faults`, {});
  });

  /** A 19-digit Alipay code (begins 28): `scenario` is its last digit, `seconds` the one before. */
  const code = (scenario: number, seconds = 5) => `28345678901234567${seconds}${scenario}`;
  const payment = (authCode: string): BarcodePayRequest => ({
    paymentNo: newPaymentNo(new Date()),
    amountFen: 2599,
    currency: 'CNY',
    description: 'Oolong tea',
    authCode,
    terminal: { storeId: 'S01', deviceId: 'POS7' },
  });
  const reverse = (paymentNo: string, gatewayTradeNo: string | null = null) =>
    sut.reverse({ paymentNo, gatewayTradeNo });
  const buyerPays = (paymentNo: string) => http('POST', `${sandbox.url}/sandbox/alipay/trades/${paymentNo}/pay`, {});
  const notificationOf = (paymentNo: string) =>
    waitFor(`notification of ${paymentNo}`, () =>
      Promise.resolve(notifications.find((body) => new URLSearchParams(body).get('out_trade_no') === paymentNo)),
    );

  it('0 pays: paid at once with Alipay trade_no and amount; the query agrees and a signed notification follows', async () => {
    const request = payment(code(0));
    const paid = await sut.payByCode(request);
    expect(paid).toEqual({
      kind: 'paid',
      gatewayTradeNo: expect.stringMatching(/^\d{20,}$/),
      paidAmountFen: 2599,
      paidAt: expect.any(Date),
    });
    await expect(sut.query(request.paymentNo)).resolves.toMatchObject({
      kind: 'paid',
      gatewayTradeNo: paid.kind === 'paid' ? paid.gatewayTradeNo : '',
      paidAmountFen: 2599,
    });
    const body = await notificationOf(request.paymentNo);
    await expect(sut.parseNotification({ headers: {}, rawBody: Buffer.from(body) })).resolves.toMatchObject({
      kind: 'payment',
      paymentNo: request.paymentNo,
      result: { kind: 'paid', paidAmountFen: 2599 },
    });
  });

  it('1 password_then_pays: paying; the query says not paid until the buyer pays a second later', async () => {
    const request = payment(code(1, 1));
    await expect(sut.payByCode(request)).resolves.toMatchObject({ kind: 'paying' });
    await expect(sut.query(request.paymentNo)).resolves.toEqual({ kind: 'not_paid' });
    await waitFor('the buyer pays', async () => (await sut.query(request.paymentNo)).kind === 'paid', 5000);
    await expect(sut.query(request.paymentNo)).resolves.toMatchObject({ kind: 'paid', paidAmountFen: 2599 });
  });

  it('2 password_never: paying and not paid; the reverse closes it and it queries closed', async () => {
    const request = payment(code(2));
    await expect(sut.payByCode(request)).resolves.toMatchObject({ kind: 'paying' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await expect(sut.query(request.paymentNo)).resolves.toEqual({ kind: 'not_paid' });
    await expect(reverse(request.paymentNo)).resolves.toEqual({ kind: 'closed' });
    await expect(sut.query(request.paymentNo)).resolves.toEqual({ kind: 'closed' });
  });

  it('3 insufficient_funds: refused with ACQ.BUYER_BALANCE_NOT_ENOUGH; nothing taken', async () => {
    const request = payment(code(3));
    await expect(sut.payByCode(request)).resolves.toMatchObject({
      kind: 'refused',
      code: 'ACQ.BUYER_BALANCE_NOT_ENOUGH',
    });
    await expect(sut.query(request.paymentNo)).resolves.toEqual({ kind: 'closed' });
  });

  it('4 unknown_then_paid: 20000 is unknown; the query finds it paid; the reverse refunds it', async () => {
    const request = payment(code(4));
    await expect(sut.payByCode(request)).resolves.toMatchObject({ kind: 'unknown' });
    const found = await sut.query(request.paymentNo);
    expect(found).toMatchObject({ kind: 'paid', paidAmountFen: 2599 });
    const tradeNo = found.kind === 'paid' ? found.gatewayTradeNo : null;
    await expect(reverse(request.paymentNo, tradeNo)).resolves.toEqual({ kind: 'refunded', gatewayTradeNo: tradeNo });
    await expect(sut.query(request.paymentNo)).resolves.toEqual({ kind: 'closed' });
  });

  it('5 unknown_then_nothing: unknown; the query says not paid; the reverse closes it', async () => {
    const request = payment(code(5));
    await expect(sut.payByCode(request)).resolves.toMatchObject({ kind: 'unknown' });
    await expect(sut.query(request.paymentNo)).resolves.toEqual({ kind: 'not_paid' });
    await expect(reverse(request.paymentNo)).resolves.toEqual({ kind: 'closed' });
    await expect(sut.query(request.paymentNo)).resolves.toEqual({ kind: 'closed' });
  });

  it('6 reverse_recall: the first cancel answers retry_flag Y (again), the second closes it', async () => {
    const request = payment(code(6));
    await expect(sut.payByCode(request)).resolves.toMatchObject({ kind: 'paying' });
    await expect(reverse(request.paymentNo)).resolves.toMatchObject({ kind: 'again' });
    await expect(reverse(request.paymentNo)).resolves.toEqual({ kind: 'closed' });
    await expect(sut.query(request.paymentNo)).resolves.toEqual({ kind: 'closed' });
  });

  it('7 paid_at_reverse: the buyer pays as the cancel arrives: refunded, closed, and no longer payable', async () => {
    const request = payment(code(7));
    await expect(sut.payByCode(request)).resolves.toMatchObject({ kind: 'paying' });
    await expect(sut.query(request.paymentNo)).resolves.toEqual({ kind: 'not_paid' });
    await expect(reverse(request.paymentNo)).resolves.toEqual({
      kind: 'refunded',
      gatewayTradeNo: expect.stringMatching(/^\d{20,}$/),
    });
    await expect(sut.query(request.paymentNo)).resolves.toEqual({ kind: 'closed' });
    const late = await buyerPays(request.paymentNo);
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ ok: false, error: 'ACQ.TRADE_HAS_CLOSE' });
    // A repeated cancel gives the same answer.
    await expect(reverse(request.paymentNo)).resolves.toMatchObject({ kind: 'refunded' });
  });

  it('8 invalid_code: refused with ACQ.PAYMENT_AUTH_CODE_INVALID', async () => {
    await expect(sut.payByCode(payment(code(8)))).resolves.toMatchObject({
      kind: 'refused',
      code: 'ACQ.PAYMENT_AUTH_CODE_INVALID',
    });
  });

  it('9 reverse_unknown: the first two cancels get 20000 (unknown), the third closes it', async () => {
    const request = payment(code(9));
    await expect(sut.payByCode(request)).resolves.toMatchObject({ kind: 'paying' });
    await expect(reverse(request.paymentNo)).resolves.toMatchObject({ kind: 'unknown' });
    await expect(reverse(request.paymentNo)).resolves.toMatchObject({ kind: 'unknown' });
    await expect(reverse(request.paymentNo)).resolves.toEqual({ kind: 'closed' });
    await expect(sut.query(request.paymentNo)).resolves.toEqual({ kind: 'closed' });
  });

  it.each([
    ['begins 12 (a WeChat code)', '134567890123456780'],
    ['begins 31', '3134567890123456780'],
    ['has 15 digits', '283456789012340'],
    ['has 25 digits', '2834567890123456789012340'],
    ['has a letter', '28345678901234567A0'],
  ])('a code that %s is a parameter error (ACQ.INVALID_PARAMETER) and makes no trade', async (_, authCode) => {
    const request = payment(authCode);
    await expect(sut.payByCode(request)).resolves.toMatchObject({ kind: 'refused', code: 'ACQ.INVALID_PARAMETER' });
    // ACQ.TRADE_NOT_EXIST: Alipay has no trade of that number.
    await expect(sut.query(request.paymentNo)).resolves.toEqual({ kind: 'not_paid' });
  });

  it('a cancel of a trade Alipay never made succeeds without action: absent', async () => {
    await expect(reverse(newPaymentNo(new Date()))).resolves.toEqual({ kind: 'absent' });
  });

  it('the fault switches apply: apiError (20000) and apiDelayMs beyond the timeout are unknown', async () => {
    const failing = payment(code(0));
    await http('POST', `${sandbox.url}/sandbox/faults`, { outTradeNo: failing.paymentNo, apiError: true });
    await expect(sut.payByCode(failing)).resolves.toMatchObject({ kind: 'unknown' });
    await expect(reverse(failing.paymentNo)).resolves.toMatchObject({ kind: 'unknown' });
    const slow = payment(code(0));
    await http('POST', `${sandbox.url}/sandbox/faults`, { outTradeNo: slow.paymentNo, apiDelayMs: 1500 });
    await expect(sut.payByCode(slow)).resolves.toMatchObject({ kind: 'unknown' });
    // The slow call went through after all: the buyer paid, as a lost answer can hide.
    await http('POST', `${sandbox.url}/sandbox/faults`, { outTradeNo: slow.paymentNo });
    await waitFor('the late pay', async () => (await sut.query(slow.paymentNo)).kind === 'paid', 5000);
  });

  it("the day's bill lists paid barcode trades and leaves out the reversed ones", async () => {
    const kept = payment(code(0));
    await expect(sut.payByCode(kept)).resolves.toMatchObject({ kind: 'paid' });
    const refunded = payment(code(4));
    await sut.payByCode(refunded);
    await expect(reverse(refunded.paymentNo)).resolves.toMatchObject({ kind: 'refunded' });
    const statement = await sut.fetchStatement(beijingDate(new Date()));
    expect(statement.kind).toBe('statement');
    const lines: StatementLine[] = statement.kind === 'statement' ? statement.lines : [];
    const numbers = lines.map((line) => line.paymentNo);
    expect(numbers).toContain(kept.paymentNo);
    expect(numbers).not.toContain(refunded.paymentNo);
  });
});
