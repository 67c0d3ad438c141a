import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AlipayOAuth, type AlipayOAuthSettings } from './alipay-oauth';
import { alipaySdkOf } from './alipay.gateway';
import { alipaySignContent, alipaySignedNode, rsa2Sign, rsa2Verify } from '../wire/alipay.protocol';

/**
 * Alipay's auth_base exchange against a fake gateway.do on loopback: what is sent (signed by the app's key, the
 * code and grant_type as common-level parameters, app_auth_token for a third-party app) and how each answer
 * reads — the user id or open_id, a signed refusal under `error_response` (which alipay-sdk alone cannot
 * verify), and everything that must stay unknown: an unsigned or forged refusal, a system error, HTTP 500.
 */

const APP_ID = '2021000000000001';
const AUTH_APP_ID = '2021000000000777';
const TOKEN = '202611BBf1c2e3d4a5b6c7d8e9f0a1b2c3d4eX01';
const USER_ID = '2088102177846881';
const OPEN_ID = '074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5';
const CODE = 'ca34ea491e7146cc87d25fca24c4cD11';
const app = generateKeyPairSync('rsa', { modulusLength: 2048 });
const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });
const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });

type Received = Record<string, string>;
let received: Received[] = [];
/** The raw HTTP answer: status and body text. */
let answer: () => { status?: number; body: string } = () => ({ body: '{}' });
let server: Server;
let gatewayUrl = '';

