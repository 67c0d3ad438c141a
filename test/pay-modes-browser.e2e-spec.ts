import type { Pool } from 'mysql2/promise';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { newTestApplication, type TestApplication } from './support/api-keys';
import { launchBrowser, screenshotFor } from './support/browser';
import { sqlPool } from './support/database';
import { freePort, type RunningSandbox, sandboxGateways, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, startApp, TestClock, uniqueId } from './support/test-app';

/** A phone as the buyer holds it: small touch screen, a phone browser's user agent. */
const PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  isMobile: true,
  hasTouch: true,
  deviceScaleFactor: 3,
  userAgent:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) ' +
    'Version/17.5 Mobile/15E148 Safari/604.1',
};
const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 800 } };

type Channel = 'wechat' | 'alipay' | 'unionpay';
type PageMode = 'mobile_web' | 'pc_web';
type Credential = { type: 'redirect'; url: string } | { type: 'form'; action: string; fields: Record<string, string> };

const BRAND: Record<Channel, string> = { wechat: 'WeChat Pay', alipay: 'Alipay', unionpay: 'UnionPay' };

/**
 * The page modes as the buyer lives them, in a real headless Chromium: a phone (touch, 390×844, a phone's user
 * agent) for mobile_web and a PC for pc_web. The merchant's page opens the credential (a link, or UnionPay's form
 * the browser posts), the sandbox vendor's cashier shows its phone or PC page, the buyer taps pay, the cashier
 * leads back to our return page, and that page shows what our server holds — PAID — with the way back to the shop.
 * The return page never decides: before the vendor has the money it shows PAYING and refreshes itself.
 * The app listens on the address it tells vendors (PUBLIC_BASE_URL), so every redirect really lands on it.
 */
