import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { beijingDate } from '../src/common/beijing-time';
import { ReconciliationJob } from '../src/reconciliation/reconciliation.job';
import type { Channel } from '../src/gateways/gateway.types';
import { waitFor } from './support/amqp';
import { sqlPool } from './support/database';
import { type RunningSandbox, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, uniqueId } from './support/test-app';

const OPS = {
  name: 'ops-recon',
  token: 'reconciliation-token-0123456789',
  scopes: ['reconciliation:run', 'reconciliation:read'],
};
const READER = { name: 'ops-reader', token: 'reconciliation-reader-0123456789', scopes: ['reconciliation:read'] };

interface Item {
  kind: string;
  paymentNo: string;
  refundNo: string | null;
  oursFen: number | null;
  theirsFen: number | null;
  resolution: string;
  detail: string;
}

/** `npm run reconcile -- …` as a process: its exit status and output. */
function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ status: number; stdout: string; stderr: string }> {
  const cli = join(process.cwd(), 'dist', 'src', 'reconciliation', 'cli.js');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ status: typeof error?.code === 'number' ? error.code : error ? -1 : 0, stdout, stderr }),
    );
  });
}

/**
 * Statement reconciliation against the sandbox's bills (WeChat's CSV trade bill, Alipay's zipped GBK CSV):
 * a line we never saw (a lost payment, recovered), a missing line, an amount mismatch, a refund we never
 * recorded. Query jobs and the reconciler are off, so only the statement can find what was lost.
 */
