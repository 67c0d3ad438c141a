import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConsumeMessage } from 'amqplib';
import type { Pool } from 'mysql2/promise';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { parseKeks } from '../src/gateways/accounts/secret-box';
import { AmqpConnection } from '../src/notifications/amqp.connection';
import { partnerQueue } from '../src/notifications/payment-event';
import { PAYMENT_QUERIES_QUEUE } from '../src/payment-center/recovery/recovery-slots';
import { AmqpProbe, waitFor } from './support/amqp';
import { launchBrowser, screenshotFor } from './support/browser';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { testPartners } from './support/partners';
import { type RunningSandbox, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, startApp, TestClock, uniqueId, paymentState } from './support/test-app';

const partner = testPartners('ac');
const REJECTER = partner('rejecter', ['payment.succeeded']);
const ORDERS = partner('orders', ['payment.#']);
const run = Date.now().toString(36);
const OPS = {
  name: 'ops-e2e',
  token: `ops-${run}-0123456789abcdefghijkl`,
  scopes: [
    'payments:read',
    'payments:resolve',
    'deliveries:read',
    'deliveries:retry',
    'reconciliation:read',
    'queues:read',
    'applications:read',
    'applications:write',
  ],
};
const VIEWER = { name: 'viewer-e2e', token: `viewer-${run}-0123456789abcdefghij`, scopes: ['payments:read'] };
/** Keeps channel accounts; ACCOUNTS_READER only sees them. */
const KEEPER = {
  name: 'keeper-e2e',
  token: `keeper-${run}-0123456789abcdefghij`,
  scopes: ['accounts:read', 'accounts:write'],
};
const ACCOUNTS_READER = {
  name: 'accounts-reader-e2e',
  token: `accounts-reader-${run}-0123456789abcdef`,
  scopes: ['accounts:read'],
};
const bearer = (token: { token: string }) => ({ authorization: `Bearer ${token.token}` });

const REVIEW_REASON =
  'no definite answer after 5 close attempts since the order expired (last: no answer: HTTP 503 from the vendor)';

/**
 * The operators' side against the real app, MariaDB, Redis and RabbitMQ: the admin API for payments in
 * review and their resolution, the queue board behind admin authentication, and the console page in a
 * headless Chromium.
 */
