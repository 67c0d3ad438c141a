import { createHash, createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { alipaySignContent, rsa2Sign, rsa2Verify, verifyNotificationSign } from '../src/gateways/wire/alipay.protocol';
import { readPem } from '../src/gateways/wire/sandbox-key-set';
import { signFields, trustedSigningKey, verifyFields } from '../src/gateways/wire/unionpay.protocol';
import { beijingDate, beijingTimestamp } from '../src/gateways/wire/vendor-formats';
import {
  authorizationHeader,
  decryptResource,
  type EncryptedResource,
  newNonce,
  parseTradeBill,
  requestMessage,
  responseMessage,
  rsaSign,
  rsaVerify,
} from '../src/gateways/wire/wechatpay.protocol';
import { waitFor } from './support/amqp';
import { type RunningSandbox, startSandbox, startSandboxOn } from './support/sandbox';
import { http, uniqueId } from './support/test-app';

/**
 * Several merchants per vendor on one sandbox, spoken to over the vendors' own wire protocols with the
 * material POST /sandbox/merchants hands out: requests signed with the returned private keys, answers and
 * notifications verified with the returned public keys.
 */

interface WechatDirect {
  channel: 'wechat';
  kind: 'direct';
  mchid: string;
  appid: string;
  merchantSerialNo: string;
  merchantPrivateKeyPem: string;
  platformKeyId: string;
  platformPublicKeyPem: string;
  apiV3Key: string;
}

interface WechatServiceProvider {
  channel: 'wechat';
  kind: 'service_provider';
  spMchid: string;
  spAppid: string;
  subMchid: string;
  subAppid: string;
  merchantSerialNo: string;
  merchantPrivateKeyPem: string;
  platformKeyId: string;
  platformPublicKeyPem: string;
  apiV3Key: string;
}

interface AlipayThirdParty {
  channel: 'alipay';
  kind: 'third_party';
  appId: string;
  appPrivateKeyPem: string;
  alipayPublicKeyPem: string;
  appAuthToken: string;
  authAppId: string;
  sellerId: string;
}

interface UnionpayDirect {
  channel: 'unionpay';
  kind: 'direct';
  merId: string;
  merchantPrivateKeyPem: string;
  merchantCertPem: string;
  rootCertPem: string;
  middleCertPem: string;
}

interface WechatAnswer {
  status: number;
  body: any;
  /** Wechatpay-Serial: the platform key the answer names. */
  serial: string;
  /** Whether the answer's signature verifies with the platform key of that serial known to this client. */
  verified: boolean;
}

/** What a merchant holds to call WeChat Pay: its mchid, its API key and serial, the platform keys it trusts. */
class WechatClient {
  readonly platformKeys = new Map<string, KeyObject>();

  constructor(
    private readonly baseUrl: string,
    readonly mchid: string,
    private readonly serialNo: string,
    private readonly privateKey: KeyObject,
  ) {}

  static of(baseUrl: string, m: WechatDirect | WechatServiceProvider): WechatClient {
    const mchid = m.kind === 'direct' ? m.mchid : m.spMchid;
    const client = new WechatClient(baseUrl, mchid, m.merchantSerialNo, createPrivateKey(m.merchantPrivateKeyPem));
    client.trust(m.platformKeyId, m.platformPublicKeyPem);
    return client;
  }

  trust(keyId: string, publicKeyPem: string): void {
    this.platformKeys.set(keyId, createPublicKey(publicKeyPem));
  }

  /** A copy that signs with this merchant's key but names another mchid in the Authorization header. */
  claiming(mchid: string): WechatClient {
    const forged = new WechatClient(this.baseUrl, mchid, this.serialNo, this.privateKey);
    this.platformKeys.forEach((key, id) => forged.platformKeys.set(id, key));
    return forged;
  }

  async call(method: 'GET' | 'POST', pathWithQuery: string, body?: unknown): Promise<WechatAnswer> {
    const text = body === undefined ? '' : JSON.stringify(body);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = newNonce();
    const signature = rsaSign(requestMessage(method, pathWithQuery, timestamp, nonce, text), this.privateKey);
    const response = await fetch(`${this.baseUrl}${pathWithQuery}`, {
      method,
      headers: {
        Authorization: authorizationHeader({ mchid: this.mchid, nonce, timestamp, serialNo: this.serialNo, signature }),
        Accept: 'application/json',
        'Content-Type': 'application/json',
      },
      body: method === 'GET' ? undefined : text,
    });
    const answer = await response.text();
    const serial = response.headers.get('wechatpay-serial') ?? '';
    const key = this.platformKeys.get(serial);
    const verified =
      key !== undefined &&
      rsaVerify(
        responseMessage(
          response.headers.get('wechatpay-timestamp') ?? '',
          response.headers.get('wechatpay-nonce') ?? '',
          answer,
        ),
        response.headers.get('wechatpay-signature') ?? '',
        key,
      );
    const contentType = response.headers.get('content-type') ?? '';
    const parsed = answer && contentType.includes('json') ? (JSON.parse(answer) as unknown) : answer;
    return { status: response.status, body: parsed, serial, verified };
  }
}

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The merchant's notify URL: records every notification and acknowledges it the way each vendor wants. */
class Inbox {
  readonly received: Received[] = [];
  private server!: Server;
  url = '';

  async open(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = req.url ?? '';
        this.received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        if (path.startsWith('/alipay')) res.writeHead(200).end('success');
        else if (path.startsWith('/wechat')) res.writeHead(204).end();
        else res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The first notification posted to this path. */
  one(path: string): Promise<Received> {
    return waitFor(`a notification to ${path}`, () =>
      Promise.resolve(this.received.find((notification) => notification.path === path)),
    );
  }
}

/** A WeChat notification checked as a merchant does: signed by a platform key it trusts, resource decrypted. */
function openWechatNotification(notification: Received, client: WechatClient, apiV3Key: string) {
  const header = (name: string) => String(notification.headers[name] ?? '');
  const serial = header('wechatpay-serial');
  const key = client.platformKeys.get(serial);
  const verified =
    key !== undefined &&
    rsaVerify(
      responseMessage(header('wechatpay-timestamp'), header('wechatpay-nonce'), notification.body),
      header('wechatpay-signature'),
      key,
    );
  const envelope = JSON.parse(notification.body) as { event_type: string; resource: EncryptedResource };
  const resource = JSON.parse(decryptResource(envelope.resource, apiV3Key)) as Record<string, unknown>;
  return { serial, verified, eventType: envelope.event_type, resource };
}

const createMerchant = async <T>(sandbox: RunningSandbox, body: unknown): Promise<T> => {
  const created = await http('POST', `${sandbox.url}/sandbox/merchants`, body);
  expect(created.status).toBe(201);
  return created.body as T;
};

const nativeOrder = (m: WechatDirect, outTradeNo: string, notifyUrl: string, total = 1250) => ({
  appid: m.appid,
  mchid: m.mchid,
  description: 'Longjing tea 250g',
  out_trade_no: outTradeNo,
  notify_url: notifyUrl,
  amount: { total, currency: 'CNY' },
});

const buyerPays = (sandbox: RunningSandbox, channel: string, outTradeNo: string) =>
  http('POST', `${sandbox.url}/sandbox/${channel}/trades/${outTradeNo}/pay`, {});

/** The Beijing day the sandbox paid a trade on: the day of its bill row. */
async function paidDay(sandbox: RunningSandbox, outTradeNo: string): Promise<string> {
  const trade = (await http('GET', `${sandbox.url}/sandbox/trades/${outTradeNo}`)).body;
  return beijingDate(new Date(trade.paidAt as string));
}

/** The day's trade bill as a merchant downloads it: link (signed answer), then the file (hash checked). */
async function wechatBill(client: WechatClient, billDate: string, subMchid?: string) {
  const query = `bill_date=${billDate}${subMchid ? `&sub_mchid=${subMchid}` : ''}&bill_type=ALL`;
  const link = await client.call('GET', `/v3/bill/tradebill?${query}`);
  if (link.status !== 200) return { link, rows: undefined };
  const url = new URL(link.body.download_url as string);
  const file = await client.call('GET', `${url.pathname}${url.search}`);
  expect(
    createHash('sha1')
      .update(file.body as string)
      .digest('hex'),
  ).toBe(link.body.hash_value);
  return { link, rows: parseTradeBill(file.body as string) };
}

/** Alipay's gateway.do as an app calls it: common parameters, RSA2 over all of them, the answer's sign checked. */
async function alipayCall(
  sandbox: RunningSandbox,
  app: { appId: string; appPrivateKeyPem: string; alipayPublicKeyPem: string },
  method: string,
  biz: Record<string, string>,
  extra: Record<string, string> = {},
) {
  const params: Record<string, string> = {
    app_id: app.appId,
    method,
    format: 'JSON',
    charset: 'utf-8',
    sign_type: 'RSA2',
    timestamp: beijingTimestamp(new Date()),
    version: '1.0',
    biz_content: JSON.stringify(biz),
    ...extra,
  };
  params.sign = rsa2Sign(alipaySignContent(params, ['sign']), createPrivateKey(app.appPrivateKeyPem));
  const response = await fetch(`${sandbox.url}/gateway.do`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
    body: new URLSearchParams(params).toString(),
  });
  const text = await response.text();
  const responseKey = `${method.replaceAll('.', '_')}_response`;
  // The signed content is the response node exactly as sent: between `"<key>":` and `,"sign":`.
  const node = text.slice(`{"${responseKey}":`.length, text.lastIndexOf(',"sign":"'));
  const { sign } = JSON.parse(text) as { sign: string };
  return {
    verified: rsa2Verify(node, sign, createPublicKey(app.alipayPublicKeyPem)),
    node: JSON.parse(node) as Record<string, string>,
  };
}

/** UnionPay 5.1.0 as a merchant calls it: fields signed with its certificate's key, certId its serial in decimal. */
function unionpayFields(m: UnionpayDirect, fields: Record<string, string>, merId = m.merId): Record<string, string> {
  const certId = BigInt(`0x${new X509Certificate(m.merchantCertPem).serialNumber}`).toString(10);
  const all = { version: '5.1.0', encoding: 'UTF-8', signMethod: '01', merId, certId, ...fields };
  return { ...all, signature: signFields(all, createPrivateKey(m.merchantPrivateKeyPem)) };
}

/** A UnionPay answer or notification checked as a merchant does: signPubKeyCert through the chain, then the signature. */
function unionpayVerified(fields: Record<string, string>, m: UnionpayDirect): boolean {
  const anchors = {
    root: new X509Certificate(m.rootCertPem),
    middle: new X509Certificate(m.middleCertPem),
    requireUnionPayCn: true,
  };
  const key = trustedSigningKey(fields.signPubKeyCert, anchors, new Date());
  return typeof key !== 'string' && verifyFields(fields, key);
}

async function unionpayPost(sandbox: RunningSandbox, path: string, fields: Record<string, string>) {
  const response = await fetch(`${sandbox.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  return { status: response.status, location: response.headers.get('location'), text: await response.text() };
}

describe('the gateway sandbox serves several merchants per vendor (e2e)', () => {
  let sandbox: RunningSandbox;
  const inbox = new Inbox();

  beforeAll(async () => {
    sandbox = await startSandbox();
    await inbox.open();
  });

  afterAll(async () => {
    await sandbox.app.close();
    await inbox.close();
  });

  beforeEach(async () => {
    await http('POST', `${sandbox.url}/sandbox/faults`, {});
  });

  describe('WeChat Pay direct merchants', () => {
    let a: WechatDirect;
    let b: WechatDirect;
    let clientA: WechatClient;
    let clientB: WechatClient;

    beforeAll(async () => {
      a = await createMerchant<WechatDirect>(sandbox, { channel: 'wechat' });
      b = await createMerchant<WechatDirect>(sandbox, { channel: 'wechat' });
      clientA = WechatClient.of(sandbox.url, a);
      clientB = WechatClient.of(sandbox.url, b);
    });

    it('hands out fresh material in WeChat’s shapes', () => {
      for (const m of [a, b]) {
        expect(m).toMatchObject({ channel: 'wechat', kind: 'direct' });
        expect(m.mchid).toMatch(/^\d{10}$/);
        expect(m.appid).toMatch(/^wx[0-9a-f]{16}$/);
        expect(m.platformKeyId).toMatch(/^PUB_KEY_ID_/);
        expect(m.apiV3Key).toHaveLength(32);
        expect(createPrivateKey(m.merchantPrivateKeyPem).asymmetricKeyDetails?.modulusLength).toBe(2048);
      }
      expect(a.mchid).not.toBe(b.mchid);
      expect(a.mchid).not.toBe(sandbox.settings.wechat.mchid);
      expect(a.platformPublicKeyPem).not.toBe(b.platformPublicKeyPem);
    });

    it('keeps each merchant’s trades to itself: B neither sees, closes nor refunds A’s trade', async () => {
      const no = uniqueId('wa').replaceAll('-', '');
      const created = await clientA.call(
        'POST',
        '/v3/pay/transactions/native',
        nativeOrder(a, no, `${inbox.url}/wechat/a`),
      );
      expect(created).toMatchObject({ status: 200, verified: true, serial: a.platformKeyId });

      const byA = await clientA.call('GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${a.mchid}`);
      expect(byA).toMatchObject({ status: 200, verified: true });
      expect(byA.body).toMatchObject({ mchid: a.mchid, appid: a.appid, out_trade_no: no, trade_state: 'NOTPAY' });

      const byB = await clientB.call('GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${b.mchid}`);
      expect(byB).toMatchObject({ status: 404, verified: true, serial: b.platformKeyId });
      expect(byB.body.code).toBe('ORDER_NOT_EXIST');

      // WeChat answers 204 to closing an order it does not know: B's close leaves A's trade alone.
      expect(
        (await clientB.call('POST', `/v3/pay/transactions/out-trade-no/${no}/close`, { mchid: b.mchid })).status,
      ).toBe(204);
      await buyerPays(sandbox, 'wechat', no);
      const refundByB = await clientB.call('POST', '/v3/refund/domestic/refunds', {
        out_trade_no: no,
        out_refund_no: `R${no}`,
        amount: { refund: 100, total: 1250, currency: 'CNY' },
      });
      expect(refundByB).toMatchObject({ status: 404, verified: true });
      expect(refundByB.body.code).toBe('RESOURCE_NOT_EXISTS');
      const paid = await clientA.call('GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${a.mchid}`);
      expect(paid.body).toMatchObject({ trade_state: 'SUCCESS', amount: { total: 1250 } });

      // The same out_trade_no at B is B's own trade, apart from A's.
      const ownAtB = await clientB.call(
        'POST',
        '/v3/pay/transactions/native',
        nativeOrder(b, no, `${inbox.url}/wechat/b`),
      );
      expect(ownAtB.status).toBe(200);
      const again = await clientB.call('GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${b.mchid}`);
      expect(again.body).toMatchObject({ mchid: b.mchid, trade_state: 'NOTPAY' });
    });

    it('notifies each merchant signed with its own platform key and encrypted with its own APIv3 key', async () => {
      const no = uniqueId('wn').replaceAll('-', '');
      await clientA.call('POST', '/v3/pay/transactions/native', nativeOrder(a, no, `${inbox.url}/wechat/notify-${no}`));
      await buyerPays(sandbox, 'wechat', no);
      const received = await inbox.one(`/wechat/notify-${no}`);
      const notification = openWechatNotification(received, clientA, a.apiV3Key);
      expect(notification).toMatchObject({ verified: true, serial: a.platformKeyId, eventType: 'TRANSACTION.SUCCESS' });
      expect(notification.resource).toMatchObject({ mchid: a.mchid, appid: a.appid, out_trade_no: no });
      // Neither B's key decrypts it nor B's platform key verifies it.
      expect(() =>
        decryptResource((JSON.parse(received.body) as { resource: EncryptedResource }).resource, b.apiV3Key),
      ).toThrow();
      expect(openWechatNotification(received, clientB, a.apiV3Key).verified).toBe(false);
    });

    it('gives each merchant a bill of its own trades only', async () => {
      const noA = uniqueId('wba').replaceAll('-', '');
      const noB = uniqueId('wbb').replaceAll('-', '');
      await clientA.call('POST', '/v3/pay/transactions/native', nativeOrder(a, noA, `${inbox.url}/wechat/bill`));
      await clientB.call('POST', '/v3/pay/transactions/native', nativeOrder(b, noB, `${inbox.url}/wechat/bill`, 990));
      await buyerPays(sandbox, 'wechat', noA);
      await buyerPays(sandbox, 'wechat', noB);
      const day = await paidDay(sandbox, noA);
      expect(await paidDay(sandbox, noB)).toBe(day);

      const billA = await wechatBill(clientA, day);
      const billB = await wechatBill(clientB, day);
      expect(billA.link.verified && billB.link.verified).toBe(true);
      const numbersA = billA.rows?.map((row) => row.商户订单号) ?? [];
      const numbersB = billB.rows?.map((row) => row.商户订单号) ?? [];
      expect(numbersA).toContain(noA);
      expect(numbersA).not.toContain(noB);
      expect(numbersB).toContain(noB);
      expect(numbersB).not.toContain(noA);
      expect(new Set(billA.rows?.map((row) => row.商户号))).toEqual(new Set([a.mchid]));
      expect(new Set(billB.rows?.map((row) => row.商户号))).toEqual(new Set([b.mchid]));

      // A bill link is for the merchant that asked: B cannot download A's file.
      const url = new URL(billA.link.body.download_url as string);
      expect((await clientB.call('GET', `${url.pathname}${url.search}`)).status).toBe(404);
    });

    it('refuses a request signed with A’s key that names B’s mchid', async () => {
      const no = uniqueId('wf').replaceAll('-', '');
      const forged = clientA.claiming(b.mchid);
      const answer = await forged.call(
        'POST',
        '/v3/pay/transactions/native',
        nativeOrder(b, no, `${inbox.url}/wechat/x`),
      );
      expect(answer.status).toBe(401);
      expect(answer.body.code).toBe('SIGN_ERROR');
      expect((await forged.call('GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${b.mchid}`)).status).toBe(401);
      // Nothing was created for B.
      expect((await clientB.call('GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${b.mchid}`)).status).toBe(404);
    });

    it('keeps the faults working for a created merchant', async () => {
      await http('POST', `${sandbox.url}/sandbox/faults`, { apiError: true });
      const answer = await clientA.call('GET', `/v3/pay/transactions/out-trade-no/none?mchid=${a.mchid}`);
      expect(answer).toMatchObject({ status: 500, verified: true, body: { code: 'SYSTEM_ERROR' } });
    });
  });

  describe('WeChat Pay service provider (服务商) and sub-merchants', () => {
    let sp: WechatServiceProvider;
    let client: WechatClient;

    beforeAll(async () => {
      sp = await createMerchant<WechatServiceProvider>(sandbox, { channel: 'wechat', kind: 'service_provider' });
      client = WechatClient.of(sandbox.url, sp);
    });

    const partnerOrder = (no: string, notifyUrl: string, subMchid = sp.subMchid, subAppid = sp.subAppid) => ({
      sp_appid: sp.spAppid,
      sp_mchid: sp.spMchid,
      sub_appid: subAppid,
      sub_mchid: subMchid,
      description: 'Longjing tea 250g',
      out_trade_no: no,
      time_expire: '2099-01-01T00:00:00+08:00',
      notify_url: notifyUrl,
      amount: { total: 2500, currency: 'CNY' },
    });
    const partnerQuery = (no: string, subMchid = sp.subMchid, as = client) =>
      as.call('GET', `/v3/pay/partner/transactions/out-trade-no/${no}?sp_mchid=${as.mchid}&sub_mchid=${subMchid}`);

    it('creates, queries, closes and pays a sub-merchant’s trade; the notification names sp_mchid and sub_mchid', async () => {
      expect(sp).toMatchObject({ channel: 'wechat', kind: 'service_provider' });
      expect(sp.subMchid).toMatch(/^\d{10}$/);
      expect(sp.subAppid).toMatch(/^wx[0-9a-f]{16}$/);

      const no = uniqueId('sp').replaceAll('-', '');
      const created = await client.call(
        'POST',
        '/v3/pay/partner/transactions/native',
        partnerOrder(no, `${inbox.url}/wechat/sp-${no}`),
      );
      expect(created).toMatchObject({ status: 200, verified: true, serial: sp.platformKeyId });
      expect(created.body.code_url).toMatch(/^weixin:\/\//);

      const queried = await partnerQuery(no);
      expect(queried).toMatchObject({ status: 200, verified: true });
      expect(queried.body).toMatchObject({
        sp_appid: sp.spAppid,
        sp_mchid: sp.spMchid,
        sub_appid: sp.subAppid,
        sub_mchid: sp.subMchid,
        out_trade_no: no,
        trade_state: 'NOTPAY',
      });
      expect(queried.body).not.toHaveProperty('mchid');
      expect(queried.body).not.toHaveProperty('appid');

      const closedNo = uniqueId('spc').replaceAll('-', '');
      await client.call('POST', '/v3/pay/partner/transactions/native', partnerOrder(closedNo, `${inbox.url}/wechat/c`));
      const close = await client.call('POST', `/v3/pay/partner/transactions/out-trade-no/${closedNo}/close`, {
        sp_mchid: sp.spMchid,
        sub_mchid: sp.subMchid,
      });
      expect(close).toMatchObject({ status: 204, verified: true });
      expect((await partnerQuery(closedNo)).body.trade_state).toBe('CLOSED');

      expect((await buyerPays(sandbox, 'wechat', no)).status).toBe(200);
      const notification = openWechatNotification(await inbox.one(`/wechat/sp-${no}`), client, sp.apiV3Key);
      expect(notification).toMatchObject({
        verified: true,
        serial: sp.platformKeyId,
        eventType: 'TRANSACTION.SUCCESS',
      });
      expect(notification.resource).toMatchObject({
        sp_appid: sp.spAppid,
        sp_mchid: sp.spMchid,
        sub_appid: sp.subAppid,
        sub_mchid: sp.subMchid,
        out_trade_no: no,
        trade_state: 'SUCCESS',
        amount: { total: 2500 },
      });
      expect(notification.resource).not.toHaveProperty('mchid');

      // Refund with sub_mchid on the shared path; its notification names sp_mchid and sub_mchid too.
      const refundNo = `R${no}`;
      const refund = await client.call('POST', '/v3/refund/domestic/refunds', {
        sub_mchid: sp.subMchid,
        out_trade_no: no,
        out_refund_no: refundNo,
        notify_url: `${inbox.url}/wechat/sp-refund-${no}`,
        amount: { refund: 500, total: 2500, currency: 'CNY' },
      });
      expect(refund).toMatchObject({
        status: 200,
        verified: true,
        body: { out_refund_no: refundNo, status: 'SUCCESS' },
      });
      const refundNote = openWechatNotification(await inbox.one(`/wechat/sp-refund-${no}`), client, sp.apiV3Key);
      expect(refundNote.eventType).toBe('REFUND.SUCCESS');
      expect(refundNote.resource).toMatchObject({
        sp_mchid: sp.spMchid,
        sub_mchid: sp.subMchid,
        out_refund_no: refundNo,
      });
      expect(refundNote.resource).not.toHaveProperty('mchid');
      const refundQuery = await client.call('GET', `/v3/refund/domestic/refunds/${refundNo}?sub_mchid=${sp.subMchid}`);
      expect(refundQuery).toMatchObject({ status: 200, verified: true, body: { amount: { refund: 500 } } });

      // The bill of that sub-merchant has the trade, named by the service provider and the sub-merchant.
      const day = await paidDay(sandbox, no);
      const bill = await wechatBill(client, day, sp.subMchid);
      const rows = bill.rows?.filter((row) => row.商户订单号 === no) ?? [];
      expect(rows.map((row) => row.交易状态).sort()).toEqual(['REFUND', 'SUCCESS']);
      expect(rows[0]).toMatchObject({ 公众账号ID: sp.spAppid, 商户号: sp.spMchid, 特约商户号: sp.subMchid });
    });

    it('keeps a sub-merchant’s trades from its other sub-merchants and from other service providers', async () => {
      const second = await http('POST', `${sandbox.url}/sandbox/merchants/wechat/${sp.spMchid}/sub-merchants`, {});
      expect(second.status).toBe(201);
      expect(second.body.subMchid).toMatch(/^\d{10}$/);
      const no = uniqueId('sps').replaceAll('-', '');
      await client.call('POST', '/v3/pay/partner/transactions/native', partnerOrder(no, `${inbox.url}/wechat/s`));
      await buyerPays(sandbox, 'wechat', no);

      const bySecond = await partnerQuery(no, second.body.subMchid as string);
      expect(bySecond).toMatchObject({ status: 404, body: { code: 'ORDER_NOT_EXIST' } });
      const refundAsSecond = await client.call('POST', '/v3/refund/domestic/refunds', {
        sub_mchid: second.body.subMchid,
        out_trade_no: no,
        out_refund_no: `R${no}`,
        amount: { refund: 1, total: 2500, currency: 'CNY' },
      });
      expect(refundAsSecond.status).toBe(404);
      const day = await paidDay(sandbox, no);
      expect((await wechatBill(client, day, second.body.subMchid as string)).link.body.code).toBe('NO_STATEMENT_EXIST');
      // Without sub_mchid, the service provider's bill covers all its sub-merchants.
      const all = await wechatBill(client, day);
      expect(all.rows?.some((row) => row.商户订单号 === no && row.特约商户号 === sp.subMchid)).toBe(true);

      // A second service provider naming the first one's sub-merchant is refused (403 NO_AUTH).
      const other = await createMerchant<WechatServiceProvider>(sandbox, {
        channel: 'wechat',
        kind: 'service_provider',
      });
      const otherClient = WechatClient.of(sandbox.url, other);
      const foreign = await partnerQuery(no, sp.subMchid, otherClient);
      expect(foreign).toMatchObject({ status: 403, verified: true, body: { code: 'NO_AUTH' } });
      const foreignOrder = await otherClient.call('POST', '/v3/pay/partner/transactions/native', {
        ...partnerOrder(`${no}x`, `${inbox.url}/wechat/s`),
        sp_appid: other.spAppid,
        sp_mchid: other.spMchid,
      });
      expect(foreignOrder.status).toBe(403);
      // A sub_mchid WeChat does not know at all.
      expect((await partnerQuery(no, '1000000001')).body.code).toBe('MCH_NOT_EXISTS');
    });

    it('keeps the partner and the direct APIs apart', async () => {
      const direct = await createMerchant<WechatDirect>(sandbox, { channel: 'wechat' });
      const directClient = WechatClient.of(sandbox.url, direct);
      const asDirect = await directClient.call(
        'GET',
        `/v3/pay/partner/transactions/out-trade-no/x?sp_mchid=${direct.mchid}&sub_mchid=${sp.subMchid}`,
      );
      expect(asDirect).toMatchObject({ status: 403, body: { code: 'NO_AUTH' } });
      const spOnDirect = await client.call('GET', `/v3/pay/transactions/out-trade-no/x?mchid=${sp.spMchid}`);
      expect(spOnDirect).toMatchObject({ status: 400, body: { code: 'PARAM_ERROR' } });
      const noSub = await client.call('POST', '/v3/refund/domestic/refunds', {
        out_trade_no: 'x',
        out_refund_no: 'y',
        amount: { refund: 1, total: 1, currency: 'CNY' },
      });
      expect(noSub.status).toBe(400);
    });
  });

  describe('Alipay third-party (ISV) app acting for an authorising merchant', () => {
    let isv: AlipayThirdParty;

    beforeAll(async () => {
      isv = await createMerchant<AlipayThirdParty>(sandbox, { channel: 'alipay', kind: 'third_party' });
    });

    it('precreates with app_auth_token for the merchant; the notification names the ISV app and auth_app_id', async () => {
      expect(isv).toMatchObject({ channel: 'alipay', kind: 'third_party' });
      expect(isv.appId).toMatch(/^\d{16}$/);
      expect(isv.authAppId).toMatch(/^\d{16}$/);
      expect(isv.authAppId).not.toBe(isv.appId);
      expect(isv.sellerId).toMatch(/^2088\d{12}$/);
      expect(isv.appAuthToken).toHaveLength(40);

      const no = uniqueId('ai').replaceAll('-', '');
      const token = { app_auth_token: isv.appAuthToken };
      const precreate = await alipayCall(
        sandbox,
        isv,
        'alipay.trade.precreate',
        { out_trade_no: no, total_amount: '12.50', subject: 'Longjing tea 250g' },
        { ...token, notify_url: `${inbox.url}/alipay/${no}` },
      );
      expect(precreate).toMatchObject({ verified: true, node: { code: '10000', out_trade_no: no } });

      expect((await buyerPays(sandbox, 'alipay', no)).status).toBe(200);
      const notification = await inbox.one(`/alipay/${no}`);
      const fields = Object.fromEntries(new URLSearchParams(notification.body));
      expect(verifyNotificationSign(fields, createPublicKey(isv.alipayPublicKeyPem))).toBe('ok');
      expect(fields).toMatchObject({
        app_id: isv.appId,
        auth_app_id: isv.authAppId,
        seller_id: isv.sellerId,
        out_trade_no: no,
        trade_status: 'TRADE_SUCCESS',
        total_amount: '12.50',
      });

      const withToken = await alipayCall(sandbox, isv, 'alipay.trade.query', { out_trade_no: no }, token);
      expect(withToken).toMatchObject({ verified: true, node: { code: '10000', trade_status: 'TRADE_SUCCESS' } });
      // Without the token the app acts for its own account, which has no such trade.
      const withoutToken = await alipayCall(sandbox, isv, 'alipay.trade.query', { out_trade_no: no });
      expect(withoutToken.node).toMatchObject({ code: '40004', sub_code: 'ACQ.TRADE_NOT_EXIST' });
      // Another merchant that authorised the same app sees nothing of it either.
      const second = await http('POST', `${sandbox.url}/sandbox/merchants/alipay/${isv.appId}/app-auth-tokens`, {});
      expect(second.status).toBe(201);
      const bySecond = await alipayCall(
        sandbox,
        isv,
        'alipay.trade.query',
        { out_trade_no: no },
        {
          app_auth_token: second.body.appAuthToken as string,
        },
      );
      expect(bySecond.node.sub_code).toBe('ACQ.TRADE_NOT_EXIST');
    });

    it('answers 20001 aop.invalid-app-auth-token to an unknown token or another app’s token', async () => {
      const other = await createMerchant<AlipayThirdParty>(sandbox, { channel: 'alipay', kind: 'third_party' });
      for (const appAuthToken of [other.appAuthToken, '202601BB00000000000000000000000000000000']) {
        const answer = await alipayCall(
          sandbox,
          isv,
          'alipay.trade.query',
          { out_trade_no: 'x' },
          { app_auth_token: appAuthToken },
        );
        expect(answer).toMatchObject({
          verified: true,
          node: { code: '20001', msg: 'Insufficient Token Permissions', sub_code: 'aop.invalid-app-auth-token' },
        });
      }
    });

    it('serves a direct app with its own keys, apart from the default app', async () => {
      const direct = await createMerchant<{
        appId: string;
        sellerId: string;
        appPrivateKeyPem: string;
        alipayPublicKeyPem: string;
      }>(sandbox, { channel: 'alipay' });
      expect(direct).toMatchObject({ channel: 'alipay', kind: 'direct' });
      expect(direct.appId).not.toBe(sandbox.settings.alipay.appId);
      const no = uniqueId('ad').replaceAll('-', '');
      const precreate = await alipayCall(
        sandbox,
        direct,
        'alipay.trade.precreate',
        { out_trade_no: no, total_amount: '1.00', subject: 'tea' },
        { notify_url: `${inbox.url}/alipay/${no}` },
      );
      expect(precreate).toMatchObject({ verified: true, node: { code: '10000' } });
      await buyerPays(sandbox, 'alipay', no);
      const fields = Object.fromEntries(new URLSearchParams((await inbox.one(`/alipay/${no}`)).body));
      expect(verifyNotificationSign(fields, createPublicKey(direct.alipayPublicKeyPem))).toBe('ok');
      expect(fields).toMatchObject({ app_id: direct.appId, auth_app_id: direct.appId, seller_id: direct.sellerId });
    });
  });

  describe('UnionPay: a second merId', () => {
    it('consumes, queries and notifies with the new merchant’s certificate; the default merchant does not see it', async () => {
      const m = await createMerchant<UnionpayDirect>(sandbox, { channel: 'unionpay' });
      expect(m.merId).toMatch(/^\d{15}$/);
      expect(m.merId).not.toBe(sandbox.settings.unionpay.merId);
      // The same UnionPay chain as the default merchant's.
      expect(m.rootCertPem).toBe(readPem(sandbox.keys, 'unionpayRootCert'));
      expect(m.middleCertPem).toBe(readPem(sandbox.keys, 'unionpayMiddleCert'));

      const orderId = uniqueId('u').replaceAll('-', '').slice(0, 32);
      const txnTime = beijingTimestamp(new Date()).replace(/\D/g, '');
      const consume = unionpayFields(m, {
        txnType: '01',
        txnSubType: '01',
        bizType: '000201',
        channelType: '07',
        accessType: '0',
        orderId,
        txnTime,
        txnAmt: '1999',
        currencyCode: '156',
        backUrl: `${inbox.url}/unionpay/${orderId}`,
        frontUrl: `${inbox.url}/front`,
      });
      const front = await unionpayPost(sandbox, '/gateway/api/frontTransReq.do', consume);
      expect(front.status).toBe(303);
      expect(front.location).toContain(orderId);

      const query = (merchant: UnionpayDirect, merId?: string) =>
        unionpayPost(
          sandbox,
          '/gateway/api/queryTrans.do',
          unionpayFields(
            merchant,
            {
              txnType: '00',
              txnSubType: '00',
              bizType: '000000',
              accessType: '0',
              channelType: '07',
              orderId,
              txnTime,
            },
            merId,
          ),
        ).then((answer) => Object.fromEntries(new URLSearchParams(answer.text)));
      const unpaid = await query(m);
      expect(unionpayVerified(unpaid, m)).toBe(true);
      expect(unpaid).toMatchObject({ respCode: '00', origRespCode: '05', merId: m.merId });

      // The default merchant, with its own certificate: UnionPay does not find another merchant's order.
      const defaults: UnionpayDirect = {
        ...m,
        merId: sandbox.settings.unionpay.merId,
        merchantPrivateKeyPem: readPem(sandbox.keys, 'unionpayMerchantPrivate'),
        merchantCertPem: readPem(sandbox.keys, 'unionpayMerchantCert'),
      };
      expect((await query(defaults)).respCode).toBe('34');
      // The new merchant's key naming the default merId: the certId is not the default merchant's.
      expect((await query(m, sandbox.settings.unionpay.merId)).respCode).toBe('11');

      await buyerPays(sandbox, 'unionpay', orderId);
      const notification = Object.fromEntries(new URLSearchParams((await inbox.one(`/unionpay/${orderId}`)).body));
      expect(unionpayVerified(notification, m)).toBe(true);
      expect(notification).toMatchObject({ merId: m.merId, orderId, txnAmt: '1999', respCode: '00' });
      expect((await query(m)).origRespCode).toBe('00');
    });
  });

  describe('WeChat platform key rotation', () => {
    it('signs answers and notifications with the new key after a rotation, and with the old one when switched back', async () => {
      const m = await createMerchant<WechatDirect>(sandbox, { channel: 'wechat' });
      const client = WechatClient.of(sandbox.url, m);
      const query = () => client.call('GET', `/v3/pay/transactions/out-trade-no/none?mchid=${m.mchid}`);
      expect(await query()).toMatchObject({ serial: m.platformKeyId, verified: true });

      const rotated = await http('POST', `${sandbox.url}/sandbox/merchants/wechat/${m.mchid}/platform-keys`, {});
      expect(rotated.status).toBe(201);
      const newKeyId = rotated.body.platformKeyId as string;
      expect(newKeyId).toMatch(/^PUB_KEY_ID_/);
      expect(newKeyId).not.toBe(m.platformKeyId);
      // A merchant that has not configured the new key cannot verify the answer...
      expect(await query()).toMatchObject({ serial: newKeyId, verified: false });
      // ...and verifies it once it has.
      client.trust(newKeyId, rotated.body.platformPublicKeyPem as string);
      expect(await query()).toMatchObject({ serial: newKeyId, verified: true });

      const no = uniqueId('wr').replaceAll('-', '');
      await client.call('POST', '/v3/pay/transactions/native', nativeOrder(m, no, `${inbox.url}/wechat/rotated-${no}`));
      await buyerPays(sandbox, 'wechat', no);
      const notification = openWechatNotification(await inbox.one(`/wechat/rotated-${no}`), client, m.apiV3Key);
      expect(notification).toMatchObject({ serial: newKeyId, verified: true });

      // During the overlap, a test may have the old key sign again.
      const back = await http('POST', `${sandbox.url}/sandbox/merchants/wechat/${m.mchid}/signing-key`, {
        platformKeyId: m.platformKeyId,
      });
      expect(back.status).toBe(200);
      expect(await query()).toMatchObject({ serial: m.platformKeyId, verified: true });
      const unknown = await http('POST', `${sandbox.url}/sandbox/merchants/wechat/${m.mchid}/signing-key`, {
        platformKeyId: 'PUB_KEY_ID_NONE',
      });
      expect(unknown.status).toBe(400);
    });
  });

  describe('the merchants API', () => {
    it('refuses an unknown channel or kind with a 400 JSON error', async () => {
      for (const body of [
        {},
        { channel: 'paypal' },
        { channel: 'wechat', kind: 'third_party' },
        { channel: 'unionpay', kind: 'x' },
      ]) {
        const answer = await http('POST', `${sandbox.url}/sandbox/merchants`, body);
        expect(answer.status).toBe(400);
        expect(typeof answer.body).toBe('object');
      }
      const noSp = await http(
        'POST',
        `${sandbox.url}/sandbox/merchants/wechat/${sandbox.settings.wechat.mchid}/sub-merchants`,
        {},
      );
      expect(noSp.status).toBe(404);
    });

    it('lists merchants by their ids, without keys or tokens', async () => {
      const isv = await createMerchant<AlipayThirdParty>(sandbox, { channel: 'alipay', kind: 'third_party' });
      const listed = await http('GET', `${sandbox.url}/sandbox/merchants`);
      expect(listed.status).toBe(200);
      const text = JSON.stringify(listed.body);
      expect(text).not.toContain('PRIVATE KEY');
      expect(text).not.toContain(isv.appAuthToken);
      expect(listed.body).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ channel: 'wechat', mchid: sandbox.settings.wechat.mchid, default: true }),
          expect.objectContaining({ channel: 'alipay', appId: isv.appId, kind: 'third_party' }),
          expect.objectContaining({ channel: 'unionpay', merId: sandbox.settings.unionpay.merId, default: true }),
        ]),
      );
    });
  });
});

describe('merchants created on demand survive a sandbox restart (e2e)', () => {
  it('serves the same merchants, keys and signing choices after a restart on the same key folder', async () => {
    const inbox = new Inbox();
    await inbox.open();
    const first = await startSandbox();
    let firstOpen = true;
    let second: RunningSandbox | undefined;
    try {
      const direct = await createMerchant<WechatDirect>(first, { channel: 'wechat' });
      const sp = await createMerchant<WechatServiceProvider>(first, { channel: 'wechat', kind: 'service_provider' });
      const extraSub = (await http('POST', `${first.url}/sandbox/merchants/wechat/${sp.spMchid}/sub-merchants`, {}))
        .body;
      const isv = await createMerchant<AlipayThirdParty>(first, { channel: 'alipay', kind: 'third_party' });
      const union = await createMerchant<UnionpayDirect>(first, { channel: 'unionpay' });
      const rotated = (await http('POST', `${first.url}/sandbox/merchants/wechat/${direct.mchid}/platform-keys`, {}))
        .body;
      const defaultMchid = first.settings.wechat.mchid;
      const defaultRotated = (
        await http('POST', `${first.url}/sandbox/merchants/wechat/${defaultMchid}/platform-keys`, {})
      ).body;
      await first.app.close();
      firstOpen = false;

      second = await startSandboxOn(first.keys);
      const ids = JSON.stringify((await http('GET', `${second.url}/sandbox/merchants`)).body);
      for (const id of [
        direct.mchid,
        sp.spMchid,
        sp.subMchid,
        extraSub.subMchid,
        isv.appId,
        isv.authAppId,
        union.merId,
      ]) {
        expect(ids).toContain(id);
      }

      // WeChat: the same merchant key verifies, the rotated platform key still signs.
      const client = WechatClient.of(second.url, direct);
      client.trust(rotated.platformKeyId as string, rotated.platformPublicKeyPem as string);
      const answer = await client.call('GET', `/v3/pay/transactions/out-trade-no/none?mchid=${direct.mchid}`);
      expect(answer).toMatchObject({ status: 404, serial: rotated.platformKeyId, verified: true });
      // The default merchant keeps its rotation too.
      const defaultAnswer = await fetch(`${second.url}/v3/pay/transactions/out-trade-no/none`);
      expect(defaultAnswer.headers.get('wechatpay-serial')).toBe(defaultRotated.platformKeyId);

      // The service provider and both its sub-merchants.
      const spClient = WechatClient.of(second.url, sp);
      for (const subMchid of [sp.subMchid, extraSub.subMchid as string]) {
        const partner = await spClient.call(
          'GET',
          `/v3/pay/partner/transactions/out-trade-no/none?sp_mchid=${sp.spMchid}&sub_mchid=${subMchid}`,
        );
        expect(partner).toMatchObject({ status: 404, verified: true, body: { code: 'ORDER_NOT_EXIST' } });
      }

      // Alipay: the ISV app's keys and its token.
      const no = uniqueId('ar').replaceAll('-', '');
      const precreate = await alipayCall(
        second,
        isv,
        'alipay.trade.precreate',
        { out_trade_no: no, total_amount: '3.00', subject: 'tea' },
        { app_auth_token: isv.appAuthToken, notify_url: `${inbox.url}/alipay/${no}` },
      );
      expect(precreate).toMatchObject({ verified: true, node: { code: '10000' } });

      // UnionPay: the merchant certificate is still the one registered for the merId.
      const query = await unionpayPost(
        second,
        '/gateway/api/queryTrans.do',
        unionpayFields(union, {
          txnType: '00',
          txnSubType: '00',
          bizType: '000000',
          accessType: '0',
          channelType: '07',
          orderId: 'none',
          txnTime: '20260101000000',
        }),
      );
      const fields = Object.fromEntries(new URLSearchParams(query.text));
      expect(unionpayVerified(fields, union)).toBe(true);
      expect(fields.respCode).toBe('34');
    } finally {
      if (firstOpen) await first.app.close();
      await second?.app.close();
      await inbox.close();
    }
  });
});
