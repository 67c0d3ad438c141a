import type { Pool } from 'mysql2/promise';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { sandboxAlipayUserId } from '../sandbox/alipay/alipay-oauth';
import { sandboxOpenid } from '../sandbox/wechat/wechat-oauth.controller';
import { launchBrowser, screenshotFor } from './support/browser';
import { sqlPool } from './support/database';
import { type RunningSandbox, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, uniqueId } from './support/test-app';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)';
const UA = {
  wechat: `${IPHONE} Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN`,
  alipay: `${IPHONE} Mobile/15E148 AlipayClient/10.5.86.8000 Language/zh-Hans`,
  unionpay: `${IPHONE} Mobile/15E148 (com.unionpay.chsp) (UnionPay/1.0 CloudPay)`,
  browser: `${IPHONE} Version/17.4 Mobile/15E148 Safari/604.1`,
};

/**
 * The aggregate code in a real headless Chromium with a phone's viewport, opened with each vendor app's user
 * agent: WeChat (the in-app call, made by a stand-in for WeChat's JS bridge that pays through the sandbox's buyer
 * client), Alipay (its phone page), UnionPay's app (its phone form, posted by our page) — each ends on our return
 * page showing PAID — and a plain phone browser, which is offered the choice.
 */
describe('The aggregate code on a phone, in a browser (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  let browser: Browser;
  let db: Pool;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    db = sqlPool();
    sandbox = await startSandbox();
    running = await startAppOnSandbox(sandbox);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await running.close();
    await sandbox.app.close();
    await db.end();
  });

  const newCodeUrl = async () => {
    const orderNo = (await http('POST', `${running.url}/api/orders`, orderBody(uniqueId('aggb')))).body
      .orderNo as string;
    const code = await http('POST', `${running.url}/api/orders/${orderNo}/checkout-code`, {});
    return code.body.checkoutUrl as string;
  };
  const phoneIn = async (ua: string): Promise<Page> => {
    const context = await browser.newContext({ ...PHONE, userAgent: ua });
    contexts.push(context);
    return context.newPage();
  };
  /** Our return page, refreshing itself, until it shows PAID. */
  const expectReturnPagePaid = async (page: Page) => {
    // Alipay comes back with its signed return parameters in the query: the page reads none of them.
    await page.waitForURL(/\/pay\/return\/P\d{28}(\?|$)/, { timeout: 15_000 });
    await page.locator('main[data-status="PAID"]').waitFor({ timeout: 20_000 });
  };
  /** The sandbox cashier as the vendor's phone page: pay, then follow its way back to the merchant. */
  const payOnVendorPhonePage = async (page: Page) => {
    await page.locator('#cashier.device-phone').waitFor();
    await page.locator('#pay').click();
    await page.locator('#return-link').waitFor({ state: 'visible', timeout: 15_000 });
    await page.locator('#return-link').click();
  };

  it("in WeChat: identified silently, the page makes WeChat's in-app call, the buyer lands on PAID", async () => {
    const page = await phoneIn(UA.wechat);
    const openid = sandboxOpenid(sandbox.settings.wechat.appid, 'buyer-1');
    const calls: Record<string, string>[] = [];
    // WeChat's JS bridge, as the WeChat app gives it to the pages it opens: the buyer confirms, WeChat pays.
    await page.exposeBinding('sandboxWechatPays', async (_source, params: Record<string, string>) => {
      calls.push(params);
      const paid = await http('POST', `${sandbox.url}/sandbox/wechat/in-app/pay`, { ...params, openid });
      return paid.status === 200;
    });
    await page.addInitScript(() => {
      const w = window as unknown as Record<string, unknown>;
      w.WeixinJSBridge = {
        invoke(name: string, params: Record<string, string>, done: (answer: { err_msg: string }) => void) {
          if (name !== 'getBrandWCPayRequest') return;
          void (w.sandboxWechatPays as (p: Record<string, string>) => Promise<boolean>)(params).then((ok) =>
            done({ err_msg: ok ? 'get_brand_wcpay_request:ok' : 'get_brand_wcpay_request:fail' }),
          );
        },
      };
    });
    await page.goto(await newCodeUrl());
    await expectReturnPagePaid(page);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ appId: sandbox.settings.wechat.appid, signType: 'RSA' });
    await screenshotFor(page, 'aggregate-code-wechat');
  });

  it("in Alipay: identified silently, the page calls Alipay's tradePay, the buyer lands on PAID", async () => {
    const page = await phoneIn(UA.alipay);
    const buyerId = sandboxAlipayUserId('buyer-1');
    // Alipay's JS bridge, as Alipay's app gives it to the pages it opens: the buyer confirms, Alipay pays.
    await page.exposeBinding('sandboxAlipayPays', async (_source, tradeNo: string) => {
      const paid = await http('POST', `${sandbox.url}/sandbox/alipay/in-app/pay`, { tradeNo, buyerId });
      return paid.status === 200;
    });
    await page.addInitScript(() => {
      const w = window as unknown as Record<string, unknown>;
      w.AlipayJSBridge = {
        call(name: string, params: { tradeNO: string }, done: (answer: { resultCode: string }) => void) {
          if (name !== 'tradePay') return;
          void (w.sandboxAlipayPays as (t: string) => Promise<boolean>)(params.tradeNO).then((ok) =>
            done({ resultCode: ok ? '9000' : '4000' }),
          );
        },
      };
    });
    await page.goto(await newCodeUrl());
    await expectReturnPagePaid(page);
  });

  it("in UnionPay's app: our page posts UnionPay's phone form; paid there, back: PAID", async () => {
    const page = await phoneIn(UA.unionpay);
    await page.goto(await newCodeUrl());
    await payOnVendorPhonePage(page);
    await expectReturnPagePaid(page);
  });

  it('in a plain phone browser: the choice of channels; one chosen pays on its phone page', async () => {
    const page = await phoneIn(UA.browser);
    await page.goto(await newCodeUrl());
    await page.locator('#choice').waitFor();
    expect(
      await page.locator('#choice button[data-channel]').evaluateAll((b) => b.map((x) => x.dataset.channel)),
    ).toEqual(['wechat', 'alipay', 'unionpay']);
    await screenshotFor(page, 'aggregate-code-choice');
    await page.locator('button[data-channel="alipay"]').click();
    await payOnVendorPhonePage(page);
    await expectReturnPagePaid(page);
  });
});
