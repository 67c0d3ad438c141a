import type { AdminTokenConfig } from '../src/config/environment';
import type { Channel } from '../src/gateways/gateway.types';
import { waitFor } from './support/amqp';
import { sqlPool } from './support/database';
import { metricValue } from './support/metrics';
import { type RunningSandbox, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, paymentState, type RunningApp, uniqueId } from './support/test-app';

const REVIEWS = 'payment_center_refund_reviews_total';
const OPS: AdminTokenConfig = {
  name: 'refund-ops',
  token: 'refund-review-ops-token-0123456789abcdef',
  scopes: ['payments:read', 'payments:resolve'],
};
const VIEWER: AdminTokenConfig = {
  name: 'refund-viewer',
  token: 'refund-review-viewer-token-0123456789abcd',
  scopes: ['payments:read'],
};
/** Long enough for several attempts in the retry tests, short enough to watch a refund reach it here. */
const REVIEW_AFTER_MS = 6000;

/**
 * Refunds that end, every time: a vendor refusal that means "not now" is retried under the same refund number
 * until it goes through; an automatic refund the vendor refuses goes to review, never to failed; and a refund
 * without a definite answer within REFUND_REVIEW_AFTER goes to review, announced and counted. Against the
 * sandbox over real HTTP, each vendor code set with the sandbox's refund-refusal fault.
 */
