import { randomBytes } from 'node:crypto';
import type { Pool } from 'mysql2/promise';
import { AmqpProbe, waitFor } from './support/amqp';
import { type BuiltApp, startBuiltApp } from './support/built-app';
import { parkRecoveryWork, sqlPool } from './support/database';
import { testPartners } from './support/partners';
import { type RunningSandbox, startSandbox } from './support/sandbox';
import { orderBody, uniqueId, withTestKey } from './support/test-app';

/** What became of one HTTP request sent while the app was being stopped. */
type Outcome =
  | { kind: 'answered'; status: number; at: number; body: any } // a complete HTTP response
  | { kind: 'refused'; at: number } // never accepted: the listener was closed (a client or balancer retries)
  // Reset before a byte of an answer. Closing a listening socket resets the connections the kernel had queued
  // for it but the process had not accepted yet; such a request was never read, so it must have changed
  // nothing, and the client's retry with the same Idempotency-Key must go through once (checked below).
  | { kind: 'reset'; at: number }
  | { kind: 'broken'; at: number; error: string }; // read, then cut off: must never happen

async function send(method: 'GET' | 'POST', url: string, body?: unknown, key?: string): Promise<Outcome> {
  try {
    const response = await fetch(url, {
      method,
      headers: withTestKey(url, { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { kind: 'answered', status: response.status, at: Date.now(), body: text ? JSON.parse(text) : undefined };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; syscall?: string; message?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED') return { kind: 'refused', at: Date.now() };
    // `read ECONNRESET` from the socket itself: no part of a response had arrived (a reset mid-answer is
    // undici's "other side closed" / "terminated" instead). `connect ECONNRESET`: the listener closed with the
    // connection still in its queue and the reset came before the client saw the connect complete: not a byte
    // of the request was sent.
    if (cause?.code === 'ECONNRESET' && (cause.syscall === 'read' || cause.syscall === 'connect')) {
      return { kind: 'reset', at: Date.now() };
    }
    return { kind: 'broken', at: Date.now(), error: `${String(error)} ${cause?.code ?? ''} ${cause?.message ?? ''}` };
  }
}

/**
 * The built app as a real process, stopped with SIGTERM while buyers create and pay orders and the vendor
 * notifies it. Every request it accepted must get a whole answer, it must exit 0 on its own, leave no
 * claim behind, and the next process must finish everything: no order, payment or event lost or doubled.
 */
describe('graceful shutdown on SIGTERM under load (e2e, built app)', () => {
  const run = randomBytes(3).toString('hex');
  const partner = testPartners('g');
  const orders = partner('orders');
  const watcher = partner('watch', ['payment.succeeded']);
  let sandbox: RunningSandbox;
  let db: Pool;
  let probe: AmqpProbe;
  const children: BuiltApp[] = [];

  async function startChild(): Promise<BuiltApp> {
    const app = await startBuiltApp(sandbox, {
      PARTNERS: JSON.stringify([orders, watcher]),
      ORDERS_PARTNER: orders.name,
      CONSUMERS_ENABLED: 'true',
      RECOVERY_JOBS_ENABLED: 'true',
      RECOVERY_SLOT_MS: '200',
      RECOVERY_QUEUE_PREFIX: `test-term-${run}`,
      PAYMENT_QUERY_SCHEDULE: '1s,1s',
      PAYMENT_QUERY_LONG_TAIL: '1s',
      SHUTDOWN_TIMEOUT_MS: '20000',
    });
    children.push(app);
    return app;
  }

  beforeAll(async () => {
    db = sqlPool();
    // Other suites' payments must not be worked by these processes' recovery slots and sweeps.
    await parkRecoveryWork(db);
    await db.query('UPDATE orders SET next_check_at = NULL WHERE next_check_at IS NOT NULL');
    sandbox = await startSandbox();
    probe = await AmqpProbe.open();
  });

  afterAll(async () => {
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
    await probe.deleteQueues([`partner.${orders.name}`, `partner.${watcher.name}`]);
    await probe.close();
    await sandbox.app.close();
    await db.end();
  });

  it('answers every accepted request, exits 0, and the next process finishes the rest with nothing lost or doubled', async () => {
    const first = await startChild();
    // The vendor answers slowly, so pay requests are mid-call when the signal comes.
    await send('POST', `${sandbox.url}/sandbox/faults`, { apiDelayMs: 400 });

    /** Each request with what is needed to send it again: its URL path, body and Idempotency-Key. */
    const outcomes: { what: 'create' | 'pay'; path: string; body: unknown; key: string; outcome: Outcome }[] = [];
    const created: string[] = [];
    const started: { orderNo: string; paymentNo: string }[] = [];
    let stop = false;
    const request = async (what: 'create' | 'pay', path: string, body: unknown, key: string) => {
      const outcome = await send('POST', `${first.base}${path}`, body, key);
      outcomes.push({ what, path, body, key, outcome });
      return outcome;
    };
    const buyer = async (n: number) => {
      while (!stop) {
        const buyerId = uniqueId(`term-${n}`);
        const create = await request('create', '/api/orders', orderBody(buyerId, 100 + n), `${buyerId}-create`);
        if (create.kind !== 'answered') break;
        if (create.status !== 201) continue;
        const orderNo = create.body.orderNo as string;
        created.push(orderNo);
        const pay = await request('pay', `/api/orders/${orderNo}/pay`, { channel: 'wechat' }, `${buyerId}-pay`);
        if (pay.kind !== 'answered') break;
        if (pay.status !== 200 && pay.status !== 201) continue;
        started.push({ orderNo, paymentNo: pay.body.paymentNo });
        // The buyer pays; the vendor notifies the app (and resends until it is acknowledged).
        await send('POST', `${sandbox.url}/sandbox/wechat/trades/${pay.body.paymentNo}/pay`, {});
      }
    };
    const buyers = Array.from({ length: 12 }, (_, n) => buyer(n));

    await waitFor('payments under way', () => Promise.resolve(started.length >= 20), 60_000);
    const signalledAt = Date.now();
    first.child.kill('SIGTERM');
    const code = await first.exited;
    const stoppedAfterMs = Date.now() - signalledAt;
    stop = true;
    await Promise.all(buyers);

    // 1. It stopped by itself, cleanly, and cut no accepted request off.
    expect(code).toBe(0);
    expect(stoppedAfterMs).toBeLessThan(20_000);
    expect(outcomes.filter((o) => o.outcome.kind === 'broken')).toEqual([]);
    const answered = outcomes.flatMap((o) => (o.outcome.kind === 'answered' ? [{ what: o.what, ...o.outcome }] : []));
    expect(answered.filter((a) => a.status >= 500 && a.status !== 503)).toEqual([]);
    expect(answered.filter((a) => a.status === 503 && a.at < signalledAt)).toEqual([]);
    const inFlightAtSignal = outcomes.filter((o) => o.outcome.kind === 'answered' && o.outcome.at > signalledAt);
    expect(inFlightAtSignal.length).toBeGreaterThan(0); // the signal really came under load

    // 2. Nothing half-done: every answered payment recorded the vendor's answer, no claim is left behind.
    const paymentNos = started.map((s) => s.paymentNo);
    const [payments] = await db.query(
      'SELECT payment_no, status, pay_credential IS NOT NULL AS credential, gateway_requested_at FROM payments WHERE payment_no IN (?)',
      [paymentNos],
    );
    const rows = payments as { payment_no: string; status: string; credential: number; gateway_requested_at: Date }[];
    expect(rows).toHaveLength(paymentNos.length);
    for (const row of rows) {
      expect([row.payment_no, row.credential, row.gateway_requested_at]).toEqual([row.payment_no, 1, null]);
    }
    const [claims] = await db.query(
      'SELECT COUNT(*) AS n FROM outbox_events WHERE published_at IS NULL AND claimed_by LIKE ?',
      [`%:${first.child.pid}:%`],
    );
    expect(Number((claims as { n: number }[])[0].n)).toBe(0);
    const [orderRows] = await db.query('SELECT COUNT(*) AS n FROM orders WHERE order_no IN (?)', [created]);
    expect(Number((orderRows as { n: number }[])[0].n)).toBe(created.length);
    // A request reset before it was read changed nothing: no order for its buyer, no payment for its order.
    const resets = outcomes.filter((o) => o.outcome.kind === 'reset');
    for (const reset of resets) {
      const [found] =
        reset.what === 'create'
          ? await db.query('SELECT COUNT(*) AS n FROM orders WHERE buyer_id = ?', [
              (reset.body as { buyerId: string }).buyerId,
            ])
          : await db.query('SELECT COUNT(*) AS n FROM payments WHERE order_no = ?', [reset.path.split('/')[3]]);
      expect([reset.what, reset.path, Number((found as { n: number }[])[0].n)]).toEqual([reset.what, reset.path, 0]);
    }

    // 3. The next process finishes the rest: every trade the vendor holds as paid is PAID once, its order
    //    PAID through the consumer, and its event delivered to the partner.
    const second = await startChild();
    // The buyers whose request was reset send it again, with the same Idempotency-Key: it goes through once.
    for (const reset of resets) {
      const again = await send('POST', `${second.base}${reset.path}`, reset.body, reset.key);
      const status = again.kind === 'answered' ? again.status : again.kind;
      expect([reset.what, status]).toEqual([reset.what, reset.what === 'create' ? 201 : 200]);
      if (reset.what === 'create') {
        const buyerId = (reset.body as { buyerId: string }).buyerId;
        const [orders] = await db.query('SELECT COUNT(*) AS n FROM orders WHERE buyer_id = ?', [buyerId]);
        expect([buyerId, Number((orders as { n: number }[])[0].n)]).toEqual([buyerId, 1]);
      }
      if (again.kind !== 'answered' || reset.what !== 'pay') continue;
      paymentNos.push(again.body.paymentNo as string);
      await send('POST', `${sandbox.url}/sandbox/wechat/trades/${again.body.paymentNo}/pay`, {});
    }
    const paidAtVendor = await waitFor('the sandbox to hold our trades', async () => {
      const trades = (await (await fetch(`${sandbox.url}/sandbox/trades`)).json()) as {
        outTradeNo: string;
        state: string;
      }[];
      const ours = trades.filter((t) => paymentNos.includes(t.outTradeNo));
      return ours.length === paymentNos.length && ours.filter((t) => t.state === 'SUCCESS').map((t) => t.outTradeNo);
    });
    expect(paidAtVendor).toHaveLength(paymentNos.length);
    await waitFor(
      'every paid trade PAID and its order PAID',
      async () => {
        const [done] = await db.query(
          `SELECT COUNT(*) AS n FROM payments p JOIN orders o ON o.order_no = p.order_no
            WHERE p.payment_no IN (?) AND p.status = 'PAID' AND o.status = 'PAID'`,
          [paymentNos],
        );
        return Number((done as { n: number }[])[0].n) === paymentNos.length;
      },
      60_000,
    );
    const [transitions] = await db.query(
      `SELECT payment_no, COUNT(*) AS n FROM payment_transitions WHERE payment_no IN (?) AND to_status = 'PAID'
        GROUP BY payment_no HAVING n <> 1`,
      [paymentNos],
    );
    expect(transitions).toEqual([]);
    const [events] = await db.query(
      `SELECT event_id FROM outbox_events WHERE payment_no IN (?) AND type = 'payment.succeeded'`,
      [paymentNos],
    );
    const eventIds = new Set((events as { event_id: string }[]).map((e) => e.event_id));
    expect(eventIds.size).toBe(paymentNos.length);
    const delivered = await probe.take(`partner.${watcher.name}`, paymentNos.length, 30_000);
    expect(new Set(delivered.map((m) => m.properties.messageId as string))).toEqual(eventIds);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 240_000);
});
