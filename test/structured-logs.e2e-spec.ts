import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'mysql2/promise';
import { AmqpProbe, waitFor } from './support/amqp';
import { type BuiltApp, startBuiltApp } from './support/built-app';
import { parkRecoveryWork, sqlPool } from './support/database';
import { testPartners } from './support/partners';
import { parseScrape, sampleValue } from './support/metrics';
import { type RunningSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, uniqueId } from './support/test-app';
import { LOG_FLUSH_MS } from '../src/common/logging/logging.module';

type LogLine = Record<string, unknown> & { level: string; time: string; msg: string; context?: string };

/** Classes whose every line is about one order or payment: they must say which. */
const MONEY_PATH = [
  'OrdersService',
  'StartPaymentUseCase',
  'NotificationIntakeUseCase',
  'PaymentStateService',
  'PaymentEventsConsumer',
  'OutboxRelay',
  'PaymentRecovery',
  'RefundRecovery',
  'RefundStateService',
];

/** Every secret the app holds, as it could show up in text: whole, and each line of a PEM body. */
function secretsIn(keysDir: string, extra: string[]): string[] {
  const secrets = [...extra];
  for (const file of readdirSync(keysDir)) {
    const text = readFileSync(join(keysDir, file), 'utf8');
    if (file.endsWith('-private.pem')) {
      const body = text.split('\n').filter((line) => line && !line.startsWith('-----'));
      secrets.push(...body.filter((line) => line.length >= 40), body.join(''));
    }
    if (file === 'wechat.json') secrets.push((JSON.parse(text) as { apiV3Key: string }).apiV3Key);
  }
  return secrets;
}

/**
 * The built app's real output during a full payment run (order, payment, vendor notification, partner
 * event, consumer, refund, admin calls, a forged notification, shutdown) at the most verbose level: JSON
 * lines, request ids, the money path's numbers on every line, and no key, token or secret anywhere.
 */
