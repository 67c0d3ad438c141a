import type { Pool } from 'mysql2/promise';
import { sandboxOpenid } from '../sandbox/wechat/wechat-oauth.controller';
import { newTestApplication, type TestApplication } from './support/api-keys';
import { sqlPool } from './support/database';
import { type RunningSandbox, startAppOnSandbox, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, uniqueId } from './support/test-app';

const SHOP = 'https://shop.example';

/**
 * Who pays inside WeChat, learnt for the merchant: begin → the buyer's WeChat opens the authorize page (the
 * sandbox's, silent snsapi_base) → our callback exchanges the one-time code → the buyer is back on the merchant's
 * page with the request's id → the merchant reads the openid and pays in_app with it. Replays, forged states and
 * codes, other applications and off-list return URLs are refused. Real HTTP, real Redis, the sandbox.
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

  it('another application cannot read it; bad input is 400; a channel without OAuth is 422', async () => {
    const begun = await begin({ channel: 'wechat', returnUrl: `${SHOP}/pay` });
    const theirs = await read(begun.body.identityId as string, other);
    expect([theirs.status, theirs.body.code]).toEqual([404, 'BUYER_IDENTITY_NOT_FOUND']);
    expect((await read('bi_not_an_id')).status).toBe(404);
    const anonymous = await http('GET', app(`/api/buyer-identities/${begun.body.identityId as string}`), undefined, {
      authorization: '',
    });
    expect(anonymous.status).toBe(401);

    // Alipay's OAuth is not wired on this Payment Center yet: a clear refusal, nothing kept.
    const alipay = await begin({ channel: 'alipay', returnUrl: `${SHOP}/pay` });
    expect([alipay.status, alipay.body.code]).toEqual([422, 'BUYER_IDENTITY_UNAVAILABLE']);

    for (const [body, field] of [
      [{ channel: 'wechat', returnUrl: 'https://evil.example/pay' }, 'returnUrl'],
      [{ channel: 'wechat' }, 'returnUrl'],
      [{ channel: 'unionpay', returnUrl: `${SHOP}/pay` }, 'channel'],
      [{ channel: 'wechat', returnUrl: 'javascript:alert(1)' }, 'returnUrl'],
    ] as const) {
      const refused = await begin(body);
      expect([refused.status, refused.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(JSON.stringify(refused.body.details)).toContain(field);
    }
  });
});
