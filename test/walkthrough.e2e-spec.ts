import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { partnerQueue } from '../src/notifications/payment-event';
import { AmqpProbe, waitFor } from './support/amqp';
import { http, orderBody, uniqueId } from './support/test-app';

/**
 * The README walk-through, as a user does it: `npm start` (app + sandbox, built), create an order, pay it
 * with WeChat, open the sandbox cashier page, press pay, and see the order PAID.
 */
describe('README walk-through (built app and sandbox as processes)', () => {
  const launcher = join(process.cwd(), 'dist', 'src', 'start-local.js');
  const port = 21_000 + Math.floor(Math.random() * 9000);
  const sandboxPort = port + 10_000;
  const base = `http://127.0.0.1:${port}`;
  const sandbox = `http://127.0.0.1:${sandboxPort}`;
  const orders = `wt${Date.now().toString(36)}-orders`;
  let child: ChildProcess;
  /** The README's `$PC_KEY`: the demo application's key that `npm start` saved in its folder. */
  let demoKey: Record<string, string>;
  const cwd = mkdtempSync(join(tmpdir(), 'pc-walkthrough-')); // no .env, keys generated afresh

  beforeAll(async () => {
    if (!existsSync(launcher))
      throw new Error('dist/src/start-local.js is missing: run `npm run build` first (npm test does)');
    child = spawn(process.execPath, [launcher], {
      cwd,
      env: {
        ...process.env,
        PORT: String(port),
        SANDBOX_URL: sandbox,
        PUBLIC_BASE_URL: base,
        LOG_LEVEL: 'warn',
        DB_MIGRATE_ON_START: 'true',
        CONSUMERS_ENABLED: 'true',
        PARTNERS: JSON.stringify([
          { name: orders, bindings: ['payment.#'], keyId: `${orders}-k1`, secret: 'walkthrough-secret-0123456789abc' },
        ]),
        ORDERS_PARTNER: orders,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitFor(
      'the app to answer',
      async () => (await http('GET', `${base}/health`).catch(() => undefined))?.status === 200,
      // Migrations, fresh sandbox keys and every service healthy: in CI this suite can run right after the chaos
      // run, which restarts MariaDB, Redis and RabbitMQ; 60 s was once not enough.
      150_000,
    );
    await waitFor(
      'the sandbox to answer',
      async () => (await http('GET', `${sandbox}/sandbox/wechat/trades/x`).catch(() => undefined))?.status === 200,
    );
    const keyFile = join(cwd, 'var', 'demo-api-key');
    const secret = await waitFor('the demo API key', () =>
      Promise.resolve(existsSync(keyFile) && readFileSync(keyFile, 'utf8').trim()),
    );
    demoKey = { authorization: `Bearer ${secret}` };
  }, 180_000);

  afterAll(async () => {
    child.kill('SIGTERM');
    await waitFor(
      'both processes to stop',
      () => Promise.resolve(child.exitCode !== null || child.signalCode !== null),
      20_000,
    );
    const probe = await AmqpProbe.open();
    await probe.deleteQueues([partnerQueue(orders)]);
    await probe.close();
  });

  it('pays an order in the sandbox cashier and the order becomes PAID', async () => {
    expect(
      (await http('POST', `${base}/api/orders`, orderBody(uniqueId('readme')), { authorization: '' })).status,
    ).toBe(401);
    const order = await http('POST', `${base}/api/orders`, orderBody(uniqueId('readme')), demoKey);
    expect(order.status).toBe(201);
    const payment = await http('POST', `${base}/api/orders/${order.body.orderNo}/pay`, { channel: 'wechat' }, demoKey);
    expect(payment.status).toBe(200);
    expect(payment.body.payCredential.codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);

    const cashier = await fetch(`${sandbox}/sandbox/cashier/${payment.body.paymentNo}`);
    const html = await cashier.text();
    expect(html).toContain('¥25.00');
    expect(html).toContain('id="pay"');
    const pressed = await fetch(`${sandbox}/sandbox/wechat/trades/${payment.body.paymentNo}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
      redirect: 'manual',
    });
    expect(pressed.status).toBe(303);

    await waitFor(
      'order PAID',
      async () =>
        (await http('GET', `${base}/api/orders/${order.body.orderNo}`, undefined, demoKey)).body.status === 'PAID',
    );
    expect((await http('GET', `${base}/api/payments/${payment.body.paymentNo}`, undefined, demoKey)).body.status).toBe(
      'PAID',
    );
  });
});
