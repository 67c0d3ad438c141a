import { randomBytes } from 'node:crypto';
import type { Pool } from 'mysql2/promise';
import { waitFor } from './support/amqp';
import { type BuiltApp, startBuiltApp } from './support/built-app';
import { parkRecoveryWork, sqlPool } from './support/database';
import { type RunningSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, uniqueId } from './support/test-app';

/**
 * The built app as a real process, SIGKILLed after it committed a payment as PAYING and while its call to
 * the gateway is still in flight (the vendor is slow). A second process takes over: the payment must be
 * resolved from the database and the recovery slots alone — nothing stuck, nothing FAILED.
 */
describe('app killed between entering PAYING and the gateway answer (e2e, SIGKILL)', () => {
  const queuePrefix = `test-kill-${randomBytes(3).toString('hex')}`;
  let sandbox: RunningSandbox;
  let db: Pool;
  const children: BuiltApp[] = [];

  async function startChild(): Promise<string> {
    const app = await startBuiltApp(sandbox, {
      GATEWAY_TIMEOUT_MS: '10000', // the create call is still waiting when the process dies
      PAYMENT_QUERY_SCHEDULE: '1s,500ms,500ms',
      PAYMENT_QUERY_LONG_TAIL: '500ms',
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
    const [rows] = await db.query('SELECT status, query_attempts FROM payments WHERE payment_no = ?', [paymentNo]);
    return (rows as { status: string; query_attempts: number }[])[0];
  };

  it('the next process finds the payment paid at the vendor (its notification lost) and records it PAID once', async () => {
    const first = await startChild();
    const order = (await http('POST', `${first}/api/orders`, orderBody(uniqueId('kill-rc')))).body;
    await http('POST', `${sandbox.url}/sandbox/faults`, { apiDelayMs: 3000, dropNotifications: true });
    const pay = http('POST', `${first}/api/orders/${order.orderNo}/pay`, { channel: 'wechat' }).catch(() => undefined);
    const paymentNo = await waitFor('the payment committed as PAYING', async () => {
      const [rows] = await db.query('SELECT payment_no, status FROM payments WHERE order_no = ?', [order.orderNo]);
      const row = (rows as { payment_no: string; status: string }[])[0];
      return row?.status === 'PAYING' && row.payment_no;
    });
    children[0].child.kill('SIGKILL'); // its vendor call is in flight; nothing after the commit happened
    await pay;
    expect(await rowOf(paymentNo)).toMatchObject({ status: 'PAYING', query_attempts: 0 });

    // The vendor made the trade anyway (the call arrived); the buyer pays; every notification is lost.
    await waitFor('the trade at the vendor', async () => {
      const trade = (await http('GET', `${sandbox.url}/sandbox/wechat/trades/${paymentNo}`)).body;
      return trade.outTradeNo === paymentNo;
    });
    await http('POST', `${sandbox.url}/sandbox/faults`, { outTradeNo: paymentNo, dropNotifications: true });
    await http('POST', `${sandbox.url}/sandbox/wechat/trades/${paymentNo}/pay`, {});

    const second = await startChild();
    const paid = await waitFor('payment PAID', async () => {
      const p = (await http('GET', `${second}/api/payments/${paymentNo}`)).body;
      return p.status === 'PAID' && p;
    });
    expect((paid.history as { to: string }[]).map((h) => h.to)).toEqual(['PAYING', 'PAID']);
    expect((paid.attempts as { outcome: string }[]).filter((a) => a.outcome === 'paid')).toHaveLength(1);
  });
});
