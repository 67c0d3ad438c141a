import type { Channel } from '../src/gateways/gateway.types';
import { waitFor } from './support/amqp';
import { newTestApplication } from './support/api-keys';
import { sqlPool } from './support/database';
import { type RunningSandbox, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, uniqueId } from './support/test-app';

/** A code of each vendor's format whose last digit is the sandbox scenario (sandbox/barcode-scenarios.ts). */
const CODE_BASE: Record<Channel, string> = {
  wechat: '13456789012345678', // + 1 digit: 18, from 13
  alipay: '283456789012345678', // + 1 digit: 19, from 28
  unionpay: '623456789012345678', // + 1 digit: 19, from 62
};
/** The digit before the scenario is the seconds the buyer takes to pay in `password_then_pays`. */
const code = (channel: Channel, scenario: number, seconds = 1) =>
  `${CODE_BASE[channel].slice(0, -1)}${seconds}${scenario}`;

interface VendorTrade {
  outTradeNo: string;
  state: 'NOTPAY' | 'SUCCESS' | 'CLOSED';
  barcode?: { scenario: string; reversed?: 'closed' | 'refunded'; reverses: number };
}

/**
 * Barcode payments at a counter, end to end: the app charges a buyer's payment code at the sandbox over real
 * HTTP, and every scenario of every vendor ends where the vendor's rules say it must, checked on both sides:
 * no trade the vendor holds as paid is anything but PAID here, no reversed one is PAID here without its
 * reversal refund, and FAILED only after a definite refusal.
 */