describe('Admin console, review resolution and queue board (e2e)', () => {
  const gateways = fakeGateways();
  let running: RunningApp;
  let db: Pool;
  let probe: AmqpProbe;
  /** Every app of this suite opens the channel accounts it made (an app refuses to boot with one it cannot). */
  const KEKS = parseKeks(`k1:${randomBytes(32).toString('base64')}`, '');

  beforeAll(async () => {
    running = await startApp(Object.values(gateways), new TestClock(), {
      partners: [REJECTER, ORDERS],
      ordersPartner: ORDERS.name,
      consumersEnabled: true,
      adminTokens: [OPS, VIEWER, KEEPER, ACCOUNTS_READER],
      // Sealed channel accounts (the console's accounts tab); rows made here are deleted in afterAll.
      accounts: { keks: KEKS, cacheMs: 100 },
      relay: { enabled: true, pollIntervalMs: 200, publishTimeoutMs: 1000, batchSize: 50, claimLeaseMs: 30_000 },
      partnerDeliveryLimit: 3,
    });
    await running.app.get(AmqpConnection).ready();
    db = sqlPool();
    probe = await AmqpProbe.open();
  });

  /** Channel accounts made by this suite: other suites' apps refuse to boot with accounts they cannot open. */
  const createdAccounts: string[] = [];

  afterAll(async () => {
    for (const id of createdAccounts) await db?.query('DELETE FROM channel_accounts WHERE id = ?', [id]);
    await running?.close();
    await probe?.deleteQueues([partnerQueue(REJECTER.name), partnerQueue(ORDERS.name)]);
    await probe?.close();
    await db?.end();
  });

  beforeEach(() => {
    gateways.wechat.queryResult = { kind: 'not_paid' };
  });

  const url = (path: string) => `${running.url}${path}`;
  const rows = async <T>(sql: string, params: unknown[]) => (await db.query(sql, params))[0] as T[];
  const paymentRow = async (paymentNo: string) =>
    (
      await rows<{ status: string; version: number; next_query_at: Date | null; paid_amount_fen: string | null }>(
        'SELECT status, version, next_query_at, paid_amount_fen FROM payments WHERE payment_no = ?',
        [paymentNo],
      )
    )[0];
  const auditOf = (paymentNo: string) =>
    rows<{ actor: string; action: string; affected: number; target: string }>(
      'SELECT actor, action, affected, target FROM admin_audit WHERE target LIKE ? ORDER BY id',
      [`%${paymentNo}%`],
    );

  async function payingOrder() {
    const order = (await http('POST', url('/api/orders'), orderBody(uniqueId('admin')))).body;
    const payment = (await http('POST', url(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' })).body;
    expect(payment.status).toBe('PAYING');
    return {
      orderNo: order.orderNo as string,
      paymentNo: payment.paymentNo as string,
      amountFen: payment.amountFen as number,
    };
  }

  /** A payment in review the way recovery leaves one: closes without an answer, still asked about hourly. */
  async function reviewPayment() {
    const paying = await payingOrder();
    const nextQueryAt = new Date(Date.now() + 3_600_000);
    await paymentState(running.app).apply(paying.paymentNo, {
      type: 'REVIEW_REQUIRED',
      reason: REVIEW_REASON,
      nextQueryAt,
    });
    return { ...paying, nextQueryAt };
  }

  function vendorSaysPaid(amountFen: number, gatewayTradeNo = uniqueId('4200')) {
    gateways.wechat.queryResult = { kind: 'paid', gatewayTradeNo, paidAmountFen: amountFen, paidAt: new Date() };
    return gatewayTradeNo;
  }

  const resolve = (paymentNo: string, body: unknown, token = OPS) =>
    http('POST', url(`/api/admin/payments/${paymentNo}/resolve`), body, bearer(token));

  describe('admin API', () => {
    it('lists payments in review with why, history and gateway attempts; reading needs payments:read', async () => {
      const review = await reviewPayment();
      const paying = await payingOrder();

      const listed = await http('GET', url('/api/admin/payments'), undefined, bearer(VIEWER));
      expect(listed.status).toBe(200);
      const found = (listed.body as { paymentNo: string }[]).find((p) => p.paymentNo === review.paymentNo);
      expect(found).toMatchObject({
        status: 'NEEDS_REVIEW',
        statusReason: REVIEW_REASON,
        amountFen: review.amountFen,
        history: [
          { event: 'START', from: 'CREATED', to: 'PAYING' },
          { event: 'REVIEW_REQUIRED', from: 'PAYING', to: 'NEEDS_REVIEW', detail: REVIEW_REASON },
        ],
        attempts: [],
        refunds: [],
      });
      expect((listed.body as { status: string }[]).every((p) => p.status === 'NEEDS_REVIEW')).toBe(true);
      expect((listed.body as { paymentNo: string }[]).map((p) => p.paymentNo)).not.toContain(paying.paymentNo);

      const byStatus = await http(
        'GET',
        url('/api/admin/payments?status=PAYING&channel=wechat'),
        undefined,
        bearer(VIEWER),
      );
      expect((byStatus.body as { paymentNo: string }[]).map((p) => p.paymentNo)).toContain(paying.paymentNo);
      const one = await http('GET', url(`/api/admin/payments/${review.paymentNo}`), undefined, bearer(VIEWER));
      expect(one.body).toMatchObject({ paymentNo: review.paymentNo, status: 'NEEDS_REVIEW' });

      expect((await http('GET', url('/api/admin/payments'))).status).toBe(401);
      expect((await http('GET', url('/api/admin/payments?status=SOMETHING'), undefined, bearer(VIEWER))).status).toBe(
        400,
      );
      expect((await http('GET', url('/api/admin/payments/P0000'), undefined, bearer(VIEWER))).status).toBe(404);
      // Leave nothing in review for the next test run's list.
      expect((await resolve(review.paymentNo, { action: 'close', reason: 'test data' })).body.status).toBe('CLOSED');
    });

    it('requery applies what the vendor says now: paid with the right amount → PAID, its event, the order paid, audited', async () => {
      const review = await reviewPayment();
      const tradeNo = vendorSaysPaid(review.amountFen);

      const resolved = await resolve(review.paymentNo, {
        action: 'requery',
        reason: '  ticket OPS-1 vendor says paid ',
      });
      expect(resolved.status).toBe(200);
      expect(resolved.body).toMatchObject({
        action: 'requery',
        changed: true,
        status: 'PAID',
        gatewayAnswer: `paid (trade ${tradeNo}, ${review.amountFen} fen)`,
        payment: { paymentNo: review.paymentNo, status: 'PAID', gatewayTradeNo: tradeNo, nextQueryAt: null },
      });
      expect(gateways.wechat.queryCalls).toContain(review.paymentNo);

      // Through the state machine: the transition, the outbox event, and Orders applied it.
      const history = await rows<{ event: string; from_status: string; to_status: string }>(
        'SELECT event, from_status, to_status FROM payment_transitions WHERE payment_no = ? ORDER BY id',
        [review.paymentNo],
      );
      expect(history.at(-1)).toEqual({ event: 'PAID_CONFIRMED', from_status: 'NEEDS_REVIEW', to_status: 'PAID' });
      expect(
        await rows('SELECT type FROM outbox_events WHERE payment_no = ? AND type = ?', [
          review.paymentNo,
          'payment.succeeded',
        ]),
      ).toHaveLength(1);
      await waitFor('order PAID', async () => {
        const order = await http('GET', url(`/api/orders/${review.orderNo}`));
        return order.body.status === 'PAID';
      });
      // The payment's own record names the operator and the reason...
      const [attempt] = await rows<{ action: string; outcome: string; detail: string }>(
        'SELECT action, outcome, detail FROM payment_attempts WHERE payment_no = ?',
        [review.paymentNo],
      );
      expect(attempt).toEqual({
        action: 'review_query',
        outcome: 'paid',
        detail: expect.stringMatching(/^operator ops-e2e \(ticket OPS-1 vendor says paid\): paid/),
      });
      // ...and so does the audit log.
      const audit = await auditOf(review.paymentNo);
      expect(audit).toEqual([
        { actor: 'ops-e2e', action: 'payment.resolve.requery', affected: 1, target: expect.any(String) },
      ]);
      expect(JSON.parse(audit[0].target)).toMatchObject({
        paymentNo: review.paymentNo,
        reason: 'ticket OPS-1 vendor says paid',
        status: 'PAID',
      });
    });

    it('an audit row that cannot be written stops the resolution: the payment stays in review, nothing is sent', async () => {
      const review = await reviewPayment();
      vendorSaysPaid(review.amountFen);
      const trigger = `refuse_audit_${review.paymentNo}`;
      await db.query(
        `CREATE TRIGGER ${trigger} BEFORE INSERT ON admin_audit FOR EACH ROW
         IF NEW.target LIKE '%${review.paymentNo}%' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit refused'; END IF`,
      );
      try {
        const refused = await resolve(review.paymentNo, { action: 'requery', reason: 'audit store is down' });
        expect(refused.status).toBe(500);
      } finally {
        await db.query(`DROP TRIGGER IF EXISTS ${trigger}`);
      }
      // Without its audit row the resolution did not happen: no transition, no event, no audit.
      expect((await paymentRow(review.paymentNo)).status).toBe('NEEDS_REVIEW');
      expect(
        await rows('SELECT id FROM outbox_events WHERE payment_no = ? AND type = ?', [
          review.paymentNo,
          'payment.succeeded',
        ]),
      ).toHaveLength(0);
      expect(await auditOf(review.paymentNo)).toEqual([]);
      // Once the audit can be written, the same resolution goes through with its row.
      const resolved = await resolve(review.paymentNo, { action: 'requery', reason: 'audit store is back' });
      expect(resolved.body).toMatchObject({ status: 'PAID', changed: true });
      expect((await auditOf(review.paymentNo)).map((a) => [a.action, a.affected])).toEqual([
        ['payment.resolve.requery', 1],
      ]);
    });

    it('requery never makes money up: another amount, or "not paid yet", leaves the payment in review as it was', async () => {
      const review = await reviewPayment();
      const before = await paymentRow(review.paymentNo);

      vendorSaysPaid(review.amountFen + 1);
      const wrongAmount = await resolve(review.paymentNo, { action: 'requery', reason: 'buyer says they paid' });
      expect(wrongAmount.status).toBe(200);
      expect(wrongAmount.body).toMatchObject({ changed: false, status: 'NEEDS_REVIEW' });
      expect(wrongAmount.body.gatewayAnswer).toContain(`${review.amountFen + 1} fen`);

      gateways.wechat.queryResult = { kind: 'not_paid' };
      const notPaid = await resolve(review.paymentNo, { action: 'requery', reason: 'asking once more' });
      expect(notPaid.body).toMatchObject({ changed: false, status: 'NEEDS_REVIEW', gatewayAnswer: 'not paid yet' });

      // Nothing changed: same status, version, and the schedule recovery had planned.
      expect(await paymentRow(review.paymentNo)).toEqual(before);
      const shown = await http('GET', url(`/api/payments/${review.paymentNo}`));
      expect(shown.body.nextQueryAt).toBe(review.nextQueryAt.toISOString());
      expect(
        await rows('SELECT id FROM outbox_events WHERE payment_no = ? AND type = ?', [
          review.paymentNo,
          'payment.succeeded',
        ]),
      ).toEqual([]);
      const attempts = await rows<{ attempt: number; outcome: string }>(
        "SELECT attempt, outcome FROM payment_attempts WHERE payment_no = ? AND action = 'review_query' ORDER BY id",
        [review.paymentNo],
      );
      expect(attempts).toEqual([
        { attempt: 1, outcome: 'paid' },
        { attempt: 2, outcome: 'not_paid' },
      ]);
      expect((await auditOf(review.paymentNo)).map((a) => [a.action, a.affected])).toEqual([
        ['payment.resolve.requery', 0],
        ['payment.resolve.requery', 0],
      ]);

      // It is closed the normal way (the vendor confirms), which also leaves nothing in review here.
      const closed = await resolve(review.paymentNo, { action: 'close', reason: 'merchant console: trade unpaid' });
      expect(closed.body).toMatchObject({ action: 'close', changed: true, status: 'CLOSED' });
      const history = await rows<{ event: string; to_status: string; detail: string | null }>(
        'SELECT event, to_status, detail FROM payment_transitions WHERE payment_no = ? ORDER BY id',
        [review.paymentNo],
      );
      expect(history.slice(-2)).toEqual([
        {
          event: 'CLOSE_REQUESTED',
          to_status: 'CLOSING',
          detail: 'operator ops-e2e asked to close: merchant console: trade unpaid',
        },
        { event: 'CLOSED_CONFIRMED', to_status: 'CLOSED', detail: null },
      ]);
      expect(await rows('SELECT type FROM outbox_events WHERE payment_no = ?', [review.paymentNo])).toEqual([
        { type: 'payment.needs_review' },
        { type: 'payment.closed' },
      ]);
    });

    it('close is the expiry close: a trade the buyer paid becomes PAID (the money wins), never CLOSED', async () => {
      const review = await reviewPayment();
      const tradeNo = vendorSaysPaid(review.amountFen);
      // The buyer paid in the last second: the vendor refuses to close a paid trade.
      gateways.wechat.close = () => Promise.resolve({ kind: 'paid' });
      try {
        const resolved = await resolve(review.paymentNo, { action: 'close', reason: 'order long expired' });
        expect(resolved.body).toMatchObject({ changed: true, status: 'PAID', payment: { gatewayTradeNo: tradeNo } });
      } finally {
        Reflect.deleteProperty(gateways.wechat, 'close'); // back to the fake's own close
      }
      const [attempt] = await rows<{ action: string; outcome: string }>(
        'SELECT action, outcome FROM payment_attempts WHERE payment_no = ?',
        [review.paymentNo],
      );
      expect(attempt).toEqual({ action: 'close', outcome: 'paid' });
    });

    it('refused without a reason (400), with the wrong scope (403), off review (409) or unknown (404): nothing changes', async () => {
      const review = await reviewPayment();
      const before = await paymentRow(review.paymentNo);
      vendorSaysPaid(review.amountFen);

      for (const body of [
        { action: 'requery' },
        { action: 'requery', reason: '   ' },
        { action: 'paid', reason: 'the buyer showed a screenshot' },
        { action: 'requery', reason: 'x'.repeat(201) },
        { action: 'requery', reason: 'fine', amountFen: 1 },
      ]) {
        const refused = await resolve(review.paymentNo, body);
        expect(refused.status).toBe(400);
        expect(refused.body.code).toBe('VALIDATION_FAILED');
      }
      const forbidden = await resolve(review.paymentNo, { action: 'requery', reason: 'viewer tries' }, VIEWER);
      expect(forbidden.status).toBe(403);
      expect(forbidden.body.code).toBe('FORBIDDEN');
      const anonymous = await http('POST', url(`/api/admin/payments/${review.paymentNo}/resolve`), {
        action: 'requery',
        reason: 'no token',
      });
      expect(anonymous.status).toBe(401);
      expect(await paymentRow(review.paymentNo)).toEqual(before);
      expect(gateways.wechat.queryCalls).not.toContain(review.paymentNo);

      // Paid now; resolving it again is refused and audited as refused.
      await resolve(review.paymentNo, { action: 'requery', reason: 'first, legitimate' });
      const paid = await paymentRow(review.paymentNo);
      const again = await resolve(review.paymentNo, { action: 'close', reason: 'second operator, too late' });
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ code: 'PAYMENT_NOT_IN_REVIEW', details: { status: 'PAID' } });
      expect(await paymentRow(review.paymentNo)).toEqual(paid);
      expect((await auditOf(review.paymentNo)).map((a) => [a.actor, a.action, a.affected])).toEqual([
        ['ops-e2e', 'payment.resolve.requery', 1],
        ['ops-e2e', 'payment.resolve.refused', 0],
      ]);
      expect(JSON.parse((await auditOf(review.paymentNo))[1].target)).toMatchObject({
        action: 'close',
        reason: 'second operator, too late',
        code: 'PAYMENT_NOT_IN_REVIEW',
      });

      const unknown = await resolve('P20990101000000' + '0'.repeat(14), { action: 'requery', reason: 'typo' });
      expect(unknown.status).toBe(404);
    });
  });

  describe('queue board', () => {
    const board = (path = '', headers: Record<string, string> = {}) =>
      fetch(url(`/admin/queues${path}`), { headers, redirect: 'manual' });

    it('needs an admin token with queues:read: a bearer header, or the cookie the console sign-in sets', async () => {
      expect((await board('/api/queues')).status).toBe(401);
      const page = await board('/', { accept: 'text/html' });
      expect(page.status).toBe(401);
      expect(await page.text()).toContain('sign in first');
      expect((await board('/api/queues', bearer(VIEWER))).status).toBe(403);
      expect((await board('/api/queues', { authorization: 'Bearer not-a-configured-token-0123456789' })).status).toBe(
        401,
      );

      const queues = await board('/api/queues', bearer(OPS));
      expect(queues.status).toBe(200);
      const body = (await queues.json()) as { queues: { name: string; readOnlyMode: boolean }[] };
      expect(body.queues.map((q) => [q.name, q.readOnlyMode])).toEqual([[PAYMENT_QUERIES_QUEUE, true]]);

      const signIn = await http('POST', url('/api/admin/session'), undefined, bearer(OPS));
      expect(signIn.status).toBe(200);
      expect(signIn.body).toMatchObject({ name: 'ops-e2e', scopes: OPS.scopes, queueBoardUntil: expect.any(String) });
      const setCookie = signIn.headers.get('set-cookie') ?? '';
      expect(setCookie).toMatch(/^pc_queue_board=[^;]+; Path=\/admin\/queues; Max-Age=900; HttpOnly; SameSite=Strict$/);
      const cookie = setCookie.split(';')[0];
      expect((await board('/api/queues', { cookie })).status).toBe(200);
      const html = await board('/', { cookie, accept: 'text/html' });
      expect(html.status).toBe(200);
      expect(await html.text()).toContain('<base href="/admin/queues/"');
      expect(html.headers.get('content-security-policy')).toContain("default-src 'self'");
      // The cookie opens the board only: the admin API takes bearer tokens.
      expect((await http('GET', url('/api/admin/payments'), undefined, { cookie })).status).toBe(401);
      const tampered = cookie.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
      expect((await board('/api/queues', { cookie: tampered })).status).toBe(401);
      // A token without queues:read gets no cookie.
      const viewer = await http('POST', url('/api/admin/session'), undefined, bearer(VIEWER));
      expect(viewer.body.queueBoardUntil).toBeNull();
      expect(viewer.headers.get('set-cookie')).toBeNull();

      const signOut = await fetch(url('/api/admin/session'), { method: 'DELETE', headers: bearer(OPS) });
      expect(signOut.status).toBe(204);
      expect(signOut.headers.get('set-cookie')).toMatch(/^pc_queue_board=; Path=\/admin\/queues; Max-Age=0;/);
      expect(
        (
          await rows<{ action: string }>('SELECT action FROM admin_audit WHERE actor = ? ORDER BY id DESC LIMIT 2', [
            'ops-e2e',
          ])
        ).map((a) => a.action),
      ).toEqual(['console.sign_out', 'console.sign_in']);
    });

    it('is read-only: job actions are refused before bull-board sees them', async () => {
      const queue = running.app.get<Queue>(getQueueToken(PAYMENT_QUERIES_QUEUE), { strict: false });
      const pause = await fetch(url(`/admin/queues/api/queues/${PAYMENT_QUERIES_QUEUE}/pause`), {
        method: 'PUT',
        headers: bearer(OPS),
      });
      expect(pause.status).toBe(405);
      expect(await queue.isPaused()).toBe(false);
      const retry = await fetch(url(`/admin/queues/api/queues/${PAYMENT_QUERIES_QUEUE}/retry/failed`), {
        method: 'PUT',
        headers: bearer(OPS),
      });
      expect(retry.status).toBe(405);
    });
  });

  describe('console page', () => {
    it('is a page, a style sheet and the script file as written, all from this origin, with no inline script', async () => {
      const page = await fetch(url('/admin'));
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self';");
      const html = await page.text();
      expect(html.match(/<script[^>]*>/g)).toEqual(['<script defer src="/admin/console.js">']);

      const script = await fetch(url('/admin/console.js'));
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(script.headers.get('x-content-type-options')).toBe('nosniff');
      // Revalidated on every load (an ETag makes that a 304), so an upgrade never runs an old script.
      expect(script.headers.get('cache-control')).toBe('no-cache');
      expect(await script.text()).toBe(readFileSync(join(process.cwd(), 'src/admin/console/console.js'), 'utf8'));
      const etag = script.headers.get('etag') ?? '';
      expect(etag).not.toBe('');
      // Revalidated as a browser does; fetch() alone would add Cache-Control: no-cache, which asks for the file.
      const revalidated = await fetch(url('/admin/console.js'), {
        headers: { 'if-none-match': etag, 'cache-control': 'max-age=0' },
      });
      expect(revalidated.status).toBe(304);

      const style = await fetch(url('/admin/console.css'));
      expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
      expect(style.headers.get('cache-control')).toBe('no-cache');
    });
  });

  describe('in a browser', () => {
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    const requested: string[] = [];
    const problems: string[] = [];

    beforeAll(async () => {
      browser = await launchBrowser();
      context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      page = await context.newPage();
      page.on('request', (request) => requested.push(request.url()));
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
    });

    afterAll(async () => {
      await context?.close();
      await browser?.close();
    });

    /** Two payments whose `payment.succeeded` the partner rejects: two FAILED deliveries to it. */
    async function failedDeliveries(): Promise<{ id: string; eventId: string }[]> {
      await probe.channel.purgeQueue(partnerQueue(REJECTER.name));
      const rejecting = await probe.channel.consume(partnerQueue(REJECTER.name), (message: ConsumeMessage | null) => {
        if (message) probe.channel.nack(message, false, false);
      });
      const paid = [await payingOrder(), await payingOrder()];
      for (const p of paid) {
        await paymentState(running.app).apply(p.paymentNo, {
          type: 'PAID_CONFIRMED',
          gatewayTradeNo: uniqueId('4200'),
          paidAmountFen: p.amountFen,
          paidAt: new Date(),
        });
      }
      const failed = await waitFor('both deliveries FAILED', async () => {
        const found = await rows<{ id: string; event_id: string }>(
          `SELECT d.id, d.event_id FROM event_deliveries d JOIN outbox_events e ON e.event_id = d.event_id
            WHERE d.partner = ? AND d.status = 'FAILED' AND e.payment_no IN (?) ORDER BY d.id`,
          [REJECTER.name, paid.map((p) => p.paymentNo)],
        );
        return found.length === 2 && found;
      });
      await probe.channel.cancel(rejecting.consumerTag);
      return failed.map((d) => ({ id: String(d.id), eventId: d.event_id }));
    }

    it('signs in, retries failed deliveries (one, then the rest after the dry-run count), resolves a review', async () => {
      const [first, second] = await failedDeliveries();
      const review = await reviewPayment();
      vendorSaysPaid(review.amountFen);

      await page.goto(url('/admin'));
      await page.fill('#token', OPS.token);
      await page.click('#sign-in-form button[type=submit]');
      await page.waitForSelector('#who-name:has-text("ops-e2e")');
      // The token stays in this tab's sessionStorage; never in the URL, localStorage or a script-readable cookie.
      expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([OPS.token]);
      expect(await page.evaluate(() => localStorage.length)).toBe(0);
      expect(await page.evaluate(() => document.cookie)).toBe('');
      expect(page.url()).toBe(url('/admin'));
      expect((await context.cookies()).map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([
        ['pc_queue_board', true, 'Strict'],
      ]);

      // Payments in review (the first tab): the payment with why it is there and its history.
      const card = page.locator(`article[data-payment-no="${review.paymentNo}"]`);
      await card.waitFor();
      await card.locator('summary').click();
      expect(await card.locator('.reason').textContent()).toContain(REVIEW_REASON);
      expect(await card.locator('table').first().textContent()).toContain('PAYING → NEEDS_REVIEW');
      await page.waitForSelector('#deliveries-count:not(:empty)');
      await screenshotFor(page, 'admin-console');

      // Failed deliveries: retry one from its row; the partner's queue gets the event.
      // The tab's own load re-renders the filter: wait for it, or the partner typed in is rendered away.
      const tabLoaded = page.waitForResponse((r) => r.url().includes('/api/admin/deliveries?'));
      await page.click('button[data-tab=deliveries]');
      await tabLoaded;
      await page.waitForSelector('#delivery-partner');
      await page.fill('#delivery-partner', REJECTER.name);
      await page.click('#panel-deliveries form.toolbar button[type=submit]');
      const row = page.locator(`tr[data-delivery-id="${first.id}"]`);
      await row.locator('button:has-text("Retry")').click();
      await page.waitForSelector(`tr[data-delivery-id="${first.id}"] .badge.PUBLISHED`);
      expect(await page.locator('#flash').textContent()).toContain(`Delivery ${first.id}`);
      const [redelivered] = await probe.take(partnerQueue(REJECTER.name), 1);
      expect(redelivered.properties.messageId).toBe(first.eventId);

      // Bulk retry: the dry-run count first, then the retry.
      await page.click('#panel-deliveries button:has-text("Retry all failed")');
      await page.waitForSelector('.bulk-count');
      expect(await page.locator('.bulk-count').textContent()).toContain(`1 failed delivery to ${REJECTER.name}`);
      expect(
        (await rows<{ status: string }>('SELECT status FROM event_deliveries WHERE id = ?', [second.id]))[0],
      ).toEqual({
        status: 'FAILED',
      });
      await page.click('#panel-deliveries button:has-text("Retry 1")');
      await page.waitForSelector('#flash:has-text("Retried 1 of 1")');
      const [bulk] = await probe.take(partnerQueue(REJECTER.name), 1);
      expect(bulk.properties.messageId).toBe(second.eventId);
      expect(await rows('SELECT status FROM event_deliveries WHERE id IN (?)', [[first.id, second.id]])).toEqual([
        { status: 'PUBLISHED' },
        { status: 'PUBLISHED' },
      ]);

      // Resolve the payment in review from its card.
      await page.click('button[data-tab=review]');
      const form = page.locator(`article[data-payment-no="${review.paymentNo}"] form.resolve`);
      await form.locator('select[name=action]').selectOption('requery');
      await form.locator('textarea[name=reason]').fill('vendor console shows it paid (ticket OPS-7)');
      await form.locator('button[type=submit]').click();
      await page.waitForSelector(`#flash:has-text("${review.paymentNo}: requery")`);
      expect(await page.locator('#flash').textContent()).toContain('→ PAID');
      expect((await paymentRow(review.paymentNo)).status).toBe('PAID');
      expect((await auditOf(review.paymentNo)).map((a) => [a.actor, a.action])).toEqual([
        ['ops-e2e', 'payment.resolve.requery'],
      ]);
      await page.waitForSelector(`article[data-payment-no="${review.paymentNo}"]`, { state: 'detached' });

      // The reconciliation tab reads the last run per channel.
      await page.click('button[data-tab=reconciliation]');
      await page.waitForSelector('#panel-reconciliation .grid3 .card >> nth=2');

      // Applications: create one, give it a key (its secret shown once), the key works, revoke it.
      await page.click('button[data-tab=applications]');
      const shop = `console shop ${run}`;
      await page.fill('#new-application-name', shop);
      await page.click('#new-application button[type=submit]');
      const appCard = page.locator('[data-application]', { hasText: shop });
      await appCard.waitFor();
      await appCard.locator('button:has-text("New key")').click();
      const secret = await page.locator('#new-key input').inputValue();
      expect(secret).toMatch(/^pcsk_ak_[0-9a-f]{16}_[0-9a-f]{64}$/);
      const withKey = { authorization: `Bearer ${secret}` };
      expect((await http('POST', url('/api/orders'), orderBody(uniqueId('console')), withKey)).status).toBe(201);
      await page.locator('[data-application]', { hasText: shop }).locator('button:has-text("Revoke")').click();
      await page.waitForSelector('#flash:has-text("revoked")');
      expect((await http('POST', url('/api/orders'), orderBody(uniqueId('console')), withKey)).status).toBe(401);

      // Everything came from the app itself (the console works offline), with no script errors.
      expect(requested.filter((u) => !u.startsWith(running.url))).toEqual([]);
      expect(problems).toEqual([]);
    });

    it('a delivery retry whose audit row cannot be written is not retried: the delivery stays FAILED, nothing is sent', async () => {
      const [failed] = await failedDeliveries();
      await probe.channel.purgeQueue(partnerQueue(REJECTER.name));
      const trigger = `refuse_retry_audit_${failed.id}`;
      await db.query(
        `CREATE TRIGGER ${trigger} BEFORE INSERT ON admin_audit FOR EACH ROW
         IF NEW.action LIKE 'delivery.retry%' AND NEW.target LIKE '%"${failed.id}"%' THEN
           SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit refused'; END IF`,
      );
      try {
        const refused = await http('POST', url(`/api/admin/deliveries/${failed.id}/retry`), {}, bearer(OPS));
        expect(refused.status).toBe(500);
      } finally {
        await db.query(`DROP TRIGGER IF EXISTS ${trigger}`);
      }
      expect(await rows('SELECT status FROM event_deliveries WHERE id = ?', [failed.id])).toEqual([
        { status: 'FAILED' },
      ]);
      expect(await probe.take(partnerQueue(REJECTER.name), 1, 500)).toHaveLength(0);
      const retried = await http(
        'POST',
        url(`/api/admin/deliveries/${failed.id}/retry`),
        {},
        { ...bearer(OPS), 'Idempotency-Key': uniqueId('k') },
      );
      expect(retried.body).toMatchObject({ status: 'PUBLISHED' });
    });

    it('opens the queue board with the sign-in cookie, then signs out', async () => {
      await page.goto(url('/admin'));
      await page.waitForSelector('#board-link:visible');
      await page.click('#board-link');
      await page.waitForURL(url('/admin/queues/'));
      await page.getByText(PAYMENT_QUERIES_QUEUE).first().waitFor();

      await page.goto(url('/admin'));
      await page.click('#sign-out');
      await page.waitForSelector('#sign-in:visible');
      expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
      expect(await context.cookies()).toEqual([]);
      const after = await page.goto(url('/admin/queues/'));
      expect(after?.status()).toBe(401);
    });
  });
  describe('channel accounts in a browser', () => {
    let browser: Browser;
    const problems: string[] = [];

    beforeAll(async () => {
      browser = await launchBrowser();
    });

    afterAll(async () => {
      await browser?.close();
    });

    /** WeChat material the admin API accepts: real keys, made here. */
    function wechatMaterial() {
      const pems = {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      } as const;
      const merchant = generateKeyPairSync('rsa', pems);
      const platform = generateKeyPairSync('rsa', pems);
      return {
        settings: {
          mchid: '1900000199',
          appid: `wx${randomBytes(8).toString('hex')}`,
          merchantSerialNo: randomBytes(20).toString('hex').toUpperCase(),
          platformKeys: { PUB_KEY_ID_0123: platform.publicKey },
        },
        secrets: {
          merchantPrivateKeyPem: merchant.privateKey,
          apiV3Key: randomBytes(16).toString('hex'),
        },
      };
    }

    /** The body of a PEM (what would leak, whatever the line breaks around it). */
    const pemBody = (pem: string) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');

    async function signedIn(token: { token: string; name: string }) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const requested: string[] = [];
      page.on('request', (request) => requested.push(request.url()));
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      await page.goto(url('/admin'));
      await page.fill('#token', token.token);
      await page.click('#sign-in-form button[type=submit]');
      await page.waitForSelector(`#who-name:has-text("${token.name}")`);
      return { context, page, requested };
    }

    /** Everything the page holds as text or in form fields, flattened: where a secret must not appear. */
    const pageText = (page: Page) =>
      page.evaluate(() =>
        [
          document.documentElement.outerHTML,
          ...[...document.querySelectorAll('input, textarea')].map((f) => (f as HTMLInputElement).value),
        ]
          .join('\n')
          .replace(/\s+/g, ''),
      );

    it('lists an account without its secrets, disables it with a reason, enables it, rotates its keys', async () => {
      const accountId = `console-${run}`.slice(0, 32);
      const material = wechatMaterial();
      const created = await http(
        'POST',
        url('/api/admin/accounts'),
        { id: accountId, channel: 'wechat', name: `Console shop ${run}`, ...material },
        bearer(KEEPER),
      );
      createdAccounts.push(accountId);
      expect(created.status).toBe(201);
      const secrets = [pemBody(material.secrets.merchantPrivateKeyPem), material.secrets.apiV3Key];

      const { context, page } = await signedIn(KEEPER);
      try {
        // The only tab this token may read is the accounts one, so it opens first.
        expect(await page.locator('button[data-tab]:visible').allTextContents()).toEqual(['Channel accounts']);
        const card = page.locator(`article[data-account-id="${accountId}"]`);
        await card.waitFor();
        expect(await card.locator('h2').textContent()).toBe(`Console shop ${run}`);
        expect(await card.locator('.badge.ACTIVE').textContent()).toBe('ACTIVE');
        expect(await card.locator('.secret-fields').textContent()).toBe('merchantPrivateKeyPem, apiV3Key');
        expect(await card.locator('.notify-url').textContent()).toBe(created.body.notifyUrl);
        expect(created.body.notifyUrl).toMatch(new RegExp(`/api/payments/notify/wechat/${accountId}$`));
        const facts = await card.locator('.facts').textContent();
        expect(facts).toContain('KEK k1');
        expect(facts).toContain('Version 1');
        for (const secret of secrets) expect(await pageText(page)).not.toContain(secret);

        // Disabling needs a reason: without one nothing is sent.
        await card.locator('button:has-text("Disable")').click();
        await page.waitForSelector(`#flash:has-text("${accountId}: give a reason")`);
        expect(
          (await http('GET', url(`/api/admin/accounts/${accountId}`), undefined, bearer(KEEPER))).body.status,
        ).toBe('ACTIVE');
        const reason = `merchant under review at WeChat Pay (ticket ${run})`;
        await card.locator('input[name=reason]').fill(reason);
        await card.locator('button:has-text("Disable")').click();
        await page.waitForSelector(`article[data-account-id="${accountId}"] .badge.DISABLED`);
        expect(await card.locator('.reason').textContent()).toContain(reason);
        expect(await page.locator('#flash').textContent()).toContain(`${accountId}: DISABLED`);
        const stored = await http('GET', url(`/api/admin/accounts/${accountId}`), undefined, bearer(KEEPER));
        expect(stored.body).toMatchObject({ status: 'DISABLED', statusReason: reason });

        await card.locator('button:has-text("Enable")').click();
        await page.waitForSelector(`article[data-account-id="${accountId}"] .badge.ACTIVE`);
        expect(await card.locator('.reason').count()).toBe(0);
        const enabled = await http('GET', url(`/api/admin/accounts/${accountId}`), undefined, bearer(KEEPER));
        expect(enabled.body).toMatchObject({ status: 'ACTIVE', statusReason: null });
        // Every change is a new version (other instances rebuild the account's adapter on it).
        expect(enabled.body.version).toBe(3);
        expect(await card.locator('.facts').textContent()).toContain('Version 3');

        // Rotation: the pasted secret goes to the API and is not on the page afterwards.
        const apiV3Key = randomBytes(16).toString('hex');
        await card.locator('summary:has-text("Rotate keys")').click();
        await card.locator('textarea[name=material]').fill('{"secrets": ');
        await card.locator('button:has-text("Rotate")').click();
        await page.waitForSelector(`#flash:has-text("${accountId}: paste a JSON object")`);
        await card.locator('textarea[name=material]').fill(JSON.stringify({ secrets: { apiV3Key } }));
        await card.locator('button:has-text("Rotate")').click();
        await page.waitForSelector(`#flash:has-text("${accountId}: keys rotated (version 4)")`);
        expect(await card.locator('.facts').textContent()).toContain('Version 4');
        for (const secret of [...secrets, apiV3Key]) expect(await pageText(page)).not.toContain(secret);

        // Each change is audited under the token's name, without the secret.
        const audit = await rows<{ action: string; target: string }>(
          'SELECT action, target FROM admin_audit WHERE actor = ? AND target LIKE ? ORDER BY id',
          [KEEPER.name, `%${accountId}%`],
        );
        expect(audit.map((a) => a.action)).toEqual([
          'account.create',
          'account.status',
          'account.status',
          'account.rotate',
        ]);
        expect(JSON.stringify(audit)).not.toContain(apiV3Key);
      } finally {
        await context.close();
      }

      // Read-only: the account is listed, with no button that changes it.
      const reader = await signedIn(ACCOUNTS_READER);
      try {
        const card = reader.page.locator(`article[data-account-id="${accountId}"]`);
        await card.waitFor();
        expect(await card.locator('button, form').count()).toBe(0);
      } finally {
        await reader.context.close();
      }

      // Without accounts:read the tab is not there, and the page never asks for accounts.
      const viewer = await signedIn(VIEWER);
      try {
        await viewer.page.waitForSelector('button[data-tab=review][aria-selected=true]');
        expect(await viewer.page.locator('button[data-tab=accounts]').isHidden()).toBe(true);
        expect(await viewer.page.locator('#panel-accounts').isHidden()).toBe(true);
        expect(await viewer.page.locator('[data-account-id]').count()).toBe(0);
        expect(viewer.requested.filter((u) => u.includes('/api/admin/accounts'))).toEqual([]);
      } finally {
        await viewer.context.close();
      }
      expect(problems).toEqual([]);
    });
  });

  // Refunds in review come from the vendor's answers, so these run against the sandbox over HTTP with an app of
  // their own: an automatic refund the sandbox's WeChat refuses goes to review, as in refund-review.e2e-spec.ts.
  describe('refunds in review in a browser', () => {
    let sandbox: RunningSandbox;
    let onSandbox: RunningApp;
    let browser: Browser;
    const problems: string[] = [];

    beforeAll(async () => {
      sandbox = await startSandbox();
      onSandbox = await startAppOnSandbox(sandbox, {
        gateways: { timeoutMs: 1500 },
        adminTokens: [OPS, VIEWER],
        accounts: { keks: KEKS, cacheMs: 100 },
        recovery: {
          queryScheduleMs: [300, 300],
          longTailMs: [400],
          jobsEnabled: true,
          slotMs: 150,
          reconcilerEnabled: false,
        },
      });
      browser = await launchBrowser();
    });

    afterAll(async () => {
      await browser?.close();
      await onSandbox?.close();
      await sandbox?.app.close();
    });

    const app = (path: string) => `${onSandbox.url}${path}`;

    /** A payment closed here, then paid at the vendor anyway: its automatic refund, refused, is in review. */
    async function lateRefundInReview() {
      const order = (await http('POST', app('/api/orders'), orderBody(uniqueId('ac-late')))).body;
      const payment = (await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel: 'wechat' })).body;
      const paymentNo = payment.paymentNo as string;
      await paymentState(onSandbox.app).apply(paymentNo, { type: 'CLOSED_CONFIRMED' });
      await http('POST', `${sandbox.url}/sandbox/faults`, {
        outTradeNo: paymentNo,
        refundRefusal: 'USER_ACCOUNT_ABNORMAL',
      });
      expect((await http('POST', `${sandbox.url}/sandbox/wechat/trades/${paymentNo}/pay`, {})).status).toBe(200);
      const refund = await waitFor('the automatic refund in review', async () => {
        const [first] = (await http('GET', app(`/api/payments/${paymentNo}`))).body.refunds;
        return first?.status === 'NEEDS_REVIEW' && first;
      });
      return { paymentNo, ...(refund as { refundNo: string; amountFen: number; statusReason: string }) };
    }

    async function signedIn(token: { token: string; name: string }) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const requested: string[] = [];
      page.on('request', (request) => requested.push(request.url()));
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      await page.goto(app('/admin'));
      await page.fill('#token', token.token);
      await page.click('#sign-in-form button[type=submit]');
      await page.waitForSelector(`#who-name:has-text("${token.name}")`);
      return { context, page, requested };
    }

    it("lists a refund in review with why and the vendor's answers; asks again, then marks it refunded with the vendor's id", async () => {
      const refund = await lateRefundInReview();
      expect(refund.statusReason).toContain('USER_ACCOUNT_ABNORMAL');

      // Without payments:resolve the refund is listed, with nothing that resolves it.
      const viewer = await signedIn(VIEWER);
      try {
        await viewer.page.waitForSelector('#refunds-count:not(:empty)');
        await viewer.page.click('button[data-tab=refunds]');
        const card = viewer.page.locator(`article[data-refund-no="${refund.refundNo}"]`);
        await card.waitFor();
        expect(await card.locator('button, form, select, textarea, input').count()).toBe(0);
      } finally {
        await viewer.context.close();
      }

      const { context, page, requested } = await signedIn(OPS);
      try {
        // The count shows on the tab before it is opened.
        await page.waitForSelector('#refunds-count:not(:empty)');
        await page.click('button[data-tab=refunds]');
        const card = page.locator(`article[data-refund-no="${refund.refundNo}"]`);
        await card.waitFor();
        expect(await card.locator('.badge.kind.automatic').textContent()).toBe('automatic: late payment');
        expect(await card.locator('.amount').textContent()).toBe(
          `¥${Math.floor(refund.amountFen / 100)}.${String(refund.amountFen % 100).padStart(2, '0')}`,
        );
        expect(await card.locator('.facts').textContent()).toContain(refund.paymentNo);
        expect(await card.locator('.reason').textContent()).toContain(refund.statusReason);
        expect(await card.locator('.answers').textContent()).toContain('USER_ACCOUNT_ABNORMAL');

        // Ask again: the vendor knows no such refund, so it stays in review with that answer on top.
        const form = card.locator('form.resolve');
        expect(await form.locator('input[name=gatewayRefundNo]').isHidden()).toBe(true);
        await form.locator('select[name=action]').selectOption('requery');
        await form.locator('textarea[name=reason]').fill('after the call with the bank (ticket OPS-81)');
        await form.locator('button[type=submit]').click();
        await page.waitForSelector(`#flash:has-text("${refund.refundNo}: requery")`);
        expect(await page.locator('#flash').textContent()).toContain('→ NEEDS_REVIEW (still in review)');
        await page.waitForSelector(
          `article[data-refund-no="${refund.refundNo}"] .answers tbody tr:first-child:has-text("review_query")`,
        );

        // Marked refunded: the vendor refund id is checked here first, then goes with the resolution.
        const again = page.locator(`article[data-refund-no="${refund.refundNo}"] form.resolve`);
        await again.locator('select[name=action]').selectOption('succeeded');
        await again.locator('textarea[name=reason]').fill('refunded by hand in the merchant console (OPS-82)');
        await screenshotFor(page, 'admin-console-refunds');
        await again.locator('input[name=gatewayRefundNo]').fill('not an id!');
        await again.locator('button[type=submit]').click();
        await page.waitForSelector('#flash:has-text("Give the vendor refund id")');
        const gatewayRefundNo = `5030${Date.now()}`;
        await again.locator('input[name=gatewayRefundNo]').fill(gatewayRefundNo);
        await again.locator('button[type=submit]').click();
        await page.waitForSelector(`#flash:has-text("${refund.refundNo}: succeeded")`);
        expect(await page.locator('#flash').textContent()).toContain('→ REFUNDED');
        await page.waitForSelector(`article[data-refund-no="${refund.refundNo}"]`, { state: 'detached' });

        const refunds = (await http('GET', app(`/api/payments/${refund.paymentNo}`))).body.refunds;
        expect(refunds).toEqual([
          expect.objectContaining({ refundNo: refund.refundNo, status: 'REFUNDED', gatewayRefundNo }),
        ]);
        expect(
          await rows('SELECT status, gateway_refund_no FROM refunds WHERE refund_no = ?', [refund.refundNo]),
        ).toEqual([{ status: 'REFUNDED', gateway_refund_no: gatewayRefundNo }]);
        const audit = await auditOf(refund.refundNo);
        expect(audit.map((a) => [a.actor, a.action, a.affected])).toEqual([
          [OPS.name, 'refund.resolve.requery', 0],
          [OPS.name, 'refund.resolve.succeeded', 1],
        ]);
        expect(JSON.parse(audit[1].target)).toMatchObject({
          refundNo: refund.refundNo,
          gatewayRefundNo,
          status: 'REFUNDED',
        });
        expect(requested.filter((u) => !u.startsWith(onSandbox.url))).toEqual([]);
      } finally {
        await context.close();
      }
      expect(problems).toEqual([]);
    });
  });
});