describe('Statement reconciliation (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  const today = beijingDate(new Date());

  beforeAll(async () => {
    sandbox = await startSandbox();
    running = await startAppOnSandbox(sandbox, { adminTokens: [OPS, READER], gateways: { timeoutMs: 1000 } });
  });

  afterAll(async () => {
    await running.close();
    await sandbox.app.close();
  });

  const app = (path: string) => `${running.url}${path}`;
  const faults = (body: Record<string, unknown>) => http('POST', `${sandbox.url}/sandbox/faults`, body);
  const paymentOf = async (paymentNo: string) => (await http('GET', app(`/api/payments/${paymentNo}`))).body;
  const buyerPays = (channel: Channel, paymentNo: string) =>
    http('POST', `${sandbox.url}/sandbox/${channel}/trades/${paymentNo}/pay`, {});
  // Each call is a new run (the duplicate-submission guard would replay an identical request within seconds).
  const reconcile = (channel: Channel, date = today, token = OPS.token) =>
    http(
      'POST',
      app('/api/admin/reconciliations'),
      { channel, date },
      { authorization: `Bearer ${token}`, 'Idempotency-Key': uniqueId('recon-run') },
    );

  async function payment(channel: Channel, faultsBeforePaying: Record<string, unknown> = {}) {
    const order = (await http('POST', app('/api/orders'), orderBody(uniqueId(`rec-${channel}`)))).body;
    const started = (await http('POST', app(`/api/orders/${order.orderNo}/pay`), { channel })).body;
    const paymentNo = started.paymentNo as string;
    if (channel === 'unionpay') {
      // The buyer's browser posts the consume form: only then does UnionPay know the order.
      await fetch(started.payCredential.action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(started.payCredential.fields).toString(),
      });
    }
    await faults({ outTradeNo: paymentNo, ...faultsBeforePaying });
    await buyerPays(channel, paymentNo);
    return paymentNo;
  }

  /** Four trades, one per case; returns their numbers once each is where the case needs it. */
  async function cases(channel: Channel) {
    const lost = await payment(channel, { dropNotifications: true });
    const missing = await payment(channel, { statementOmit: true });
    const mismatch = await payment(channel, { statementAmountFen: 2400 });
    const refunded = await payment(channel);
    for (const no of [missing, mismatch, refunded])
      await waitFor('payment PAID', async () => (await paymentOf(no)).status === 'PAID');
    // The refund is made at the vendor, but its answer and its notification are lost: REFUNDING here.
    await faults({ outTradeNo: refunded, apiDelayMs: 1500, dropNotifications: true, systemError: false });
    const refund = await http(
      'POST',
      app(`/api/payments/${refunded}/refunds`),
      { amountFen: 800, reason: 'returned goods' },
      { 'Idempotency-Key': uniqueId('rec-refund') },
    );
    expect(refund.body.status).toBe('REFUNDING');
    await faults({ outTradeNo: refunded, dropNotifications: true });
    await waitFor('the refund made at the vendor', async () => {
      const trade = (await http('GET', `${sandbox.url}/sandbox/wechat/trades/${refunded}`)).body;
      return trade.refunds?.length === 1;
    });
    expect((await paymentOf(lost)).status).toBe('PAYING');
    return { lost, missing, mismatch, refunded, refundNo: refund.body.refundNo as string };
  }

  function expectClassified(items: Item[], c: Awaited<ReturnType<typeof cases>>) {
    const of = (paymentNo: string) => items.filter((i) => i.paymentNo === paymentNo);
    expect(of(c.lost)).toEqual([
      expect.objectContaining({ kind: 'PAID_NOT_RECORDED', theirsFen: 2500, resolution: 'RESOLVED' }),
    ]);
    expect(of(c.missing)).toEqual([
      expect.objectContaining({ kind: 'MISSING_AT_GATEWAY', oursFen: 2500, theirsFen: null, resolution: 'REVIEW' }),
    ]);
    expect(of(c.mismatch)).toEqual([
      expect.objectContaining({ kind: 'AMOUNT_MISMATCH', oursFen: 2500, theirsFen: 2400, resolution: 'REVIEW' }),
    ]);
    expect(of(c.refunded)).toEqual([
      expect.objectContaining({
        kind: 'REFUND_NOT_RECORDED',
        refundNo: c.refundNo,
        theirsFen: 800,
        resolution: 'RESOLVED',
      }),
    ]);
  }

  it('WeChat trade bill: the lost payment and the unrecorded refund are recovered, the rest go to review', async () => {
    const c = await cases('wechat');
    const response = await reconcile('wechat');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      channel: 'wechat',
      billDate: today,
      status: 'REVIEW',
      triggeredBy: OPS.name,
    });
    expect(response.body.statementLines).toBeGreaterThanOrEqual(4); // three payments and a refund (one omitted)
    expectClassified(response.body.items, c);
    const recovered = await paymentOf(c.lost);
    expect(recovered).toMatchObject({ status: 'PAID', paidAmountFen: 2500 });
    expect((await http('GET', app(`/api/refunds/${c.refundNo}`))).body.status).toBe('REFUNDED');

    // Stored and readable; a second run finds the recovered ones agreeing now.
    const stored = await http('GET', app(`/api/admin/reconciliations/${response.body.id}`), undefined, {
      authorization: `Bearer ${READER.token}`,
    });
    expect(stored.body.items).toHaveLength(response.body.items.length);
    const again = (await reconcile('wechat')).body;
    expect((again.items as Item[]).filter((i) => [c.lost, c.refunded].includes(i.paymentNo))).toEqual([]);
  });

  it('Alipay bill (zip of GBK CSV) from the command line: the same four cases', async () => {
    const c = await cases('alipay');
    // Asynchronously: the sandbox the command talks to runs in this process.
    const cli = await runCli(['--channel', 'alipay', '--date', today], {
      LOG_LEVEL: 'error',
      GATEWAY_MODE: 'sandbox',
      SANDBOX_URL: sandbox.url,
      SANDBOX_KEYS_DIR: sandbox.keys,
      PARTNERS: '[]',
    });
    if (cli.status !== 2) console.error(cli.stderr);
    expect(cli.status).toBe(2); // differences need review
    const run = JSON.parse(cli.stdout);
    expect(run).toMatchObject({ channel: 'alipay', billDate: today, status: 'REVIEW', triggeredBy: 'cli' });
    expectClassified(run.items, c);
    expect((await paymentOf(c.lost)).status).toBe('PAID');
    expect((await http('GET', app(`/api/refunds/${c.refundNo}`))).body.status).toBe('REFUNDED');
  });

  it('UnionPay reconciliation file (deflated zip, fixed-width ZM_ lines): the same four cases', async () => {
    const c = await cases('unionpay');
    const run = (await reconcile('unionpay')).body;
    expect(run).toMatchObject({ channel: 'unionpay', billDate: today, status: 'REVIEW' });
    expectClassified(run.items, c);
    expect((await paymentOf(c.lost)).status).toBe('PAID');
    expect((await http('GET', app(`/api/refunds/${c.refundNo}`))).body.status).toBe('REFUNDED');
  });

  it('the daily job reconciles yesterday for every channel once; a day with a result is not run again', async () => {
    const clock = running.clock;
    clock.advance(2 * 24 * 3600 * 1000); // "yesterday" is tomorrow: a day nobody has reconciled
    const tomorrow = beijingDate(new Date(Date.now() + 24 * 3600 * 1000));
    // Runs of that day left by an earlier test run would count as done.
    const db = sqlPool();
    await db.query('DELETE FROM reconciliation_runs WHERE bill_date = ?', [tomorrow]);
    await db.end();
    try {
      const job = running.app.get(ReconciliationJob);
      await job.tick();
      const runs = async () =>
        (
          await http('GET', app(`/api/admin/reconciliations?date=${tomorrow}&limit=500`), undefined, {
            authorization: `Bearer ${READER.token}`,
          })
        ).body as { channel: string; triggeredBy: string; status: string }[];
      const scheduled = (await runs()).filter((r) => r.triggeredBy === 'schedule');
      expect(scheduled.map((r) => `${r.channel}:${r.status}`).sort()).toEqual([
        'alipay:EMPTY',
        'unionpay:NOT_READY', // UnionPay's "no file" answer is not confirmed: reported as not ready
        'wechat:EMPTY',
      ]);
      await job.tick();
      // Days with a result are not run again; the one not ready is tried again.
      expect(
        (await runs())
          .filter((r) => r.triggeredBy === 'schedule')
          .map((r) => r.channel)
          .sort(),
      ).toEqual(['alipay', 'unionpay', 'unionpay', 'wechat']);
    } finally {
      clock.advance(-2 * 24 * 3600 * 1000);
    }
  });

  it('a day with no bill and nothing settled here is EMPTY; the admin API needs the right scope and a valid date', async () => {
    const empty = await reconcile('wechat', '2020-01-01');
    expect(empty.body).toMatchObject({ status: 'EMPTY', differences: 0 });
    expect((await reconcile('wechat', today, READER.token)).status).toBe(403);
    expect((await reconcile('wechat', '2020-13-01')).status).toBe(400);
    const list = await http('GET', app('/api/admin/reconciliations?channel=wechat&date=2020-01-01'), undefined, {
      authorization: `Bearer ${READER.token}`,
    });
    expect(list.body[0]).toMatchObject({ id: empty.body.id, status: 'EMPTY' });
  });
});