describe('Barcode payments (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  const db = sqlPool();

  beforeAll(async () => {
    sandbox = await startSandbox();
    running = await startAppOnSandbox(sandbox, {
      gateways: { timeoutMs: 1500 },
      barcode: {
        queryEveryMs: 300,
        queryForMs: 2500,
        reverseNotBeforeMs: 1000,
        // Shorter than a buyer's password: such a pay answers PAYING, and the counter long-polls.
        answerWaitMs: 500,
        waitMaxSeconds: 10,
      },
      recovery: { jobsEnabled: true, slotMs: 150, reconcilerEnabled: false, longTailMs: [1000] },
    });
  });

  afterAll(async () => {
    await running.close();
    await sandbox.app.close();
    await db.end();
  });

  const app = (path: string) => `${running.url}${path}`;
  const newOrder = async () =>
    (await http('POST', app('/api/orders'), orderBody(uniqueId('bar')))).body.orderNo as string;
  const scan = (orderNo: string, body: Record<string, unknown>) =>
    http('POST', app(`/api/orders/${orderNo}/pay`), body);
  const paymentOf = async (paymentNo: string) => (await http('GET', app(`/api/payments/${paymentNo}`))).body;
  const vendorTrade = async (paymentNo: string) =>
    ((await http('GET', `${sandbox.url}/sandbox/trades`)).body as VendorTrade[]).find(
      (t) => t.outTradeNo === paymentNo,
    );
  const paymentsOfOrder = async (orderNo: string) => {
    const [rows] = await db.query('SELECT payment_no FROM payments WHERE order_no = ?', [orderNo]);
    return (rows as unknown[]).length;
  };

  /** Both sides agree: what the vendor holds and what the Payment Center recorded. */
  async function expectBooksAgree(paymentNo: string) {
    const ours = await paymentOf(paymentNo);
    const theirs = await vendorTrade(paymentNo);
    const reversals = (ours.refunds as { kind: string; status: string; amountFen: number }[]).filter(
      (r) => r.kind === 'REVERSAL',
    );
    if (theirs?.state === 'SUCCESS') {
      expect([ours.status, reversals]).toEqual(['PAID', []]);
    } else if (theirs?.barcode?.reversed === 'refunded') {
      // Paid, and returned by the reverse: PAID with its REVERSAL refund, or (WeChat, whose reverse does not say
      // whether money was taken) CLOSED, nothing kept.
      if (ours.status === 'PAID')
        expect(reversals).toEqual([expect.objectContaining({ status: 'REFUNDED', amountFen: ours.amountFen })]);
      else expect([ours.status, reversals]).toEqual(['CLOSED', []]);
    } else {
      expect(ours.status).not.toBe('PAID');
    }
    if (ours.status === 'FAILED') expect(['insufficient_funds', 'invalid_code']).toContain(theirs?.barcode?.scenario);
    return { ours, theirs };
  }

  const settled = async (paymentNo: string, timeoutMs = 25_000) => {
    await waitFor(
      `barcode payment ${paymentNo} settled`,
      async () => ['PAID', 'FAILED', 'CLOSED'].includes((await paymentOf(paymentNo)).status),
      timeoutMs,
    );
    return expectBooksAgree(paymentNo);
  };

  const pay = async (channel: Channel, scenario: number, seconds?: number) => {
    const orderNo = await newOrder();
    const answer = await scan(orderNo, { authCode: code(channel, scenario, seconds) });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ orderNo, channel, mode: 'barcode', payCredential: null });
    return { orderNo, answer: answer.body, paymentNo: answer.body.paymentNo as string };
  };

  const attemptsOf = async (paymentNo: string, action: string) =>
    ((await paymentOf(paymentNo)).attempts as { action: string; outcome: string }[])
      .filter((a) => a.action === action)
      .map((a) => a.outcome);

  describe.each(['wechat', 'alipay', 'unionpay'] as Channel[])('%s', (channel) => {
    it('pays at once: the counter gets PAID in the pay answer', async () => {
      const { answer, paymentNo } = await pay(channel, 0);
      expect(answer.status).toBe('PAID');
      const { theirs } = await expectBooksAgree(paymentNo);
      expect(theirs?.state).toBe('SUCCESS');
    });

    it('a password, then paid after a second: PAYING, and the long poll returns PAID as soon as it is', async () => {
      const { answer, paymentNo } = await pay(channel, 1, 1);
      expect(answer.status).toBe('PAYING');
      const started = Date.now();
      const polled = await http('GET', app(`/api/payments/${paymentNo}?waitSeconds=8`));
      expect(polled.body.status).toBe('PAID');
      expect(Date.now() - started).toBeLessThan(4000);
      await settled(paymentNo);
    });

    it('insufficient funds and an invalid code are definite refusals: FAILED at once, nothing taken', async () => {
      for (const scenario of [3, 8]) {
        const { answer, paymentNo } = await pay(channel, scenario);
        expect(answer.status).toBe('FAILED');
        expect(answer.statusReason).toMatch(/refused/);
        const { theirs } = await settled(paymentNo);
        expect(theirs?.state).not.toBe('SUCCESS');
        // The order can be paid with another code.
        expect((await scan(answer.orderNo, { authCode: code(channel, 0) })).body.status).toBe('PAID');
      }
    });

    it('no answer, then paid: found by the queries', async () => {
      const { paymentNo } = await pay(channel, 4);
      const { ours } = await settled(paymentNo);
      expect(ours.status).toBe('PAID');
      expect(await attemptsOf(paymentNo, 'pay')).toEqual(['unknown']);
    });

    it.each([
      ['the buyer never enters the password', 2],
      ['no answer, and the buyer never pays', 5],
    ])('%s: queried for the window, then reversed: CLOSED on both sides', async (_, scenario) => {
      const { paymentNo } = await pay(channel, scenario);
      const { ours, theirs } = await settled(paymentNo);
      expect(ours.status).toBe('CLOSED');
      expect(ours.reversedAt).not.toBeNull();
      expect(theirs?.barcode?.reversed).toBe('closed');
      expect((await attemptsOf(paymentNo, 'query')).length).toBeGreaterThanOrEqual(3);
      expect(await attemptsOf(paymentNo, 'reverse')).toEqual(['closed']);
    });

    it('a reverse the vendor asks to repeat, and one without an answer, are repeated until it is done', async () => {
      const recall = await pay(channel, 6);
      const silent = await pay(channel, 9);
      expect((await settled(recall.paymentNo)).ours.status).toBe('CLOSED');
      expect((await settled(silent.paymentNo)).ours.status).toBe('CLOSED');
      expect(await attemptsOf(recall.paymentNo, 'reverse')).toEqual(['again', 'closed']);
      expect(await attemptsOf(silent.paymentNo, 'reverse')).toEqual(['unknown', 'unknown', 'closed']);
    });

    it('the buyer pays just as the reverse arrives: the money goes back, and nothing is kept here', async () => {
      const { paymentNo } = await pay(channel, 7);
      const { ours, theirs } = await settled(paymentNo);
      expect(theirs?.barcode?.reversed).toBe('refunded');
      if (channel === 'wechat') expect(ours.status).toBe('CLOSED');
      else expect(ours.status).toBe('PAID'); // with its REVERSAL refund (expectBooksAgree)
    });
  });

  it('the channel comes from the code; a code of no vendor, or of another than the one named, is 400 and writes nothing', async () => {
    const orderNo = await newOrder();
    for (const body of [
      { authCode: '9934567890123456789' },
      { authCode: '1234' },
      { authCode: code('alipay', 0), channel: 'wechat' },
      { authCode: `${code('wechat', 0)}x` },
      { authCode: code('wechat', 0), terminal: { storeId: 'a b' } },
      {},
    ]) {
      const refused = await scan(orderNo, body);
      expect([refused.status, refused.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    }
    expect(await paymentsOfOrder(orderNo)).toBe(0);
    const named = await scan(orderNo, {
      authCode: code('unionpay', 0),
      channel: 'unionpay',
      terminal: { storeId: 's1', deviceId: 'till-3' }, // not UnionPay's 8-character termId: left out
    });
    expect([named.status, named.body.channel, named.body.status]).toEqual([200, 'unionpay', 'PAID']);
  });

  it('a second code while the first is undecided is refused (the buyer could pay twice): 409 BARCODE_IN_PROGRESS', async () => {
    const { orderNo, paymentNo } = await pay('alipay', 2);
    const second = await scan(orderNo, { authCode: code('wechat', 0) });
    expect([second.status, second.body.code, second.body.details]).toEqual([409, 'BARCODE_IN_PROGRESS', { paymentNo }]);
    expect(await paymentsOfOrder(orderNo)).toBe(1);
    await settled(paymentNo);
    // Reversed: now the order takes another code.
    expect((await scan(orderNo, { authCode: code('wechat', 0) })).body.status).toBe('PAID');
  });

  it("another application can neither charge a code on this shop's order nor wait on its payment: 404 at once", async () => {
    const other = await newTestApplication();
    const { orderNo, paymentNo } = await pay('alipay', 2);
    const scan = await http('POST', app(`/api/orders/${orderNo}/pay`), { authCode: code('wechat', 0) }, other.headers);
    expect([scan.status, scan.body.code]).toEqual([404, 'ORDER_NOT_FOUND']);
    const started = Date.now();
    const poll = await http('GET', app(`/api/payments/${paymentNo}?waitSeconds=5`), undefined, other.headers);
    expect([poll.status, poll.body.code]).toEqual([404, 'PAYMENT_NOT_FOUND']);
    expect(Date.now() - started).toBeLessThan(1000);
    const unauthenticated = await http(
      'POST',
      app(`/api/orders/${orderNo}/pay`),
      { authCode: code('wechat', 0) },
      {
        authorization: '',
      },
    );
    expect(unauthenticated.status).toBe(401);
    expect(await paymentsOfOrder(orderNo)).toBe(1);
    await settled(paymentNo);
  });

  it('the long poll: a final payment answers at once, an unchanged one when the time is up, waitSeconds is bounded', async () => {
    const { paymentNo } = await pay('wechat', 0);
    let started = Date.now();
    expect((await http('GET', app(`/api/payments/${paymentNo}?waitSeconds=5`))).body.status).toBe('PAID');
    expect(Date.now() - started).toBeLessThan(1000);

    const waiting = await pay('unionpay', 2);
    started = Date.now();
    const polled = await http('GET', app(`/api/payments/${waiting.paymentNo}?waitSeconds=1`));
    expect(polled.body.status).toBe('PAYING');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);

    for (const wait of ['61', '-1', 'soon', '1.5']) {
      const refused = await http('GET', app(`/api/payments/${paymentNo}?waitSeconds=${wait}`));
      expect([refused.status, refused.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    }
    await settled(waiting.paymentNo);
  });
});
