import type { Pool } from 'mysql2/promise';
import { sandboxAlipayUserId } from '../sandbox/alipay/alipay-oauth';
import { sandboxOpenid } from '../sandbox/wechat/wechat-oauth.controller';
import { waitFor } from './support/amqp';
import { sqlPool } from './support/database';
import { type RunningSandbox, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, uniqueId } from './support/test-app';

const UA = {
  wechat:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 ' +
    'MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN',
  alipay:
    'Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/98.0 Mobile Safari/537.36 ' +
    'AlipayClient/10.5.86.8000 Language/zh-Hans',
  unionpay:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 ' +
    '(com.unionpay.chsp) (UnionPay/1.0 CloudPay)',
  browser:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Version/17.4 Mobile/15E148 Safari/604.1',
};

/**
 * The aggregate code (聚合码) over real HTTP against the sandbox: one URL per order; opened with WeChat's user agent it
 * goes through WeChat's silent OAuth and answers the in-app call's page, with Alipay's through Alipay's OAuth to its
 * tradePay page, with UnionPay's
 * app the phone form, in any other browser the channel choice. Each pays through to PAID; a paid order's code shows
 * it paid; unknown codes are a 404.
 */
describe('The aggregate code (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  let db: Pool;

  beforeAll(async () => {
    db = sqlPool();
    sandbox = await startSandbox();
    // Recovery asks often: the automatic refund of a second payment is confirmed within the test.
    running = await startAppOnSandbox(sandbox, {
      recovery: {
        queryScheduleMs: [300, 300, 300],
        longTailMs: [500],
        jobsEnabled: true,
        slotMs: 150,
        reconcilerEnabled: false,
      },
    });
  });

  afterAll(async () => {
    await running.close();
    await sandbox.app.close();
    await db.end();
  });

  const app = (path: string) => `${running.url}${path}`;
  const newCode = async () => {
    const orderNo = (await http('POST', app('/api/orders'), orderBody(uniqueId('agg')))).body.orderNo as string;
    const code = await http('POST', app(`/api/orders/${orderNo}/checkout-code`), {});
    expect(code.status).toBe(200);
    return { orderNo, url: code.body.checkoutUrl as string, body: code.body };
  };
  /** One browser request, redirects not followed. */
  const visit = async (url: string, ua: string, init: RequestInit = {}) => {
    const response = await fetch(url, { ...init, redirect: 'manual', headers: { 'user-agent': ua, ...init.headers } });
    return {
      status: response.status,
      location: response.headers.get('location'),
      csp: response.headers.get('content-security-policy') ?? '',
      html: await response.text(),
    };
  };
  const unescape = (text: string) => text.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c)));
  const dataOf = (html: string, name: string) => {
    const found = new RegExp(`data-${name}="([^"]*)"`).exec(html)?.[1];
    return found === undefined ? undefined : unescape(found);
  };
  /** The order's payments the vendor's notification (or our query) made PAID. */
  const paidPayments = async (orderNo: string) =>
    (
      (
        await db.query("SELECT payment_no FROM payments WHERE order_no = ? AND status = 'PAID'", [orderNo])
      )[0] as unknown[]
    ).length;

  it('an order has one code (the same when asked again) with its QR; a paid or unknown one pays nothing', async () => {
    const { orderNo, url, body } = await newCode();
    expect(url).toMatch(new RegExp(`^${running.url}/pay/code/[0-9a-f]{32}$`));
    expect(body.qrSvg).toMatch(/^<svg/);
    expect((await http('POST', app(`/api/orders/${orderNo}/checkout-code`), {})).body.checkoutUrl).toBe(url);
    const foreign = await http('POST', app('/api/orders/O_NOT_MINE/checkout-code'), {});
    expect(foreign.status).toBe(404);
    for (const path of ['/pay/code/0123456789abcdef0123456789abcdef', '/pay/code/nope']) {
      expect((await visit(app(path), UA.browser)).status).toBe(404);
    }
  });

  it('in WeChat: silent OAuth, then the in-app call page; the call the app makes pays it', async () => {
    const { orderNo, url } = await newCode();
    const opened = await visit(url, UA.wechat);
    expect(opened.status).toBe(303);
    const authorize = new URL(opened.location as string);
    expect(authorize.origin + authorize.pathname).toBe(`${sandbox.url}/connect/oauth2/authorize`);
    const callback = await visit(opened.location as string, UA.wechat);
    const paying = await visit(callback.location as string, UA.wechat);
    expect(paying.status).toBe(200);
    expect(paying.csp).toContain("script-src 'self'");
    expect(paying.html).toContain('src="/pay/assets/checkout.js"');
    expect(dataOf(paying.html, 'kind')).toBe('wechat_jsapi');
    const params = JSON.parse(dataOf(paying.html, 'params') as string) as Record<string, string>;
    expect(params).toMatchObject({ appId: sandbox.settings.wechat.appid, signType: 'RSA' });
    const back = dataOf(paying.html, 'return') as string;
    expect(back).toMatch(new RegExp(`^${running.url}/pay/return/P\\d{28}$`));

    // The buyer's WeChat makes the call (the sandbox's client checks paySign and the payer).
    const openid = sandboxOpenid(sandbox.settings.wechat.appid, 'buyer-1');
    expect((await http('POST', `${sandbox.url}/sandbox/wechat/in-app/pay`, { ...params, openid })).status).toBe(200);
    await waitFor('payment PAID', async () => (await paidPayments(orderNo)) === 1);
    expect((await visit(back, UA.wechat)).html).toContain('data-status="PAID"');
    // The code of a paid order says so and starts nothing.
    const again = await visit(url, UA.wechat);
    expect([again.status, dataOf(again.html, 'order')]).toEqual([200, 'paid']);
  });

  it("in UnionPay's app: its phone form, posted by the page's script to UnionPay", async () => {
    const { orderNo, url } = await newCode();
    const opened = await visit(url, UA.unionpay);
    expect(opened.status).toBe(200);
    expect(dataOf(opened.html, 'kind')).toBe('form');
    const action = /<form id="vendor-form" method="post" action="([^"]+)"/.exec(opened.html)?.[1] as string;
    expect(opened.csp).toContain(`form-action 'self' ${new URL(action).origin}`);
    const fields = Object.fromEntries(
      [...opened.html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [
        m[1],
        unescape(m[2]),
      ]),
    );
    expect(fields).toMatchObject({ channelType: '08', orderId: expect.stringMatching(/^P\d{28}$/) });
    const posted = await visit(action, UA.unionpay, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    expect(posted.status).toBeLessThan(400);
    expect(
      (await http('POST', `${sandbox.url}/sandbox/unionpay/trades/${fields.orderId}/pay`, {})).status,
    ).toBeLessThan(300);
    await waitFor('payment PAID', async () => (await paidPayments(orderNo)) === 1);
  });

  it("in Alipay: silent OAuth (auth_base), then the page hands the trade to Alipay's tradePay", async () => {
    const { orderNo, url } = await newCode();
    const opened = await visit(url, UA.alipay);
    expect(opened.status).toBe(303);
    const authorize = new URL(opened.location as string);
    expect(authorize.origin + authorize.pathname).toBe(`${sandbox.url}/oauth2/publicAppAuthorize.htm`);
    expect(authorize.searchParams.get('scope')).toBe('auth_base');
    const callback = await visit(opened.location as string, UA.alipay);
    const paying = await visit(callback.location as string, UA.alipay);
    expect(paying.status).toBe(200);
    expect(dataOf(paying.html, 'kind')).toBe('alipay_trade_no');
    const { tradeNo } = JSON.parse(dataOf(paying.html, 'params') as string) as { tradeNo: string };
    // Alipay's app pays the trade for the buyer it was made for, and no one else.
    const buyer = sandboxAlipayUserId('buyer-1');
    const stranger = await http('POST', `${sandbox.url}/sandbox/alipay/in-app/pay`, {
      tradeNo,
      buyerId: sandboxAlipayUserId('buyer-2'),
    });
    expect(stranger.body.error).toBe('BUYER_MISMATCH');
    expect((await http('POST', `${sandbox.url}/sandbox/alipay/in-app/pay`, { tradeNo, buyerId: buyer })).status).toBe(
      200,
    );
    await waitFor('payment PAID', async () => (await paidPayments(orderNo)) === 1);
    const [rows] = await db.query("SELECT mode FROM payments WHERE order_no = ? AND status = 'PAID'", [orderNo]);
    expect(rows).toEqual([{ mode: 'in_app' }]);
  });

  it('a second buyer opening the code in WeChat gets a trade of its own (the first is closed) and pays it', async () => {
    const { orderNo, url } = await newCode();
    /** The code opened in WeChat by a buyer: the in-app call's parameters it gets. */
    const openedBy = async (buyer: string) => {
      const authorize = new URL((await visit(url, UA.wechat)).location as string);
      authorize.searchParams.set('sandbox_buyer', buyer); // the sandbox's handle for whose WeChat this is
      const callback = await visit(authorize.toString(), UA.wechat);
      const paying = await visit(callback.location as string, UA.wechat);
      return JSON.parse(dataOf(paying.html, 'params') as string) as Record<string, string>;
    };
    const first = await openedBy('buyer-1');
    expect((await openedBy('buyer-1')).package).toBe(first.package); // the same buyer again: the same trade
    const second = await openedBy('buyer-2');
    expect(second.package).not.toBe(first.package);
    const [rows] = await db.query('SELECT payer_id, status FROM payments WHERE order_no = ? ORDER BY id', [orderNo]);
    const appid = sandbox.settings.wechat.appid;
    expect(rows).toEqual([
      { payer_id: sandboxOpenid(appid, 'buyer-1'), status: expect.stringMatching(/^(CLOSING|CLOSED)$/) },
      { payer_id: sandboxOpenid(appid, 'buyer-2'), status: 'PAYING' },
    ]);
    const openid = sandboxOpenid(appid, 'buyer-2');
    expect((await http('POST', `${sandbox.url}/sandbox/wechat/in-app/pay`, { ...second, openid })).status).toBe(200);
    await waitFor('payment PAID', async () => (await paidPayments(orderNo)) === 1);
  });

  it('a buyer who pays on two apps anyway (the first close did not get through) is refunded the second', async () => {
    const { orderNo, url } = await newCode();
    // First in UnionPay's app: its trade exists at UnionPay; then UnionPay's API fails for it, so no close lands.
    const union = await visit(url, UA.unionpay);
    const action = /<form id="vendor-form" method="post" action="([^"]+)"/.exec(union.html)?.[1] as string;
    const fields = Object.fromEntries(
      [...union.html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [
        m[1],
        unescape(m[2]),
      ]),
    );
    await visit(action, UA.unionpay, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    await http('POST', `${sandbox.url}/sandbox/faults`, { outTradeNo: fields.orderId, apiError: true });
    // Then in WeChat: a new payment; the UnionPay one is being closed.
    const opened = await visit(url, UA.wechat);
    const callback = await visit(opened.location as string, UA.wechat);
    const paying = await visit(callback.location as string, UA.wechat);
    const params = JSON.parse(dataOf(paying.html, 'params') as string) as Record<string, string>;
    // The buyer pays in WeChat; then the UnionPay page it left open (its trade still open at UnionPay) too.
    const openid = sandboxOpenid(sandbox.settings.wechat.appid, 'buyer-1');
    expect((await http('POST', `${sandbox.url}/sandbox/wechat/in-app/pay`, { ...params, openid })).status).toBe(200);
    await waitFor('WeChat payment PAID', async () => (await paidPayments(orderNo)) === 1);
    const paidTwice = await http('POST', `${sandbox.url}/sandbox/unionpay/trades/${fields.orderId}/pay`, {});
    expect(paidTwice.status).toBeLessThan(300);
    await http('POST', `${sandbox.url}/sandbox/faults`, { outTradeNo: fields.orderId });
    // One payment is the order's; the other's money goes back, in full, by itself.
    await waitFor(
      'the second payment refunded',
      async () => {
        const [rows] = await db.query(
          'SELECT p.channel, r.status, r.kind, r.amount_fen FROM refunds r JOIN payments p ON p.payment_no = r.payment_no WHERE p.order_no = ?',
          [orderNo],
        );
        const refunds = rows as { channel: string; status: string; kind: string; amount_fen: string }[];
        return (
          refunds.length === 1 &&
          refunds[0].status === 'REFUNDED' &&
          refunds[0].kind === 'DUPLICATE_PAYMENT' &&
          refunds[0].channel === 'unionpay' &&
          Number(refunds[0].amount_fen) === 2500
        );
      },
      20_000,
    );
    expect(await paidPayments(orderNo)).toBe(2);
  });

  it('in any other browser: the choice; WeChat is its H5 page, with the buyer IP we saw', async () => {
    const { orderNo, url } = await newCode();
    const opened = await visit(url, UA.browser);
    expect(opened.status).toBe(200);
    for (const channel of ['wechat', 'alipay', 'unionpay']) {
      expect(opened.html).toContain(`action="/pay/code/${url.split('/').pop() as string}/${channel}"`);
    }
    const chosen = await visit(`${url}/wechat`, UA.browser, { method: 'POST' });
    expect(chosen.status).toBe(303);
    expect(new URL(chosen.location as string).origin).toBe(sandbox.url);
    const [rows] = await db.query("SELECT mode, channel FROM payments WHERE order_no = ? AND status = 'PAYING'", [
      orderNo,
    ]);
    expect(rows).toEqual([{ mode: 'mobile_web', channel: 'wechat' }]);
    expect((await visit(`${url}/paypal`, UA.browser, { method: 'POST' })).status).toBe(404);
  });
});