describe('Page pay modes in a phone and a PC browser (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  let browser: Browser;
  let db: Pool;
  let shop: TestApplication;

  beforeAll(async () => {
    db = sqlPool();
    sandbox = await startSandbox();
    const port = await freePort();
    running = await startApp(
      sandboxGateways(sandbox, port),
      new TestClock(),
      {
        publicBaseUrl: `http://127.0.0.1:${port}`,
        // Recovery is slow so that only the return page asks the vendor while notifications are dropped.
        recovery: { queryScheduleMs: [600_000], longTailMs: [600_000], syncIntervalMs: 300 },
      },
      port,
    );
    shop = await newTestApplication();
    // The shop's pages are on the app's own origin here (any allow-listed origin would do).
    await db.query('UPDATE applications SET return_origins = ? WHERE id = ?', [running.url, shop.applicationId]);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await running?.close();
    await sandbox?.app.close();
    await db?.end();
  });

  let context: BrowserContext | undefined;
  afterEach(async () => {
    await context?.close();
    context = undefined;
  });

  const app = (path: string) => `${running.url}${path}`;
  const shopPage = () => app('/shop/done?cart=7');

  async function newPage(options: BrowserContextOptions): Promise<Page> {
    context = await browser.newContext(options);
    return context.newPage();
  }

  /** The shop starts a page-mode payment whose return URL is its own page. */
  async function startPaying(channel: Channel, mode: PageMode) {
    const order = await http('POST', app('/api/orders'), orderBody(uniqueId('browser')), shop.headers);
    expect(order.status).toBe(201);
    const body = { channel, mode, returnUrl: shopPage(), ...(channel === 'wechat' ? { clientIp: '203.0.113.7' } : {}) };
    const answer = await http('POST', app(`/api/orders/${order.body.orderNo}/pay`), body, shop.headers);
    expect([answer.status, answer.body.mode]).toEqual([200, mode]);
    return {
      orderNo: order.body.orderNo as string,
      paymentNo: answer.body.paymentNo as string,
      credential: answer.body.payCredential as Credential,
    };
  }

  /** What the merchant's page does with the credential: follows the link, or has the browser post the form. */
  async function openCredential(page: Page, credential: Credential): Promise<void> {
    if (credential.type === 'redirect') {
      await page.goto(credential.url);
      return;
    }
    const inputs = Object.entries(credential.fields)
      .map(([name, value]) => `<input type="hidden" name="${attr(name)}" value="${attr(value)}">`)
      .join('');
    await page.setContent(
      `<form id="to-vendor" method="post" action="${attr(credential.action)}">${inputs}` +
        `<button type="submit" id="pay-with-vendor">Pay</button></form>`,
    );
    await page.locator('#pay-with-vendor').click();
  }

  /** The vendor's cashier for this payment, on a phone's page or a PC's, for the right vendor and amount. */
  async function expectCashier(page: Page, channel: Channel, paymentNo: string, phone: boolean): Promise<void> {
    await page.waitForURL((url) => url.origin === sandbox.url && url.pathname === `/sandbox/cashier/${paymentNo}`);
    const cashier = page.locator('#cashier');
    expect(await cashier.getAttribute('data-state')).toBe('NOTPAY');
    expect(await cashier.evaluate((element) => element.classList.contains('device-phone'))).toBe(phone);
    expect(await page.locator('.brand-name').textContent()).toBe(BRAND[channel]);
    expect(await page.locator('#amount').textContent()).toBe('¥25.00');
    // The way back shows only once the vendor has the money.
    expect(await page.locator('#return-link').isVisible()).toBe(false);
    if (phone) await expectFitsThePhone(page);
  }

  /** Nothing wider than the phone: the buyer never scrolls sideways. */
  async function expectFitsThePhone(page: Page): Promise<void> {
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  }

  async function payAtCashier(page: Page, phone: boolean): Promise<void> {
    const pay = page.locator('#pay');
    if (phone) await pay.tap();
    else await pay.click();
    await page.waitForFunction(() => document.getElementById('cashier')?.dataset.state === 'SUCCESS');
    expect(await page.locator('#state').textContent()).toBe('Paid');
  }

  /** Our return page shows PAID and links to the shop's page with the payment and order numbers. */
  async function expectReturnPagePaid(page: Page, paymentNo: string, orderNo: string): Promise<void> {
    await page.waitForURL((url) => url.origin === running.url && url.pathname === `/pay/return/${paymentNo}`);
    // PAID now, or after the page's own refresh if the notification is still on its way.
    await page.locator('main[data-status="PAID"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('h1').textContent()).toBe('Paid');
    const back = new URL((await page.locator('a.back').getAttribute('href')) ?? '');
    expect(`${back.origin}${back.pathname}`).toBe(app('/shop/done'));
    expect(Object.fromEntries(back.searchParams)).toEqual({ cart: '7', paymentNo, orderNo });
    const held = await http('GET', app(`/api/payments/${paymentNo}`), undefined, shop.headers);
    expect(held.body.status).toBe('PAID');
    expect(held.body.history.filter((h: { to: string }) => h.to === 'PAID')).toHaveLength(1);
  }

  it.each([
    ['wechat', 'mobile_web'],
    ['alipay', 'mobile_web'],
    ['alipay', 'pc_web'],
    ['unionpay', 'mobile_web'],
    ['unionpay', 'pc_web'],
  ] as const)(
    '%s %s: credential → the cashier → pay → back to our return page, which shows PAID',
    async (channel, mode) => {
      const phone = mode === 'mobile_web';
      const page = await newPage(phone ? PHONE : DESKTOP);
      const requested: string[] = [];
      page.on('request', (request) => requested.push(request.url()));
      const { orderNo, paymentNo, credential } = await startPaying(channel, mode);
      expect(credential.type).toBe(channel === 'unionpay' ? 'form' : 'redirect');

      await openCredential(page, credential);
      await expectCashier(page, channel, paymentNo, phone);
      await payAtCashier(page, phone);
      const wayBack = page.locator('#return-link');
      await wayBack.waitFor({ state: 'visible' });
      await screenshotFor(page, `pay-${channel}-${mode}`);
      if (phone) await wayBack.tap();
      else await wayBack.click();

      await expectReturnPagePaid(page, paymentNo, orderNo);
      if (phone) await expectFitsThePhone(page);
      // The buyer's browser went only to the vendor (the sandbox) and to us.
      const elsewhere = requested.filter(
        (url) => !url.startsWith(`${sandbox.url}/`) && !url.startsWith(`${running.url}/`) && !url.startsWith('data:'),
      );
      expect(elsewhere).toEqual([]);
    },
  );

  it('the return page before the vendor has the money shows PAYING and refreshes itself until it shows PAID', async () => {
    const page = await newPage(PHONE);
    const { orderNo, paymentNo, credential } = await startPaying('wechat', 'mobile_web');
    if (credential.type !== 'redirect') throw new Error(credential.type);
    // Only asking the vendor can find this payment: its notifications are lost and recovery is far off.
    const dropped = await http('POST', `${sandbox.url}/sandbox/faults`, {
      outTradeNo: paymentNo,
      dropNotifications: true,
    });
    expect(dropped.status).toBeLessThan(300);

    // The buyer comes back (WeChat also sends them back on 取消, or 5 s after leaving for the app) before paying.
    const returnPage = new URL(new URL(credential.url).searchParams.get('redirect_url') ?? '');
    expect(returnPage.href).toBe(app(`/pay/return/${paymentNo}`));
    // A forged result in the query is not believed.
    await page.goto(`${returnPage.href}?trade_status=TRADE_SUCCESS&status=PAID`);
    expect(await page.locator('main').getAttribute('data-status')).toBe('PAYING');
    expect(await page.locator('h1').textContent()).toBe('Waiting for the payment');
    expect(await page.locator('meta[http-equiv="refresh"]').getAttribute('content')).toBe('3');
    await expectFitsThePhone(page);
    await screenshotFor(page, 'pay-return-waiting');

    // The buyer pays at WeChat (in another tab: the cashier the h5_url opens); no notification reaches us.
    const vendorTab = await page.context().newPage();
    await vendorTab.goto(credential.url);
    await expectCashier(vendorTab, 'wechat', paymentNo, true);
    await payAtCashier(vendorTab, true);
    await vendorTab.close();

    // The return page refreshes by itself, asks the vendor, and now shows (and we hold) PAID.
    await page.locator('main[data-status="PAID"]').waitFor({ timeout: 10_000 });
    const trade = (await http('GET', `${sandbox.url}/sandbox/trades/${paymentNo}`)).body;
    expect(trade.notifications).toEqual([]);
    await expectReturnPagePaid(page, paymentNo, orderNo);
    await screenshotFor(page, 'pay-return-paid');
  });
});

/** Text for a double-quoted attribute of the merchant's tiny page. */
function attr(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