describe('Refunds that end (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  const db = sqlPool();

  beforeAll(async () => {
    sandbox = await startSandbox();
    running = await startAppOnSandbox(sandbox, {
      gateways: { timeoutMs: 1500 },
      adminTokens: [OPS, VIEWER],
      recovery: {
        queryScheduleMs: [300, 300],
        longTailMs: [400],
        refundReviewAfterMs: REVIEW_AFTER_MS,
        jobsEnabled: true,
        slotMs: 150,
        reconcilerEnabled: false,
      },
    });
  });

  afterAll(async () => {
    await running.close();
    await sandbox.app.close();
    await db.end();
  });

  const app = (path: string) => `${running.url}${path}`;
  const faults = (body: Record<string, unknown>) => http('POST', `${sandbox.url}/sandbox/faults`, body);
  const paymentOf = async (paymentNo: string) => (await http('GET', app(`/api/payments/${paymentNo}`))).body;
  const buyerPays = async (channel: Channel, payment: { paymentNo: string; payCredential: any }) => {
    if (channel === 'unionpay') {
      await fetch(payment.payCredential.action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(payment.payCredential.fields).toString(),
      });
    }
    return http('POST', `${sandbox.url}/sandbox/${channel}/trades/${payment.paymentNo}/pay`, {});
  };
  const attempts = async (refundNo: string) => {
    const [rows] = await db.query(
      "SELECT outcome, detail FROM payment_attempts WHERE refund_no = ? AND action = 'refund' ORDER BY id",
      [refundNo],
    );
    return rows as { outcome: string; detail: string }[];
  };
  const eventsOf = async (paymentNo: string) => {
    const [rows] = await db.query('SELECT type, body FROM outbox_events WHERE payment_no = ? ORDER BY id', [paymentNo]);
    return (rows as { type: string; body: string }[]).map((r) => ({ type: r.type, body: JSON.parse(r.body) }));
  };

  async function paidPayment(channel: Channel) {
    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId('rr')))).body;
    const payment = (await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel })).body;
    expect((await buyerPays(channel, payment)).status).toBeLessThan(300);
    await waitFor('payment PAID', async () => (await paymentOf(payment.paymentNo)).status === 'PAID');
    return payment.paymentNo as string;
  }

  const refund = async (paymentNo: string) => {
    const answer = await http('POST', app(`/api/payments/${paymentNo}/refunds`), { amountFen: 1000, reason: 'return' });
    expect(answer.status).toBeLessThan(300);
    return answer.body.refundNo as string;
  };
  const resolve = (refundNo: string, body: Record<string, unknown>, token = OPS.token) =>
    http('POST', app(`/api/admin/refunds/${refundNo}/resolve`), body, { authorization: `Bearer ${token}` });
  const audits = async (refundNo: string) => {
    const [rows] = await db.query('SELECT actor, action, target FROM admin_audit WHERE target LIKE ? ORDER BY id', [
      `%${refundNo}%`,
    ]);
    return (rows as { actor: string; action: string; target: string }[]).map((r) => ({
      ...r,
      target: JSON.parse(r.target) as Record<string, unknown>,
    }));
  };
  const refundOf = async (paymentNo: string, refundNo: string) =>
    ((await paymentOf(paymentNo)).refunds as { refundNo: string; status: string; statusReason: string }[]).find(
      (r) => r.refundNo === refundNo,
    );

  // Each vendor's "not now" codes (docs/gateways.md): refused, retried under the same refund number, refunded.
  it.each([
    ['wechat', 'NOT_ENOUGH'],
    ['wechat', 'FREQUENCY_LIMITED'],
    ['wechat', 'SYSTEM_ERROR'],
    ['alipay', 'ACQ.SELLER_BALANCE_NOT_ENOUGH'],
    ['alipay', 'ACQ.SYSTEM_ERROR'],
    ['unionpay', '03'],
    ['unionpay', '05'],
  ] as [Channel, string][])('%s %s: retried, not ended, and refunded once it goes through', async (channel, code) => {
    const paymentNo = await paidPayment(channel);
    await faults({ outTradeNo: paymentNo, refundRefusal: code });
    const refundNo = await refund(paymentNo);
    await waitFor('two refused sends', async () => (await attempts(refundNo)).length >= 2, 15_000);
    expect((await refundOf(paymentNo, refundNo))?.status).toBe('REFUNDING');
    expect((await attempts(refundNo)).every((a) => a.outcome === 'unknown')).toBe(true);
    await faults({ outTradeNo: paymentNo });
    await waitFor('REFUNDED', async () => (await refundOf(paymentNo, refundNo))?.status === 'REFUNDED', 15_000);
    const trade = (await http('GET', `${sandbox.url}/sandbox/trades/${paymentNo}`)).body;
    expect(trade.refunds).toEqual([expect.objectContaining({ refundNo, amountFen: 1000 })]);
  });

  it("a merchant's refund the vendor definitely refuses fails; an automatic one goes to review, announced and counted", async () => {
    // The merchant's own refund: REFUND_FAILED, as the merchant asked for it and is told.
    const paid = await paidPayment('wechat');
    await faults({ outTradeNo: paid, refundRefusal: 'INVALID_REQUEST' });
    const requested = await refund(paid);
    await waitFor('REFUND_FAILED', async () => (await refundOf(paid, requested))?.status === 'REFUND_FAILED');

    // Money that came where it should not: paid after its payment was closed. Its refund must not just end.
    const before = await metricValue(running.app, REVIEWS, { channel: 'wechat', reason: 'refused' });
    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId('rr-late')))).body;
    const payment = (await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' })).body;
    await paymentState(running.app).apply(payment.paymentNo, { type: 'CLOSED_CONFIRMED' });
    await faults({ outTradeNo: payment.paymentNo, refundRefusal: 'USER_ACCOUNT_ABNORMAL' });
    expect((await buyerPays('wechat', payment)).status).toBe(200);
    const reviewed = await waitFor('automatic refund in review', async () => {
      const refunds = (await paymentOf(payment.paymentNo)).refunds;
      return refunds[0]?.status === 'NEEDS_REVIEW' && refunds[0];
    });
    expect(reviewed).toMatchObject({ kind: 'LATE_PAYMENT' });
    expect(reviewed.statusReason).toContain('automatic refund refused by the gateway: USER_ACCOUNT_ABNORMAL');
    const events = await eventsOf(payment.paymentNo);
    expect(events.map((e) => e.type)).toEqual([
      'payment.closed',
      'payment.refund_started',
      'payment.refund_needs_review',
    ]);
    expect(events[2].body.refund).toMatchObject({ refundNo: reviewed.refundNo, status: 'NEEDS_REVIEW' });
    expect(events[2].body.version).toBeGreaterThan(events[1].body.version);
    expect(await metricValue(running.app, REVIEWS, { channel: 'wechat', reason: 'refused' })).toBe(before + 1);

    // The operator's list shows it with the vendor's answers.
    const listed = await http('GET', app('/api/admin/refunds?channel=wechat'), undefined, {
      authorization: `Bearer ${VIEWER.token}`,
    });
    const inList = (listed.body as { refundNo: string; attempts: { detail: string }[] }[]).find(
      (r) => r.refundNo === reviewed.refundNo,
    );
    expect(inList?.attempts.map((a) => a.detail).join(' ')).toContain('USER_ACCOUNT_ABNORMAL');
    // Resolving needs payments:resolve; `succeeded` needs the vendor's refund id. Neither changes anything.
    expect((await resolve(reviewed.refundNo, { action: 'requery', reason: 'look again' }, VIEWER.token)).status).toBe(
      403,
    );
    expect((await resolve(reviewed.refundNo, { action: 'succeeded', reason: 'done at the vendor' })).status).toBe(400);
    // Asked again, the vendor still knows no such refund: it stays in review.
    const requeried = await resolve(reviewed.refundNo, { action: 'requery', reason: 'after the bank call' });
    expect(requeried.body).toMatchObject({ action: 'requery', changed: false, status: 'NEEDS_REVIEW' });
    // The operator refunded it by hand at the vendor and gives the refund id.
    const marked = await resolve(reviewed.refundNo, {
      action: 'succeeded',
      gatewayRefundNo: '50300000000000000000000001',
      reason: 'refunded by hand in the merchant console (OPS-77)',
    });
    expect(marked.body).toMatchObject({ changed: true, status: 'REFUNDED' });
    expect(marked.body.refund).toMatchObject({ gatewayRefundNo: '50300000000000000000000001', status: 'REFUNDED' });
    expect((await eventsOf(payment.paymentNo)).map((e) => e.type).at(-1)).toBe('payment.refunded');
    const again = await resolve(reviewed.refundNo, { action: 'retry', reason: 'twice' });
    expect([again.status, again.body.code]).toEqual([409, 'REFUND_NOT_IN_REVIEW']);
    expect((await audits(reviewed.refundNo)).map((a) => [a.actor, a.action])).toEqual([
      [OPS.name, 'refund.resolve.requery'],
      [OPS.name, 'refund.resolve.succeeded'],
      [OPS.name, 'refund.resolve.refused'],
    ]);
    expect((await audits(reviewed.refundNo))[1].target).toMatchObject({
      gatewayRefundNo: '50300000000000000000000001',
      status: 'REFUNDED',
    });
  });

  it('a refund still without a definite answer after REFUND_REVIEW_AFTER goes to review, announced and counted', async () => {
    const before = await metricValue(running.app, REVIEWS, { channel: 'alipay', reason: 'no_answer' });
    const paymentNo = await paidPayment('alipay');
    // The merchant's balance stays short: every send is refused "for now".
    await faults({ outTradeNo: paymentNo, refundRefusal: 'ACQ.SELLER_BALANCE_NOT_ENOUGH' });
    const refundNo = await refund(paymentNo);
    const reviewed = await waitFor(
      'refund in review',
      async () => {
        const r = await refundOf(paymentNo, refundNo);
        return r?.status === 'NEEDS_REVIEW' && r;
      },
      REVIEW_AFTER_MS + 10_000,
    );
    expect(reviewed.statusReason).toMatch(
      /^no definite answer from the gateway \d+ attempts after the refund was made/,
    );
    expect((await attempts(refundNo)).length).toBeGreaterThanOrEqual(2);
    const types = (await eventsOf(paymentNo)).map((e) => e.type);
    expect(types.slice(-2)).toEqual(['payment.refund_started', 'payment.refund_needs_review']);
    expect(await metricValue(running.app, REVIEWS, { channel: 'alipay', reason: 'no_answer' })).toBe(before + 1);
    // Out of recovery's schedule: nothing asks the vendor again until an operator decides.
    const asked = (await attempts(refundNo)).length;
    await new Promise((r) => setTimeout(r, 1500));
    expect((await attempts(refundNo)).length).toBe(asked);

    // The balance is topped up; the operator sends it again under the same refund number.
    await faults({ outTradeNo: paymentNo });
    const retried = await resolve(refundNo, { action: 'retry', reason: 'balance topped up (OPS-78)' });
    expect(retried.body).toMatchObject({ action: 'retry', changed: true, status: 'REFUNDING' });
    await waitFor('REFUNDED after the retry', async () => (await refundOf(paymentNo, refundNo))?.status === 'REFUNDED');
    const trade = (await http('GET', `${sandbox.url}/sandbox/trades/${paymentNo}`)).body;
    expect(trade.refunds).toEqual([expect.objectContaining({ refundNo, amountFen: 1000 })]);
  });
});