describe('structured logs of a full payment run (e2e, built app)', () => {
  const partner = testPartners('l');
  const orders = partner('orders');
  const adminToken = `admin-token-${uniqueId('l')}-0123456789abcdef`;
  let sandbox: RunningSandbox;
  let db: Pool;
  let probe: AmqpProbe;
  let app: BuiltApp | undefined;

  beforeAll(async () => {
    db = sqlPool();
    await parkRecoveryWork(db);
    sandbox = await startSandbox();
    probe = await AmqpProbe.open();
  });

  afterAll(async () => {
    if (app && app.child.exitCode === null) app.child.kill('SIGKILL');
    await probe.deleteQueues([`partner.${orders.name}`]);
    await probe.close();
    await sandbox.app.close();
    await db.end();
  });

  it('writes JSON lines with request ids and order/payment numbers, and never a key, token or secret', async () => {
    app = await startBuiltApp(
      sandbox,
      {
        LOG_LEVEL: 'verbose',
        PARTNERS: JSON.stringify([orders]),
        ORDERS_PARTNER: orders.name,
        CONSUMERS_ENABLED: 'true',
        ADMIN_TOKENS: JSON.stringify([{ name: 'ops', token: adminToken, scopes: ['deliveries:read'] }]),
      },
      { captureStdout: true },
    );
    const running = app;
    const { base, child, exited } = running;

    const created = await http('POST', `${base}/api/orders`, orderBody(uniqueId('logs'), 1500, 2), {
      'X-Request-Id': 'checkout-42',
    });
    expect(created.headers.get('x-request-id')).toBe('checkout-42');
    const orderNo = created.body.orderNo as string;
    const pay = await http('POST', `${base}/api/orders/${orderNo}/pay`, { channel: 'wechat' });
    expect(pay.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/); // made here when the caller sent none
    const paymentNo = pay.body.paymentNo as string;
    await http('POST', `${sandbox.url}/sandbox/wechat/trades/${paymentNo}/pay`, {});
    await waitFor('order PAID through the consumer', async () => {
      return (await http('GET', `${base}/api/orders/${orderNo}`)).body.status === 'PAID';
    });
    const refund = await http('POST', `${base}/api/payments/${paymentNo}/refunds`, {
      amountFen: 500,
      reason: 'one box broken',
    });
    expect(refund.status).toBe(201);
    await waitFor('refund done', async () => {
      return (await http('GET', `${base}/api/refunds/${refund.body.refundNo}`)).body.status === 'REFUNDED';
    });
    expect(
      (await http('GET', `${base}/api/admin/deliveries`, undefined, { authorization: `Bearer ${adminToken}` })).status,
    ).toBe(200);
    expect(
      (await http('GET', `${base}/api/admin/deliveries`, undefined, { authorization: `Bearer ${adminToken}x` })).status,
    ).toBe(401);
    const forged = await http(
      'POST',
      `${base}/api/payments/notify/wechat`,
      { id: 'x', resource: {} },
      {
        'wechatpay-signature': 'forged',
        'wechatpay-serial': 'nope',
        'wechatpay-timestamp': String(Math.floor(Date.now() / 1000)),
        'wechatpay-nonce': 'n',
      },
    );
    expect(forged.status).toBe(400);
    // A body that is not JSON is refused before any route runs; it still has its id and its line.
    const unreadable = await fetch(`${base}/api/payments/notify/wechat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'broken-body-1' },
      body: '{"id": "x", "resource": ',
    });
    expect(unreadable.status).toBe(400);
    expect(unreadable.headers.get('x-request-id')).toBe('broken-body-1');
    // Lines are written in batches, LOG_FLUSH_MS after they were logged at the latest: the last request's line
    // is out while the process still runs, well before a 4 KB batch could have filled.
    await waitFor(
      'the last request line on stdout',
      () => Promise.resolve(running.output().includes('"reqId":"broken-body-1"')),
      10 * LOG_FLUSH_MS,
    );
    await new Promise((resolve) => setTimeout(resolve, 500)); // the relay's last publish lines
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    // Every line is one JSON object with a level, a time and a message.
    const output = app.output();
    const lines = output.split('\n').filter((line) => line.trim() !== '');
    const parsed = lines.map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });
    for (const line of parsed)
      expect(typeof line.level === 'string' && typeof line.time === 'string' && typeof line.msg === 'string').toBe(
        true,
      );

    // The caller's request id is on the lines of its request, with the order number.
    const checkout = parsed.filter((l) => l.reqId === 'checkout-42');
    expect(checkout.map((l) => l.msg)).toEqual(expect.arrayContaining(['request completed']));
    expect(checkout.every((l) => l.orderNo === orderNo)).toBe(true);

    // The money path names its order or payment on every line, wherever the line comes from.
    const money = parsed.filter((l) => l.context && MONEY_PATH.includes(l.context));
    expect(money.length).toBeGreaterThanOrEqual(6);
    // (A forged or unreadable notification names no payment we could trust: its refusal is the one exception.)
    const unattributable = (l: LogLine) => l.msg.startsWith('wechat notification refused');
    expect(money.filter((l) => !l.orderNo && !l.paymentNo && !l.refundNo && !unattributable(l))).toEqual([]);
    const ours = (l: LogLine) => l.paymentNo === paymentNo;
    expect(parsed.filter((l) => l.context === 'PaymentStateService' && ours(l)).map((l) => l.msg)).toEqual(
      expect.arrayContaining([`payment ${paymentNo} PAYING → PAID`]),
    );
    for (const context of [
      'StartPaymentUseCase',
      'NotificationIntakeUseCase',
      'PaymentEventsConsumer',
      'OutboxRelay',
    ]) {
      expect([context, parsed.some((l) => l.context === context && ours(l))]).toEqual([context, true]);
    }
    const payCompleted = parsed.find(
      (l) => l.msg === 'request completed' && (l.req as { url: string }).url.endsWith('/pay'),
    );
    expect(payCompleted).toMatchObject({ orderNo, paymentNo, res: { statusCode: 200 } });
    expect(parsed.some((l) => l.level === 'warn' && String(l.msg).includes('wechat notification refused'))).toBe(true);
    expect(parsed.filter((l) => l.reqId === 'broken-body-1')).toEqual([
      expect.objectContaining({
        level: 'warn',
        msg: 'request completed',
        req: { id: 'broken-body-1', method: 'POST', url: '/api/payments/notify/wechat' },
        res: { statusCode: 400 },
      }),
    ]);

    // No secret, whole or in part: signing keys, the APIv3 key, the admin token, the partner's secret.
    const secrets = secretsIn(sandbox.keys, [adminToken, orders.secret]);
    expect(secrets.length).toBeGreaterThan(10);
    expect(secrets.filter((secret) => output.includes(secret))).toEqual([]);
    expect(output).not.toContain('PRIVATE KEY');
  }, 120_000);
  it('while stdout is not read: keeps serving, drops whole lines past LOG_BUFFER_MAX_BYTES, counts them, and says how many once read again', async () => {
    const stalled = await startBuiltApp(
      sandbox,
      { LOG_LEVEL: 'log', LOG_BUFFER_MAX_BYTES: '65536' },
      { captureStdout: true },
    );
    try {
      const { base, child } = stalled;
      const stdout = child.stdout!;
      await waitFor('the start-up lines', () => Promise.resolve(stalled.output().includes('listening on')));
      const dropped = async () =>
        sampleValue(
          parseScrape(await (await fetch(`${base}/metrics`)).text()),
          'payment_center_log_lines_dropped_total',
        ) ?? -1;
      expect(await dropped()).toBe(0);

      // Nobody reads the app's stdout (a log driver that stopped): 800 requests whose lines are ~2 KB each,
      // 1.6 MB, far more than the socket's buffers and 64 KB of waiting lines hold. Every one is answered.
      stdout.pause();
      const pad = 'x'.repeat(2000);
      for (let batch = 0; batch < 40; batch++) {
        const answers = await Promise.all(
          Array.from({ length: 20 }, (_, i) => http('GET', `${base}/api/orders/NOSUCH${batch}X${i}?pad=${pad}`)),
        );
        expect(answers.map((a) => a.status).filter((status) => status >= 500)).toEqual([]);
      }
      const droppedWhileStalled = await dropped();
      expect(droppedWhileStalled).toBeGreaterThan(0);

      // Read again: the lines that waited come out, then the report, then new lines.
      stdout.resume();
      const marker = uniqueId('read-again');
      await waitFor('a new line to come out', async () => {
        await http('GET', `${base}/api/orders/${marker}`);
        return stalled.output().includes(marker);
      });
      const lines = () =>
        stalled
          .output()
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map(
            (line) => JSON.parse(line) as { msg: string; level: string; droppedLines?: number; req?: { url: string } },
          );
      // Every dropped line is in a report, once: the reports add up to the counter.
      await waitFor('the reports to add up to the counter', async () => {
        const reported = lines()
          .filter((line) => line.msg.includes('log lines dropped'))
          .reduce((sum, line) => sum + (line.droppedLines ?? 0), 0);
        return reported > 0 && reported === (await dropped());
      });
      const all = lines(); // each line parsed whole: a line is dropped whole, never cut
      expect(all.filter((line) => line.msg.includes('log lines dropped')).every((line) => line.level === 'error')).toBe(
        true,
      );
      const served = all.filter((line) => line.req?.url.includes('NOSUCH')).length;
      expect(served).toBeGreaterThan(0); // the lines that fitted were kept
      expect(served + (await dropped())).toBeGreaterThanOrEqual(800);
    } finally {
      if (stalled.child.exitCode === null) stalled.child.kill('SIGKILL');
    }
  }, 120_000);
});