/** `{"<key>":<node>,"sign":…}` as Alipay writes it, signed over the node's text. */
const signed = (key: string, node: Record<string, string>, signer = alipay.privateKey) => {
  const inner = JSON.stringify(node);
  return { body: `{"${key}":${inner},"sign":"${rsa2Sign(inner, signer)}"}` };
};
const RESPONSE_KEY = 'alipay_system_oauth_token_response';
const codeInvalid = {
  code: '40002',
  msg: 'Invalid Arguments',
  sub_code: 'isv.code-invalid',
  sub_msg: '授权码code无效',
};

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const params: Received = {};
      for (const [key, value] of [...url.searchParams, ...new URLSearchParams(body)]) params[key] = value;
      received.push(params);
      const { status = 200, body: text } = answer();
      res.writeHead(status, { 'content-type': 'application/json;charset=utf-8' });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gatewayUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/gateway.do`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  received = [];
  answer = () => signed(RESPONSE_KEY, { user_id: USER_ID, access_token: 'authbseB1', expires_in: '300' });
});

function sutOf(extra: Partial<AlipayOAuthSettings> = {}): AlipayOAuth {
  return new AlipayOAuth({
    gatewayUrl,
    appId: APP_ID,
    appPrivateKeyPem: app.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    alipayPublicKeyPem: alipay.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    timeoutMs: 2000,
    authorizeUrl: 'https://openauth.alipay.com/oauth2/publicAppAuthorize.htm',
    ...extra,
  });
}

describe('AlipayOAuth', () => {
  it('links to the auth_base page with the app, the encoded callback and the state', () => {
    const sut = sutOf();
    const url = new URL(sut.authorizeUrl('https://pc.example/pay/oauth/alipay', 'bi0123'));
    expect(url.origin + url.pathname).toBe('https://openauth.alipay.com/oauth2/publicAppAuthorize.htm');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      app_id: APP_ID,
      scope: 'auth_base',
      redirect_uri: 'https://pc.example/pay/oauth/alipay',
      state: 'bi0123',
    });
    expect(sut.authorizeUrl('https://pc.example/pay/oauth/alipay', 's')).toContain(
      'redirect_uri=https%3A%2F%2Fpc.example%2Fpay%2Foauth%2Falipay',
    );
    expect([sut.channel, sut.codeParameter, sut.appId]).toEqual(['alipay', 'auth_code', APP_ID]);
  });

  it('exchanges the code with alipay.system.oauth.token, signed by the app, and answers the user id', async () => {
    await expect(sutOf().exchange(CODE)).resolves.toEqual({ kind: 'identified', payerId: USER_ID });
    expect(received).toHaveLength(1);
    const params = received[0];
    expect(params).toMatchObject({
      method: 'alipay.system.oauth.token',
      app_id: APP_ID,
      grant_type: 'authorization_code',
      code: CODE,
      sign_type: 'RSA2',
    });
    // Common-level parameters: no biz_content, no app_auth_token for the app's own merchant.
    expect(params.biz_content).toBeUndefined();
    expect(params.app_auth_token).toBeUndefined();
    expect(rsa2Verify(alipaySignContent(params), params.sign, app.publicKey)).toBe(true);
  });

  it('answers the open_id of an app Alipay gives open_ids, and prefers the user id when both come', async () => {
    answer = () => signed(RESPONSE_KEY, { open_id: OPEN_ID, access_token: 'authbseB1' });
    await expect(sutOf().exchange(CODE)).resolves.toEqual({ kind: 'identified', payerId: OPEN_ID });
    answer = () => signed(RESPONSE_KEY, { open_id: OPEN_ID, user_id: USER_ID });
    await expect(sutOf().exchange(CODE)).resolves.toEqual({ kind: 'identified', payerId: USER_ID });
  });

  it('a third-party app links to the merchant’s app and exchanges with app_auth_token', async () => {
    const sut = sutOf({ appAuthToken: TOKEN, authAppId: AUTH_APP_ID });
    expect(sut.appId).toBe(AUTH_APP_ID);
    expect(new URL(sut.authorizeUrl('https://pc.example/cb', 's')).searchParams.get('app_id')).toBe(AUTH_APP_ID);
    await expect(sut.exchange(CODE)).resolves.toEqual({ kind: 'identified', payerId: USER_ID });
    expect(received[0]).toMatchObject({ app_id: APP_ID, app_auth_token: TOKEN });
    expect(rsa2Verify(alipaySignContent(received[0]), received[0].sign, app.publicKey)).toBe(true);
    expect(() => sutOf({ appAuthToken: TOKEN })).toThrow(/together/);
  });

  it('a signed isv.code-invalid under error_response (used, expired, forged code) is a refusal', async () => {
    answer = () => signed('error_response', codeInvalid);
    await expect(sutOf().exchange(CODE)).resolves.toEqual({
      kind: 'refused',
      code: 'isv.code-invalid',
      message: '授权码code无效',
    });
    // The same refusal under the method's own key (verified by alipay-sdk) reads the same.
    answer = () => signed(RESPONSE_KEY, { ...codeInvalid, sub_code: 'isv.unmatched-app-id', sub_msg: 'app' });
    await expect(sutOf().exchange(CODE)).resolves.toMatchObject({ kind: 'refused', code: 'isv.unmatched-app-id' });
  });

  it('alipay-sdk 4.14 alone cannot verify that error_response (why AlipayOAuth verifies it itself)', async () => {
    answer = () => signed('error_response', codeInvalid);
    const sdk = alipaySdkOf({
      gatewayUrl,
      appId: APP_ID,
      appPrivateKeyPem: app.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      alipayPublicKeyPem: alipay.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      timeoutMs: 2000,
    });
    const exec = sdk.exec(
      'alipay.system.oauth.token',
      { grantType: 'authorization_code', code: CODE },
      {
        validateSign: true,
      },
    );
    await expect(exec).rejects.toThrow(/验签失败/);
  });

  it.each([
    ['unsigned', () => ({ body: `{"error_response":${JSON.stringify(codeInvalid)}}` })],
    ['signed by someone else', () => signed('error_response', codeInvalid, stranger.privateKey)],
    [
      'altered after signing',
      () => {
        const { body } = signed('error_response', { ...codeInvalid, sub_code: 'isp.unknow-error' });
        return { body: body.replace('isp.unknow-error', 'isv.code-invalid') };
      },
    ],
    [
      'a second error_response beside the signed one',
      () => {
        const { body } = signed('error_response', { code: '20000', sub_code: 'isp.unknow-error' });
        return { body: body.replace(/}$/, `,"x":{"error_response":${JSON.stringify(codeInvalid)}}}`) };
      },
    ],
    ['a user id signed by someone else', () => signed(RESPONSE_KEY, { user_id: USER_ID }, stranger.privateKey)],
    ['a system error', () => signed('error_response', { code: '20000', msg: 'x', sub_code: 'isp.unknow-error' })],
    ['HTTP 500', () => ({ status: 500, body: 'oops' })],
    ['not JSON', () => ({ body: '<html>' })],
    ['no user id nor open_id', () => signed(RESPONSE_KEY, { access_token: 'authbseB1' })],
    ['a user id not of Alipay’s form', () => signed(RESPONSE_KEY, { user_id: '1234' })],
  ])('%s: unknown, never identified nor refused', async (_, reply) => {
    answer = reply;
    expect((await sutOf().exchange(CODE)).kind).toBe('unknown');
  });

  it('a network failure is unknown; a code not of Alipay’s form is refused without a call', async () => {
    const down = sutOf({ gatewayUrl: 'http://127.0.0.1:1/gateway.do' });
    expect((await down.exchange(CODE)).kind).toBe('unknown');
    await expect(sutOf().exchange('a b&c=d')).resolves.toMatchObject({ kind: 'refused', code: 'isv.code-invalid' });
    expect(received).toHaveLength(0);
  });
});

describe('alipaySignedNode', () => {
  it('is the object under the key exactly as sent, braces and quotes inside strings included', () => {
    const node = '{"code":"40002","sub_msg":"a \\"}\\" b {"}';
    expect(alipaySignedNode(`{"error_response": ${node} ,"sign":"x"}`, 'error_response')).toBe(node);
    expect(alipaySignedNode('{"sign":"x"}', 'error_response')).toBeUndefined();
    expect(alipaySignedNode('{"error_response":"text","sign":"x"}', 'error_response')).toBeUndefined();
    expect(alipaySignedNode('{"error_response":{"a":{"b":1}}', 'error_response')).toBe('{"a":{"b":1}}');
    expect(alipaySignedNode('{"error_response":{"a":1', 'error_response')).toBeUndefined();
  });
});
