import { randomBytes } from 'node:crypto';
import type { Pool } from 'mysql2/promise';
import { waitFor } from './support/amqp';
import { type BuiltApp, startBuiltApp } from './support/built-app';
import { parkRecoveryWork, sqlPool } from './support/database';
import { type RunningSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, uniqueId } from './support/test-app';

interface VendorTrade {
  outTradeNo: string;
  state: string;
  barcode?: { reversed?: 'closed' | 'refunded'; reverses: number };
}

/**
 * The built app as a real process, SIGKILLed in the middle of the barcode protocol: once while the pay call is
 * in flight (the payment committed PAYING, the vendor slow), once while a reverse is in flight. The vendor
 * finishes what it was asked either way; a second process must finish the protocol from the database and the
 * jobs alone: nothing lost, nothing charged that is not PAID or returned.
 */
describe('barcode payments survive a SIGKILL mid-protocol (e2e)', () => {
  const queuePrefix = `test-barkill-${randomBytes(3).toString('hex')}`;
  let sandbox: RunningSandbox;
  let db: Pool;
  const children: BuiltApp[] = [];

  async function startChild(): Promise<string> {
    const app = await startBuiltApp(sandbox, {
      GATEWAY_TIMEOUT_MS: '3000', // the slow vendor's calls (2 s) are still running when the process dies
      BARCODE_QUERY_EVERY: '500ms',
      BARCODE_QUERY_FOR: '2s',
      BARCODE_REVERSE_NOT_BEFORE: '1s',
      BARCODE_ANSWER_WAIT: '100ms',
      PAYMENT_QUERY_LONG_TAIL: '1s',
      RECOVERY_JOBS_ENABLED: 'true',
      RECOVERY_SLOT_MS: '200',
      RECOVERY_QUEUE_PREFIX: queuePrefix,
      RECONCILER_ENABLED: 'true',
      RECONCILER_CRON: '* * * * * *',
      RECONCILER_GRACE_MS: '2000',
      PARTNERS: '[]',
      CONSUMERS_ENABLED: 'false',
    });
    children.push(app);
    return app.base;
  }

  const killLast = async () => {
    const last = children[children.length - 1];
    last.child.kill('SIGKILL');
    await last.exited;
  };

  // Each test's processes are its own: the last one of a test would otherwise finish the next test's work.
  afterEach(async () => {
    for (const { child, exited } of children.splice(0)) {
      child.kill('SIGKILL');
      await exited;
    }
  });

  beforeAll(async () => {
    db = sqlPool();
    await parkRecoveryWork(db);
    sandbox = await startSandbox();
  });

  afterAll(async () => {
    for (const { child } of children) child.kill('SIGKILL');
    await sandbox.app.close();
    await db.end();
  });

  const rowOf = async (paymentNo: string) => {
    const [rows] = await db.query(
      'SELECT status, next_query_at > NOW(3) + INTERVAL 4 SECOND AS leased FROM payments WHERE payment_no = ?',
      [paymentNo],
    );
    return (rows as { status: string; leased: number }[])[0];
  };
  const vendorTrade = async (paymentNo: string) =>
    ((await http('GET', `${sandbox.url}/sandbox/trades`)).body as VendorTrade[]).find(
      (t) => t.outTradeNo === paymentNo,
    );
  const paymentOnOrder = async (orderNo: string) => {
    const [rows] = await db.query('SELECT payment_no, status FROM payments WHERE order_no = ?', [orderNo]);
    return (rows as { payment_no: string; status: string }[])[0];
  };

  it('killed while the pay call is in flight: the next process finds the buyer paid and records it PAID once', async () => {
    const first = await startChild();
    const order = (await http('POST', `${first}/api/orders`, orderBody(uniqueId('barkill-pay')))).body;
    await http('POST', `${sandbox.url}/sandbox/faults`, { apiDelayMs: 2000 });
    // A WeChat code whose buyer confirms a password after 1 s.
    const scan = http('POST', `${first}/api/orders/${order.orderNo}/pay`, { authCode: '134567890123456711' });
    const paymentNo = await waitFor('the payment committed as PAYING', async () => {
      const row = await paymentOnOrder(order.orderNo);
      return row?.status === 'PAYING' && row.payment_no;
    });
    await killLast(); // the pay call is in flight; its answer is never recorded
    await scan.catch(() => undefined);
    await http('POST', `${sandbox.url}/sandbox/faults`, {});
    await waitFor('the vendor paid the trade', async () => (await vendorTrade(paymentNo))?.state === 'SUCCESS', 10_000);

    const second = await startChild();
    const paid = await waitFor(
      'payment PAID',
      async () => {
        const p = (await http('GET', `${second}/api/payments/${paymentNo}`)).body;
        return p.status === 'PAID' && p;
      },
      20_000,
    );
    expect((paid.history as { to: string }[]).map((h) => h.to)).toEqual(['PAYING', 'PAID']);
    expect((paid.attempts as { action: string }[]).some((a) => a.action === 'pay')).toBe(false); // its answer died with it
    expect((await vendorTrade(paymentNo))?.state).toBe('SUCCESS');
  }, 60_000);

  it('killed while a reverse is in flight (the buyer paid as it arrived): the money went back, recorded as such', async () => {
    const first = await startChild();
    const order = (await http('POST', `${first}/api/orders`, orderBody(uniqueId('barkill-rev')))).body;
    // An Alipay code whose buyer pays just as the reverse arrives.
    const scan = await http('POST', `${first}/api/orders/${order.orderNo}/pay`, { authCode: '2834567890123456717' });
    expect(scan.body.status).toBe('PAYING');
    const paymentNo = scan.body.paymentNo as string;
    // Only this trade's calls are slow from now on: the reverse will be in flight for 2 s.
    await http('POST', `${sandbox.url}/sandbox/faults`, { outTradeNo: paymentNo, apiDelayMs: 2000 });
    await waitFor(
      'the reverse claimed (CLOSING, leased)',
      async () => {
        const row = await rowOf(paymentNo);
        return row.status === 'CLOSING' && row.leased === 1;
      },
      20_000,
    );
    await killLast();
    await waitFor(
      'the vendor reversed it',
      async () => (await vendorTrade(paymentNo))?.barcode?.reversed === 'refunded',
      10_000,
    );
    expect((await rowOf(paymentNo)).status).toBe('CLOSING'); // nothing recorded the answer

    const second = await startChild();
    const settled = await waitFor(
      'payment settled',
      async () => {
        const p = (await http('GET', `${second}/api/payments/${paymentNo}`)).body;
        return p.status !== 'CLOSING' && p;
      },
      30_000,
    );
    // Paid and returned by the reverse: PAID with its REVERSAL refund, never kept, never refunded twice.
    expect(settled.status).toBe('PAID');
    expect(settled.reversedAt).not.toBeNull();
    expect((settled.refunds as { kind: string; status: string }[]).map((r) => [r.kind, r.status])).toEqual([
      ['REVERSAL', 'REFUNDED'],
    ]);
    expect((await vendorTrade(paymentNo))?.barcode?.reversed).toBe('refunded');
  }, 90_000);
});
