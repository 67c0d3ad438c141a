import type { Pool } from 'mysql2/promise';
import { sandboxAlipayUserId } from '../sandbox/alipay/alipay-oauth';
import { AlipayOAuth } from '../src/gateways/alipay/alipay-oauth';
import { sandboxOpenid } from '../sandbox/wechat/wechat-oauth.controller';
import { waitFor } from './support/amqp';
import { newTestApplication, type TestApplication } from './support/api-keys';
import { sqlPool } from './support/database';
import { type RunningSandbox, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, uniqueId } from './support/test-app';

const SHOP = 'https://shop.example';

/**
 * Who pays inside WeChat or Alipay, learnt for the merchant: begin → the buyer's app opens the authorize page (the
 * sandbox's, silent: WeChat snsapi_base, Alipay auth_base) → our callback exchanges the one-time code → the buyer
 * is back on the merchant's page with the request's id → the merchant reads the buyer id and pays in_app with it.
 * Replays, forged states and codes, other applications and off-list return URLs are refused. Real HTTP, real
 * Redis, the sandbox.
 */
describe('Buyer identity: the vendors’ OAuth for in-app payments (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  let db: Pool;
  let shop: TestApplication;
  let other: TestApplication;

  beforeAll(async () => {
    db = sqlPool();
    sandbox = await startSandbox();
    running = await startAppOnSandbox(sandbox, {
      gatewayMode: 'sandbox',
      sandbox: { url: sandbox.url, keysDir: sandbox.keys },
    });
    shop = await newTestApplication();
    other = await newTestApplication();
    await db.query('UPDATE applications SET return_origins = ? WHERE id IN (?, ?)', [
      SHOP,
      shop.applicationId,
      other.applicationId,
    ]);
  });

  afterAll(async () => {
    await running.close();
    await sandbox.app.close();
    await db.end();
  });

  const app = (path: string) => `${running.url}${path}`;
  const begin = (body: unknown, who: TestApplication = shop) =>
    http('POST', app('/api/buyer-identities'), body, who.headers);
  const read = (id: string, who: TestApplication = shop) =>
    http('GET', app(`/api/buyer-identities/${id}`), undefined, who.headers);
  /** A GET that does not follow redirects: where it sends the browser. */
  const visit = async (url: string) => {
    const response = await fetch(url, { redirect: 'manual' });
    return { status: response.status, location: response.headers.get('location'), text: await response.text() };
  };
  /** Our callback URL as the vendor redirects to it, on the app under test (PUBLIC_BASE_URL may name another port). */
  const onApp = (url: string) => {
    const parsed = new URL(url);
    return app(`${parsed.pathname}${parsed.search}`);
  };

  it('the buyer goes through WeChat and back; the merchant reads the openid and pays in_app with it', async () => {
    const begun = await begin({ channel: 'wechat', returnUrl: `${SHOP}/pay?cart=7` });
    expect(begun.status).toBe(201);
    // Another buyer of the shop, the same request a moment later: a request of its own.
    const another = await begin({ channel: 'wechat', returnUrl: `${SHOP}/pay?cart=7` });
    expect(another.status).toBe(201);
    expect(another.body.identityId).not.toBe(begun.body.identityId);
    expect(begun.body).toMatchObject({ channel: 'wechat', status: 'PENDING', payerId: null });
    const authorize = new URL(begun.body.authorizeUrl as string);
    expect(authorize.origin).toBe(sandbox.url);
    expect(authorize.pathname).toBe('/connect/oauth2/authorize');
    expect(authorize.hash).toBe('#wechat_redirect');
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      appid: sandbox.settings.wechat.appid,
      response_type: 'code',
      scope: 'snsapi_base',
      state: begun.body.identityId,
    });
    expect(new URL(authorize.searchParams.get('redirect_uri') as string).pathname).toBe('/pay/oauth/wechat');
    expect((await read(begun.body.identityId as string)).body.status).toBe('PENDING');

    const atWechat = await visit(`${authorize.origin}${authorize.pathname}${authorize.search}`);
    expect(atWechat.status).toBe(302);
    const callback = onApp(atWechat.location as string);
    const back = await visit(callback);
    expect(back.status).toBe(302);
    const merchantPage = new URL(back.location as string);
    expect(merchantPage.origin + merchantPage.pathname).toBe(`${SHOP}/pay`);
    expect(merchantPage.searchParams.get('cart')).toBe('7');
    const identityId = merchantPage.searchParams.get('identityId') as string;
    expect(identityId).toBe(begun.body.identityId);
    // The buyer id never travels through the browser: only the request's id does.
    expect(back.location).not.toContain(sandboxOpenid(sandbox.settings.wechat.appid, 'buyer-1'));

    const learnt = await read(identityId);
    expect(learnt.body).toMatchObject({
      status: 'IDENTIFIED',
      appId: sandbox.settings.wechat.appid,
      payerId: sandboxOpenid(sandbox.settings.wechat.appid, 'buyer-1'),
    });

    const orderNo = (await http('POST', app('/api/orders'), orderBody(uniqueId('bi')), shop.headers)).body.orderNo;
    const paid = await http(
      'POST',
      app(`/api/orders/${orderNo as string}/pay`),
      { channel: 'wechat', mode: 'in_app', payerId: learnt.body.payerId },
      shop.headers,
    );
    expect(paid.status).toBe(200);
    expect(paid.body.payCredential.type).toBe('wechat_jsapi');

    // The same callback again (a replay, a refresh): refused, and what was learnt stays.
    const replay = await visit(callback);
    expect(replay.status).toBe(404);
    expect((await read(identityId)).body.payerId).toBe(learnt.body.payerId);
  });

  it('a forged code fails the request (the merchant sees FAILED); a forged state is refused', async () => {
    const begun = await begin({ channel: 'wechat', returnUrl: `${SHOP}/pay` });
    const id = begun.body.identityId as string;
    const forged = await visit(app(`/pay/oauth/wechat?code=0123456789abcdef0123456789abcdef&state=${id}`));
    expect(forged.status).toBe(302);
    expect(new URL(forged.location as string).searchParams.get('identityId')).toBe(id);
    expect((await read(id)).body).toMatchObject({
      status: 'FAILED',
      payerId: null,
      failure: expect.stringContaining('40029'),
    });

    // A code of no vendor's form (here 600 characters and markup) is never sent on to the vendor.
    const other = (await begin({ channel: 'wechat', returnUrl: `${SHOP}/pay` })).body.identityId as string;
    await visit(app(`/pay/oauth/wechat?code=${'a'.repeat(600)}%3Cb%3E&state=${other}`));
    expect((await read(other)).body).toMatchObject({ status: 'FAILED', failure: expect.stringContaining('NO_CODE') });

    // A real code for a state nobody began, or for one already completed: nothing is applied.
    for (const state of ['bi0123456789abcdef0123456789abcdef', id, 'x']) {
      const authorize = new URL(`${sandbox.url}/connect/oauth2/authorize`);
      for (const [k, v] of Object.entries({
        appid: sandbox.settings.wechat.appid,
        redirect_uri: app('/pay/oauth/wechat'),
        response_type: 'code',
        scope: 'snsapi_base',
        state: state === 'x' ? '' : state,
      }))
        authorize.searchParams.set(k, v);
      const code = new URL((await visit(authorize.toString())).location as string).searchParams.get('code');
      const refused = await visit(app(`/pay/oauth/wechat?code=${code as string}&state=${state}`));
      expect([state, refused.status]).toEqual([state, 404]);
    }
    expect((await read(id)).body.status).toBe('FAILED');
  });

  it('another application cannot read it; bad input is 400', async () => {
    const begun = await begin({ channel: 'wechat', returnUrl: `${SHOP}/pay` });
    const theirs = await read(begun.body.identityId as string, other);
    expect([theirs.status, theirs.body.code]).toEqual([404, 'BUYER_IDENTITY_NOT_FOUND']);
    expect((await read('bi_not_an_id')).status).toBe(404);
    const anonymous = await http('GET', app(`/api/buyer-identities/${begun.body.identityId as string}`), undefined, {
      authorization: '',
    });
    expect(anonymous.status).toBe(401);

    // UnionPay has no buyer identity (its online gateway pays with no buyer id): the channel is not one of the two.

    for (const [body, field] of [
      [{ channel: 'wechat', returnUrl: 'https://evil.example/pay' }, 'returnUrl'],
      [{ channel: 'wechat' }, 'returnUrl'],
      [{ channel: 'unionpay', returnUrl: `${SHOP}/pay` }, 'channel'],
      [{ channel: 'wechat', returnUrl: 'javascript:alert(1)' }, 'returnUrl'],
      [{ channel: 'wechat', returnUrl: `https://shop.example/${'x'.repeat(600)}` }, 'returnUrl'],
    ] as const) {
      const refused = await begin(body);
      expect([refused.status, refused.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(JSON.stringify(refused.body.details)).toContain(field);
    }
  });
  describe('Alipay (auth_base, alipay.system.oauth.token)', () => {
    const alipayAppId = () => sandbox.settings.alipay.appId;

    /** The merchant's page inside Alipay: begin, the silent authorisation, our callback; answers where it ends. */
    const throughAlipay = async (returnUrl: string, buyer?: string) => {
      const begun = await begin({ channel: 'alipay', returnUrl });
      expect(begun.status).toBe(201);
      const authorize = new URL(begun.body.authorizeUrl as string);
      if (buyer) authorize.searchParams.set('sandbox_buyer', buyer);
      const atAlipay = await visit(authorize.toString());
      expect(atAlipay.status).toBe(302);
      const callback = onApp(atAlipay.location as string);
      return { begun, authorize, atAlipay, callback, back: await visit(callback) };
    };

    it('the buyer goes through Alipay and back; the merchant pays in_app with the user id; the buyer pays: PAID', async () => {
      const { begun, authorize, atAlipay, callback, back } = await throughAlipay(`${SHOP}/pay?cart=9`);
      expect(begun.body).toMatchObject({ channel: 'alipay', status: 'PENDING', appId: alipayAppId(), payerId: null });
      expect(authorize.origin).toBe(sandbox.url);
      expect(authorize.pathname).toBe('/oauth2/publicAppAuthorize.htm');
      expect(Object.fromEntries(authorize.searchParams)).toEqual({
        app_id: alipayAppId(),
        scope: 'auth_base',
        redirect_uri: expect.any(String),
        state: begun.body.identityId,
      });
      expect(new URL(authorize.searchParams.get('redirect_uri') as string).pathname).toBe('/pay/oauth/alipay');
      // Alipay comes back with the one-time auth_code, the app, the scope and our state.
      const cameBack = new URL(atAlipay.location as string).searchParams;
      expect(cameBack.get('auth_code')).toMatch(/^\w{32}$/);
      expect([cameBack.get('app_id'), cameBack.get('scope'), cameBack.get('state')]).toEqual([
        alipayAppId(),
        'auth_base',
        begun.body.identityId,
      ]);

      expect(back.status).toBe(302);
      const merchantPage = new URL(back.location as string);
      expect(merchantPage.origin + merchantPage.pathname).toBe(`${SHOP}/pay`);
      expect(merchantPage.searchParams.get('cart')).toBe('9');
      const identityId = merchantPage.searchParams.get('identityId') as string;
      expect(identityId).toBe(begun.body.identityId);
      const userId = sandboxAlipayUserId('buyer-1');
      expect(userId).toMatch(/^2088\d{12}$/);
      expect(back.location).not.toContain(userId);

      const learnt = await read(identityId);
      expect(learnt.body).toMatchObject({ status: 'IDENTIFIED', appId: alipayAppId(), payerId: userId });

      const orderNo = (await http('POST', app('/api/orders'), orderBody(uniqueId('bia')), shop.headers)).body.orderNo;
      const paid = await http(
        'POST',
        app(`/api/orders/${orderNo as string}/pay`),
        { channel: 'alipay', mode: 'in_app', payerId: learnt.body.payerId },
        shop.headers,
      );
      expect(paid.status).toBe(200);
      expect(paid.body).toMatchObject({ status: 'PAYING', payCredential: { type: 'alipay_trade_no' } });
      const paymentNo = paid.body.paymentNo as string;
      // my.tradePay in the buyer's Alipay: only the buyer the trade was made for can pay it.
      const tradeNo = paid.body.payCredential.tradeNo as string;
      const buyerPays = (buyerId: string) =>
        http('POST', `${sandbox.url}/sandbox/alipay/in-app/pay`, { tradeNo, buyerId });
      expect((await buyerPays(sandboxAlipayUserId('buyer-2'))).status).toBe(400);
      expect(await buyerPays(userId)).toMatchObject({ status: 200, body: { resultCode: '9000', tradeNo } });
      await waitFor('payment PAID', async () => {
        const payment = await http('GET', app(`/api/payments/${paymentNo}`), undefined, shop.headers);
        return payment.body.status === 'PAID';
      });

      // The same callback again (a replay, a refresh): refused, and what was learnt stays.
      expect((await visit(callback)).status).toBe(404);
      expect((await read(identityId)).body.payerId).toBe(userId);
    });

    it('another buyer is another user id; a forged or spent code fails the request; a forged state is refused', async () => {
      const other = await throughAlipay(`${SHOP}/pay?t=other`, 'buyer-2');
      expect((await read(other.begun.body.identityId as string)).body).toMatchObject({
        status: 'IDENTIFIED',
        payerId: sandboxAlipayUserId('buyer-2'),
      });

      const begun = await begin({ channel: 'alipay', returnUrl: `${SHOP}/pay?t=forged` });
      expect(begun.status).toBe(201);
      const id = begun.body.identityId as string;
      const forged = await visit(app(`/pay/oauth/alipay?auth_code=ca34ea491e7146cc87d25fca24c4cD11&state=${id}`));
      expect(forged.status).toBe(302);
      expect(new URL(forged.location as string).searchParams.get('identityId')).toBe(id);
      // Alipay's signed refusal (error_response), read as a definite one.
      expect((await read(id)).body).toMatchObject({
        status: 'FAILED',
        payerId: null,
        failure: expect.stringContaining('isv.code-invalid'),
      });

      // A code already exchanged, brought to a new request: Alipay refuses it (one use).
      const spent = new URL(other.atAlipay.location as string).searchParams.get('auth_code') as string;
      const again = await begin({ channel: 'alipay', returnUrl: `${SHOP}/pay?t=spent` });
      const againId = again.body.identityId as string;
      expect((await visit(app(`/pay/oauth/alipay?auth_code=${spent}&state=${againId}`))).status).toBe(302);
      expect((await read(againId)).body).toMatchObject({
        status: 'FAILED',
        failure: expect.stringContaining('isv.code-invalid'),
      });

      // A real code for a state nobody began, for one already completed, or a WeChat state on Alipay's callback.
      const wechat = (await begin({ channel: 'wechat', returnUrl: `${SHOP}/pay?t=wechat` })).body.identityId as string;
      for (const state of ['bi0123456789abcdef0123456789abcdef', id, wechat]) {
        const authorize = new URL(`${sandbox.url}/oauth2/publicAppAuthorize.htm`);
        authorize.search = new URLSearchParams({
          app_id: alipayAppId(),
          scope: 'auth_base',
          redirect_uri: app('/pay/oauth/alipay'),
          state,
        }).toString();
        const code = new URL((await visit(authorize.toString())).location as string).searchParams.get('auth_code');
        const refused = await visit(app(`/pay/oauth/alipay?auth_code=${code as string}&state=${state}`));
        expect([state, refused.status]).toEqual([state, 404]);
      }
      expect((await read(id)).body.status).toBe('FAILED');
      expect((await read(wechat)).body.status).toBe('PENDING');
    });

    it('a third-party app learns the buyer for the merchant that authorised it (its app in the link, app_auth_token)', async () => {
      const created = await http('POST', `${sandbox.url}/sandbox/merchants`, {
        channel: 'alipay',
        kind: 'third_party',
      });
      expect(created.status).toBe(201);
      const material = created.body as Record<string, string>;
      const settings = {
        gatewayUrl: `${sandbox.url}/gateway.do`,
        appId: material.appId,
        appPrivateKeyPem: material.appPrivateKeyPem,
        alipayPublicKeyPem: material.alipayPublicKeyPem,
        timeoutMs: 2000,
        authorizeUrl: `${sandbox.url}/oauth2/publicAppAuthorize.htm`,
      };
      const isv = new AlipayOAuth({ ...settings, appAuthToken: material.appAuthToken, authAppId: material.authAppId });
      expect(isv.appId).toBe(material.authAppId);
      const codeFor = async (buyer: string) => {
        const link = new URL(isv.authorizeUrl('https://shop.example/cb', 'bi0'));
        expect(link.searchParams.get('app_id')).toBe(material.authAppId);
        link.searchParams.set('sandbox_buyer', buyer);
        const back = new URL((await visit(link.toString())).location as string);
        expect(back.searchParams.get('app_id')).toBe(material.authAppId);
        return back.searchParams.get('auth_code') as string;
      };
      await expect(isv.exchange(await codeFor('buyer-5'))).resolves.toEqual({
        kind: 'identified',
        payerId: sandboxAlipayUserId('buyer-5'),
      });
      // The merchant's code is not the third-party app's own: without the token, Alipay refuses it.
      const own = new AlipayOAuth(settings);
      await expect(own.exchange(await codeFor('buyer-5'))).resolves.toMatchObject({
        kind: 'refused',
        code: 'isv.code-invalid',
      });
    });

    it("Alipay's page refuses an app it does not know or a bad redirect_uri (the buyer never comes back)", async () => {
      for (const query of [
        { app_id: '2021000000009999', scope: 'auth_base', redirect_uri: app('/pay/oauth/alipay') },
        { app_id: alipayAppId(), scope: 'auth_base', redirect_uri: 'javascript:alert(1)' },
        { app_id: alipayAppId(), scope: 'snsapi_base', redirect_uri: app('/pay/oauth/alipay') },
      ]) {
        const page = await visit(
          `${sandbox.url}/oauth2/publicAppAuthorize.htm?${new URLSearchParams(query).toString()}`,
        );
        expect([query, page.status, page.location]).toEqual([query, 400, null]);
      }
    });
  });
});
