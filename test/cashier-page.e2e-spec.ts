import type { Pool } from 'mysql2/promise';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import QRCode from 'qrcode';
import { AmqpConnection } from '../src/notifications/amqp.connection';
import { partnerQueue } from '../src/notifications/payment-event';
import { AmqpProbe, waitFor } from './support/amqp';
import { launchBrowser, screenshotFor } from './support/browser';
import { sqlPool } from './support/database';
import { testPartners } from './support/partners';
import { type RunningSandbox, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, uniqueId } from './support/test-app';

const ORDERS = testPartners('c')('orders');

/**
 * The sandbox cashier in a real headless Chromium: the buyer's page for WeChat Pay, Alipay and UnionPay, its
 * QR code, pay button, live status and fault switches, against the real app, MariaDB, Redis and RabbitMQ.
 */
describe('Sandbox cashier page in a browser (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  let browser: Browser;
  let context: BrowserContext;
  let db: Pool;

  beforeAll(async () => {
    sandbox = await startSandbox();
    running = await startAppOnSandbox(sandbox, {
      partners: [ORDERS],
      ordersPartner: ORDERS.name,
      consumersEnabled: true,
      gateways: { timeoutMs: 1000 },
    });
    await running.app.get(AmqpConnection).ready();
    db = sqlPool();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await running?.close();
    await sandbox?.app.close();
    const probe = await AmqpProbe.open();
    await probe.deleteQueues([partnerQueue(ORDERS.name)]);
    await probe.close();
    await db?.end();
  });

  let page: Page;
  /** Every URL the page asked for: the cashier must need nothing but the sandbox (it works offline). */
  let requested: string[];

  beforeEach(async () => {
    await http('POST', `${sandbox.url}/sandbox/faults`, {});
    context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    page = await context.newPage();
    requested = [];
    page.on('request', (request) => requested.push(request.url()));
  });

  afterEach(async () => {
    await context.close();
  });

  const app = (path: string) => `${running.url}${path}`;
  const cashierUrl = (paymentNo: string) => `${sandbox.url}/sandbox/cashier/${paymentNo}`;

  async function startPaying(channel: 'wechat' | 'alipay' | 'unionpay') {
    const order = await http('POST', app('/api/orders'), orderBody(uniqueId('cashier')));
    expect(order.status).toBe(201);
    const payment = await http('POST', app(`/api/orders/${order.body.orderNo}/pay`), { channel });
    expect(payment.status).toBe(200);
    return { orderNo: order.body.orderNo as string, payment: payment.body };
  }

  async function expectQrOf(codeUrl: string): Promise<void> {
    const qr = page.locator('#qr');
    expect(await qr.getAttribute('data-code-url')).toBe(codeUrl);
    expect(await page.locator('#code-url').textContent()).toBe(codeUrl);
    const svg = await qr.locator('svg').evaluate((element) => element.outerHTML);
    expect(qrCarries(svg, codeUrl)).toBe(true);
    expect(qrCarries(svg, `${codeUrl}x`)).toBe(false);
    const box = await qr.locator('svg').boundingBox();
    expect(box?.width).toBeGreaterThan(150); // drawn, not just present
  }

  /** Waits until the element's text matches, as the page updates itself. */
  async function waitForText(id: string, pattern: RegExp): Promise<void> {
    await page.waitForFunction(
      ({ id, source }) => new RegExp(source).test(document.getElementById(id)?.textContent ?? ''),
      { id, source: pattern.source },
    );
  }

  async function payOnPage(): Promise<void> {
    await page.locator('#pay').click();
    await waitForText('state', /^Paid$/);
    expect(await page.locator('#cashier').getAttribute('data-state')).toBe('SUCCESS');
    expect(await page.locator('#pay').isDisabled()).toBe(true);
  }

  async function expectOrderPaid(orderNo: string, paymentNo: string): Promise<void> {
    await waitFor('order PAID', async () => (await http('GET', app(`/api/orders/${orderNo}`))).body.status === 'PAID');
    const payment = (await http('GET', app(`/api/payments/${paymentNo}`))).body;
    expect(payment.status).toBe('PAID');
    expect(payment.history.filter((h: { to: string }) => h.to === 'PAID')).toHaveLength(1);
  }

  function expectOnlySandboxRequests(): void {
    expect(requested.filter((url) => !url.startsWith(`${sandbox.url}/`) && !url.startsWith('data:'))).toEqual([]);
  }

  it('WeChat: QR of the code_url, amount in yuan, pay → the page shows Paid → the order is PAID', async () => {
    const { orderNo, payment } = await startPaying('wechat');
    await page.goto(cashierUrl(payment.paymentNo));
    expect(await page.locator('.brand-name').textContent()).toBe('WeChat Pay');
    expect(await page.locator('#amount').textContent()).toBe('¥25.00');
    expect(await page.locator('#state').textContent()).toBe('Waiting for payment');
    expect(await page.locator('dl').textContent()).toContain('Longjing tea 250g');
    expect(await page.locator('dl').textContent()).toContain(payment.paymentNo);
    await waitForText('countdown', /expires in (\d+:)?\d+:\d\d/);
    await expectQrOf(payment.payCredential.codeUrl);

    await payOnPage();
    await waitForText('notifications', /#1 → HTTP 204/);
    await expectOrderPaid(orderNo, payment.paymentNo);
    expectOnlySandboxRequests();
  });

  it('the first cashier address leads to the page; without script, pay posts the form and comes back Paid', async () => {
    const { orderNo, payment } = await startPaying('wechat');
    const plain = await browser.newContext({ javaScriptEnabled: false });
    try {
      const noScript = await plain.newPage();
      await noScript.goto(`${sandbox.url}/sandbox/wechat/cashier/${payment.paymentNo}`);
      expect(noScript.url()).toBe(cashierUrl(payment.paymentNo));
      expect(await noScript.locator('#amount').textContent()).toBe('¥25.00');
      await noScript.locator('#pay').click();
      await noScript.waitForURL(cashierUrl(payment.paymentNo));
      expect(await noScript.locator('#state').textContent()).toBe('Paid');
      await expectOrderPaid(orderNo, payment.paymentNo);
      const missing = await noScript.goto(cashierUrl('P00000000000000000000000000'));
      expect(missing?.status()).toBe(404);
      expect(await noScript.locator('h1').textContent()).toBe('No such trade');
    } finally {
      await plain.close();
    }
  });

  it('Alipay: QR of the qr_code, pay → Paid → order PAID', async () => {
    const { orderNo, payment } = await startPaying('alipay');
    await page.goto(cashierUrl(payment.paymentNo));
    expect(await page.locator('.brand-name').textContent()).toBe('Alipay');
    expect(await page.locator('#amount').textContent()).toBe('¥25.00');
    await expectQrOf(payment.payCredential.codeUrl);
    await payOnPage();
    await waitForText('notifications', /#1 → HTTP 200 "success"/);
    await expectOrderPaid(orderNo, payment.paymentNo);
    expectOnlySandboxRequests();
  });

  it('UnionPay: the browser posts the signed form, lands on the same cashier, pays → order PAID', async () => {
    const { orderNo, payment } = await startPaying('unionpay');
    expect(payment.payCredential.type).toBe('form');
    // What the shop's page does with the credential: a form the browser posts to UnionPay.
    await page.evaluate(({ action, fields }: { action: string; fields: Record<string, string> }) => {
      const form = document.createElement('form');
      form.method = 'post';
      form.action = action;
      for (const [name, value] of Object.entries(fields)) {
        const input = document.createElement('input');
        input.type = 'hidden';
        input.name = name;
        input.value = value;
        form.append(input);
      }
      document.body.append(form);
      form.submit();
    }, payment.payCredential);
    await page.waitForURL(cashierUrl(payment.paymentNo));
    expect(await page.locator('.brand-name').textContent()).toBe('UnionPay');
    expect(await page.locator('#amount').textContent()).toBe('¥25.00');
    expect(await page.locator('#qr').count()).toBe(0);
    expect(await page.locator('#card').isVisible()).toBe(true);
    await payOnPage();
    await expectOrderPaid(orderNo, payment.paymentNo);
  });

  it('a fault switch on the page (3 copies of each notification) still ends PAID exactly once; then cleared', async () => {
    const { orderNo, payment } = await startPaying('wechat');
    const { paymentNo } = payment;
    await page.goto(cashierUrl(paymentNo));
    await page.locator('#fault-duplicateNotifications').fill('3');
    await page.locator('#apply-faults').click();
    await waitForText('faults-in-force', /^Duplicate notifications: 3$/);
    expect((await http('GET', `${sandbox.url}/sandbox/faults?outTradeNo=${paymentNo}`)).body.trade).toEqual({
      duplicateNotifications: 3,
    });
    await page.locator('#qr svg').waitFor();
    await screenshotFor(page, 'cashier');

    await payOnPage();
    await waitFor('three copies sent', async () => {
      const trade = (await http('GET', `${sandbox.url}/sandbox/trades/${paymentNo}`)).body;
      return trade.notifications.length === 3;
    });
    await page.waitForFunction(() => document.querySelectorAll('#notifications li').length === 3);
    await expectOrderPaid(orderNo, paymentNo);
    await new Promise((resolve) => setTimeout(resolve, 300)); // a late duplicate would land by now
    const history = (await http('GET', app(`/api/payments/${paymentNo}`))).body.history as { to: string }[];
    expect(history.filter((h) => h.to === 'PAID')).toHaveLength(1);
    const [events] = await db.query('SELECT type FROM outbox_events WHERE payment_no = ?', [paymentNo]);
    expect(events).toEqual([{ type: 'payment.succeeded' }]);

    await page.locator('#clear-faults').click();
    await waitForText('faults-in-force', /^none$/);
    expect((await http('GET', `${sandbox.url}/sandbox/faults?outTradeNo=${paymentNo}`)).body.trade).toEqual({});
    expectOnlySandboxRequests();
  });

  it.each(['wechat', 'alipay', 'unionpay'] as const)(
    '%s payment code on a phone: one code as barcode, QR and digits; the counter charges it → PAID',
    async (channel) => {
      const phone = await browser.newContext({
        viewport: { width: 390, height: 844 },
        isMobile: true,
        hasTouch: true,
        deviceScaleFactor: 2,
      });
      try {
        const mobile = await phone.newPage();
        mobile.on('request', (request) => requested.push(request.url()));
        await mobile.goto(`${sandbox.url}/sandbox/payment-code?channel=${channel}&scenario=pays`);
        const code = (await mobile.locator('#payment-code').getAttribute('data-code')) ?? '';
        expect(code).toMatch(/^\d{17,18}0$/);
        expect((await mobile.locator('#code-digits').textContent())?.replace(/ /g, '')).toBe(code);
        expect(await mobile.locator('.brand-name').textContent()).toBe(
          { wechat: 'WeChat Pay', alipay: 'Alipay', unionpay: 'UnionPay' }[channel],
        );
        expect(qrCarries(await mobile.locator('#code-qr svg').evaluate((e) => e.outerHTML), code)).toBe(true);
        expect(await mobile.locator('#barcode svg').getAttribute('aria-label')).toBe(`Barcode of ${code}`);
        expect((await mobile.locator('#barcode svg').boundingBox())?.width).toBeGreaterThan(250);
        // The phone fits the screen (no sideways scrolling), and the script ran under the CSP: Copy shows.
        expect(await mobile.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
        expect(await mobile.locator('#copy-curl').isVisible()).toBe(true);
        expect(await mobile.locator('#curl').textContent()).toContain(`-d '{"authCode":"${code}"}'`);
        if (channel === 'wechat') await screenshotFor(mobile, 'payment-code');

        // The counter scans it: the app takes the channel from the code's format, and scenario 0 pays at once.
        const order = await http('POST', app('/api/orders'), orderBody(uniqueId('code')));
        const paid = await http('POST', app(`/api/orders/${order.body.orderNo}/pay`), { authCode: code });
        expect(paid.body).toMatchObject({ channel, mode: 'barcode', status: 'PAID' });
        expectOnlySandboxRequests();
      } finally {
        await phone.close();
      }
    },
  );
});

/**
 * Whether the QR code drawn as SVG (by the qrcode package's renderer: one stroked path, `M x y` to start a
 * row, `m dx 0` to skip, `h n` for n dark modules) has exactly the modules of `text` encoded as a QR code at
 * some error-correction level: the code a phone would read is that text.
 */
function qrCarries(svg: string, text: string): boolean {
  const total = Number(/viewBox="0 0 (\d+) \d+"/.exec(svg)?.[1]);
  const path = /<path[^>]*\bstroke="[^"]*"[^>]*\bd="([^"]*)"/.exec(svg)?.[1] ?? '';
  const drawn = new Set<string>();
  let x = 0;
  let y = 0;
  for (const [, command, args] of path.matchAll(/([MmHh])([^MmHh]*)/g)) {
    const [a, b] = args.trim().split(/\s+/).map(Number);
    if (command === 'M') [x, y] = [a, b - 0.5];
    else if (command === 'm') x += a;
    else for (let i = 0; i < a; i += 1, x += 1) drawn.add(`${x},${y}`);
  }
  return (['L', 'M', 'Q', 'H'] as const).some((errorCorrectionLevel) => {
    const { modules } = QRCode.create(text, { errorCorrectionLevel });
    const margin = (total - modules.size) / 2;
    const expected = new Set<string>();
    modules.data.forEach((dark, i) => {
      if (dark) expected.add(`${(i % modules.size) + margin},${Math.floor(i / modules.size) + margin}`);
    });
    return expected.size === drawn.size && [...expected].every((cell) => drawn.has(cell));
  });
}
