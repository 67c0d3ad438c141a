import type { Pool } from 'mysql2/promise';
import { newTestApplication, type TestApplication } from './support/api-keys';
import { waitFor } from './support/amqp';
import { sqlPool } from './support/database';
import { type RunningSandbox, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, uniqueId } from './support/test-app';

const run = Date.now().toString(36);
const OPS = {
  name: 'ops-return',
  token: `ops-return-${run}-0123456789abcdefghijklmno`,
  scopes: ['applications:read', 'applications:write'],
};
const SHOP = 'https://shop.example';

/**
 * Page modes send the buyer to the vendor's page and back to our return page. The merchant's return URL must be
 * on its application's allow-list (an operator sets it; anything else is `400` and writes nothing), and the return
 * page shows what our server holds — asking the vendor while still open — never what the redirect's query says.
 * Against the sandbox over real HTTP (WeChat H5, whose h5_url carries the redirect_url).
 */
describe('Return URLs and the return page (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  let db: Pool;
  let shop: TestApplication;
  let other: TestApplication;

  beforeAll(async () => {
    db = sqlPool();
    sandbox = await startSandbox();
    running = await startAppOnSandbox(sandbox, {
      adminTokens: [OPS],
      // Notifications are dropped in some tests: recovery must not find the payment before the page asks.
      recovery: { queryScheduleMs: [600_000], longTailMs: [600_000], syncIntervalMs: 300 },
    });
    shop = await newTestApplication();
    other = await newTestApplication();
  });

  afterAll(async () => {
    await running.close();
    await sandbox.app.close();
    await db.end();
  });

  const app = (path: string) => `${running.url}${path}`;
  const admin = (path: string, body: unknown) =>
    http('POST', app(path), body, { authorization: `Bearer ${OPS.token}` });
  const as = (who: TestApplication) => ({
    order: async () =>
      (await http('POST', app('/api/orders'), orderBody(uniqueId('ret')), who.headers)).body.orderNo as string,
    pay: (orderNo: string, body: Record<string, unknown>) =>
      http('POST', app(`/api/orders/${orderNo}/pay`), body, who.headers),
  });
  const paymentsOfOrder = async (orderNo: string) =>
    ((await db.query('SELECT payment_no FROM payments WHERE order_no = ?', [orderNo]))[0] as unknown[]).length;
  const h5 = { channel: 'wechat', mode: 'mobile_web', clientIp: '203.0.113.7' };
  /** The return page the vendor was told to send the buyer to, taken from the credential (WeChat: redirect_url). */
  const returnPageOf = (credentialUrl: string) => {
    const redirect = new URL(credentialUrl).searchParams.get('redirect_url');
    if (!redirect) throw new Error(`no redirect_url in ${credentialUrl}`);
    return new URL(redirect);
  };
  const page = async (path: string) => {
    const response = await fetch(app(path));
    return { status: response.status, headers: response.headers, html: await response.text() };
  };
  const statusOn = (html: string) => /data-status="([A-Z_]+)"/.exec(html)?.[1];

  it('an operator lists the origins; the list is audited and malformed origins are refused', async () => {
    for (const origins of [['https://shop.example/path'], ['http://shop.example'], ['ftp://shop.example'], 'x']) {
      const refused = await admin(`/api/admin/applications/${shop.applicationId}/return-origins`, { origins });
      expect([refused.status, refused.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    }
    const set = await admin(`/api/admin/applications/${shop.applicationId}/return-origins`, {
      origins: [SHOP, 'http://127.0.0.1:8080'],
    });
    expect(set.status).toBe(200);
    expect(set.body.returnOrigins).toEqual([SHOP, 'http://127.0.0.1:8080']);
    const [audit] = await db.query(
      "SELECT target FROM admin_audit WHERE action = 'application.return_origins' AND target LIKE ?",
      [`%${shop.applicationId}%`],
    );
    expect((audit as unknown[]).length).toBe(1);
  });

  it('a return URL off the allow-list, of another application, or for a mode without pages is 400; nothing written', async () => {
    await admin(`/api/admin/applications/${shop.applicationId}/return-origins`, { origins: [SHOP] });
    const orderNo = await as(shop).order();
    for (const returnUrl of [
      'https://evil.example/done',
      'https://shop.example.evil.example/done',
      'https://shop.example:8443/done',
      'http://shop.example/done',
      'https://user:pw@shop.example/done',
      'javascript:alert(1)',
      `${SHOP}/${'x'.repeat(520)}`,
    ]) {
      const refused = await as(shop).pay(orderNo, { ...h5, returnUrl });
      expect([returnUrl, refused.status, refused.body.code]).toEqual([returnUrl, 400, 'VALIDATION_FAILED']);
      expect(JSON.stringify(refused.body.details)).toContain('returnUrl');
    }
    const qr = await as(shop).pay(orderNo, { channel: 'wechat', returnUrl: `${SHOP}/done` });
    expect([qr.status, JSON.stringify(qr.body.details)]).toEqual([400, expect.stringContaining('returnUrl')]);
    // Another application's allow-list is its own: the shop's origin is not on it.
    const theirs = await as(other).order();
    const foreign = await as(other).pay(theirs, { ...h5, returnUrl: `${SHOP}/done` });
    expect([foreign.status, foreign.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(await paymentsOfOrder(orderNo)).toBe(0);
    expect(await paymentsOfOrder(theirs)).toBe(0);
  });

  it('the vendor sends the buyer to our return page; it links back to the shop and believes no query', async () => {
    await admin(`/api/admin/applications/${shop.applicationId}/return-origins`, { origins: [SHOP] });
    const orderNo = await as(shop).order();
    const answer = await as(shop).pay(orderNo, { ...h5, returnUrl: `${SHOP}/done?cart=7` });
    expect(answer.status).toBe(200);
    const paymentNo = answer.body.paymentNo as string;
    const back = returnPageOf(answer.body.payCredential.url as string);
    expect(back.pathname).toBe(`/pay/return/${paymentNo}`);
    await http('POST', `${sandbox.url}/sandbox/faults`, { outTradeNo: paymentNo, dropNotifications: true });

    // A forged "success" in the query changes nothing: the page shows what we hold (the vendor says not paid).
    const forged = await page(`${back.pathname}?trade_status=TRADE_SUCCESS&status=PAID&respCode=00`);
    expect(forged.status).toBe(200);
    expect(statusOn(forged.html)).toBe('PAYING');
    expect(forged.html).toContain('http-equiv="refresh"');
    expect(forged.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(forged.headers.get('cache-control')).toBe('no-store');
    const link = /href="([^"]+)"/.exec(forged.html)?.[1]?.replace(/&#38;/g, '&');
    expect(link).toBe(`${SHOP}/done?cart=7&paymentNo=${paymentNo}&orderNo=${orderNo}`);
    expect((await http('GET', app(`/api/payments/${paymentNo}`), undefined, shop.headers)).body.status).toBe('PAYING');

    // UnionPay comes back with a form POST of its own result: the same page, the posted fields unread.
    const posted = await fetch(app(back.pathname), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'respCode=00&respMsg=success&orderId=' + paymentNo,
    });
    expect(posted.status).toBe(200);
    expect(statusOn(await posted.text())).toBe('PAYING');

    // Paid at the vendor, its notification lost: the page asks the vendor and shows (and records) PAID.
    expect((await http('POST', `${sandbox.url}/sandbox/wechat/trades/${paymentNo}/pay`, {})).status).toBe(200);
    await waitFor('the return page asks the vendor', async () => statusOn((await page(back.pathname)).html) === 'PAID');
    const held = await http('GET', app(`/api/payments/${paymentNo}`), undefined, shop.headers);
    expect(held.body.status).toBe('PAID');
    const [events] = await db.query(
      "SELECT id FROM outbox_events WHERE payment_no = ? AND type = 'payment.succeeded'",
      [paymentNo],
    );
    expect((events as unknown[]).length).toBe(1);
  });

  it('an unknown or malformed payment number is a plain 404 page; nothing is asked', async () => {
    for (const path of ['/pay/return/P20261207000000000000000000000', '/pay/return/<script>', '/pay/return/P1']) {
      const missing = await page(path);
      expect([path, missing.status]).toEqual([path, 404]);
      expect(missing.html).not.toContain('<script>');
    }
  });
});
