import { randomBytes } from 'node:crypto';
import type { Pool } from 'mysql2/promise';
import { ChannelAccountsService } from '../src/gateways/accounts/channel-accounts.service';
import { parseKeks } from '../src/gateways/accounts/secret-box';
import { accountRequest } from '../sandbox/merchants/account-request';
import { encryptResource, newNonce, responseMessage, rsaSign } from '../src/gateways/wire/wechatpay.protocol';
import { beijingDate } from '../src/common/beijing-time';
import { ADMIN_SCOPES, type AdminTokenConfig } from '../src/config/environment';
import { inTransaction } from '../src/database/transaction';
import { waitFor } from './support/amqp';
import { newTestApplication, type TestApplication } from './support/api-keys';
import { sqlPool } from './support/database';
import { freePort, type RunningSandbox, sandboxGateways, startSandbox } from './support/sandbox';
import { http, orderBody, type RunningApp, startApp, TestClock, uniqueId } from './support/test-app';
import type { DataSource } from 'typeorm';
import { getDataSourceToken } from '@nestjs/typeorm';

const OPS: AdminTokenConfig = {
  name: 'ops',
  token: 'multi-merchant-test-ops-token-0123456789abcdef',
  scopes: [...ADMIN_SCOPES],
};
const KEK1 = randomBytes(32).toString('base64');
const KEK2 = randomBytes(32).toString('base64');

type Channel = 'wechat' | 'alipay' | 'unionpay';
type Material = Record<string, string>;

/**
 * Two shops on one Payment Center, each with its own WeChat Pay, Alipay and UnionPay accounts (shop B's WeChat
 * account a service-provider sub-merchant, its Alipay one a third-party app authorised by the merchant), all at
 * the sandbox over real HTTP: each pays, is notified on its own URL, refunds and reconciles against its own bill,
 * and never sees the other.
 */
describe('Several merchants on one Payment Center (e2e)', () => {
  let sandbox: RunningSandbox;
  let running: RunningApp;
  let port: number;
  let db: Pool;
  let shopA: TestApplication;
  let shopB: TestApplication;
  const clock = new TestClock();
  const suffix = randomBytes(3).toString('hex');
  const id = (name: string) => `${name}-${suffix}`;
  const material: Record<string, Material> = {};

  const appConfig = (keks: string, current = '') => ({
    adminTokens: [OPS],
    accounts: { keks: parseKeks(keks, current), cacheMs: 100 },
    gatewayMode: 'sandbox',
    sandbox: { url: sandbox.url, keysDir: sandbox.keys },
    publicBaseUrl: `http://127.0.0.1:${port}`,
    gateways: { timeoutMs: 2000 },
    recovery: { queryScheduleMs: [300, 300, 300], longTailMs: [500] },
  });

  const app = (path: string) => `${running.url}${path}`;
  const admin = (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) =>
    http(method, app(path), body, { authorization: `Bearer ${OPS.token}` });
  const as = (shop: TestApplication) => ({
    get: (path: string) => http('GET', app(path), undefined, shop.headers),
    post: (path: string, body: unknown) => http('POST', app(path), body, shop.headers),
  });

  async function sandboxMerchant(channel: Channel, kind?: string): Promise<Material> {
    const created = await http('POST', `${sandbox.url}/sandbox/merchants`, { channel, kind });
    expect(created.status).toBe(201);
    return created.body as Material;
  }

  beforeAll(async () => {
    sandbox = await startSandbox();
    port = await freePort();
    running = await startApp(sandboxGateways(sandbox, port, 2000), clock, appConfig(`k1:${KEK1}`), port);
    db = sqlPool();
    shopA = await newTestApplication();
    shopB = await newTestApplication();
    const accounts: [string, Channel, string | undefined][] = [
      ['wx-a', 'wechat', undefined],
      ['wx-b', 'wechat', 'service_provider'],
      ['ali-a', 'alipay', undefined],
      ['ali-b', 'alipay', 'third_party'],
      ['up-a', 'unionpay', undefined],
      ['up-b', 'unionpay', undefined],
    ];
    for (const [name, channel, kind] of accounts) {
      material[name] = await sandboxMerchant(channel, kind);
      const created = await admin('POST', '/api/admin/accounts', accountRequest(id(name), channel, material[name]));
      expect([created.status, created.body]).toEqual([201, expect.objectContaining({ id: id(name), channel })]);
    }
    for (const channel of ['wechat', 'alipay', 'unionpay'] as const) {
      const prefix = { wechat: 'wx', alipay: 'ali', unionpay: 'up' }[channel];
      for (const [shop, letter] of [
        [shopA, 'a'],
        [shopB, 'b'],
      ] as const) {
        const bound = await admin('PUT', `/api/admin/applications/${shop.applicationId}/accounts/${channel}`, {
          accountIds: [id(`${prefix}-${letter}`)],
        });
        expect(bound.status).toBe(200);
      }
    }
  }, 120_000);

  afterAll(async () => {
    await running?.close();
    await sandbox?.app.close();
    await db.query('DELETE FROM account_bindings WHERE application_id IN (?, ?)', [
      shopA.applicationId,
      shopB.applicationId,
    ]);
    await db.query('DELETE FROM channel_accounts WHERE id LIKE ?', [`%-${suffix}`]);
    await db.end();
  });

  async function pay(shop: TestApplication, channel: Channel, accountId?: string) {
    const order = await as(shop).post('/api/orders', orderBody(uniqueId('mm')));
    expect(order.status).toBe(201);
    const payment = await as(shop).post(`/api/orders/${order.body.orderNo}/pay`, { channel, accountId });
    return { orderNo: order.body.orderNo as string, payment };
  }

  async function buyerPays(channel: Channel, payment: { paymentNo: string; payCredential: any }) {
    if (channel === 'unionpay') {
      // The buyer's browser posts the consume form to UnionPay, which makes the trade.
      const form = payment.payCredential as { action: string; fields: Record<string, string> };
      await fetch(form.action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form.fields).toString(),
      });
    }
    const paid = await http('POST', `${sandbox.url}/sandbox/${channel}/trades/${payment.paymentNo}/pay`, {});
    expect(paid.status).toBeLessThan(300);
  }

  const paymentStatus = async (shop: TestApplication, paymentNo: string) =>
    (await as(shop).get(`/api/payments/${paymentNo}`)).body.status as string;

  it('answers every account without a secret, and sealed at rest', async () => {
    const listed = await admin('GET', '/api/admin/accounts');
    expect(listed.status).toBe(200);
    const text = JSON.stringify(listed.body);
    for (const m of Object.values(material)) {
      for (const secret of [m.merchantPrivateKeyPem, m.appPrivateKeyPem, m.apiV3Key, m.appAuthToken]) {
        // A distinctive slice of each (a PEM's body, a token or key whole).
        if (secret) expect(text).not.toContain(secret.length > 100 ? secret.slice(60, 120) : secret);
      }
    }
    const [wxB] = (listed.body as any[]).filter((a) => a.id === id('wx-b'));
    expect(wxB).toMatchObject({ kind: 'service_provider', secretFields: ['merchantPrivateKeyPem', 'apiV3Key'] });
    expect(wxB.notifyUrl).toBe(`http://127.0.0.1:${port}/api/payments/notify/wechat/${id('wx-b')}`);
    const [row] = (
      await db.query('SELECT secrets, kek_id FROM channel_accounts WHERE id = ?', [id('wx-a')])
    )[0] as any[];
    expect(row.kek_id).toBe('k1');
    expect(row.secrets).not.toContain(material['wx-a'].apiV3Key);
    expect(row.secrets).not.toContain('PRIVATE KEY');
    const audit = (await db.query("SELECT target FROM admin_audit WHERE action = 'account.create'"))[0] as any[];
    expect(JSON.stringify(audit)).not.toContain(material['wx-a'].apiV3Key);
  });

  it.each(['wechat', 'alipay', 'unionpay'] as const)(
    '%s: each shop pays with its own account, is notified on its own URL, refunds, and never sees the other',
    async (channel) => {
      const prefix = { wechat: 'wx', alipay: 'ali', unionpay: 'up' }[channel];
      const made: { shop: TestApplication; orderNo: string; paymentNo: string; account: string }[] = [];
      for (const [shop, letter] of [
        [shopA, 'a'],
        [shopB, 'b'],
      ] as const) {
        const { orderNo, payment } = await pay(shop, channel);
        expect([payment.status, payment.body.accountId]).toEqual([200, id(`${prefix}-${letter}`)]);
        await buyerPays(channel, payment.body);
        made.push({ shop, orderNo, paymentNo: payment.body.paymentNo, account: id(`${prefix}-${letter}`) });
      }
      for (const { shop, paymentNo } of made)
        await waitFor(`${paymentNo} PAID`, async () => (await paymentStatus(shop, paymentNo)) === 'PAID');
      const [a, b] = made;
      // The trade was made at the vendor by each shop's own merchant account.
      const tradeA = (await http('GET', `${sandbox.url}/sandbox/trades/${a.paymentNo}`)).body;
      const tradeB = (await http('GET', `${sandbox.url}/sandbox/trades/${b.paymentNo}`)).body;
      // WeChat: the mchid that called (a service provider's, with its sub-merchant); Alipay: the app that
      // called and the seller it collected for; UnionPay: the merId.
      const owner = (trade: any) =>
        [trade.mchid, trade.wechatPartner?.subMchid, trade.appid, trade.alipay?.sellerId].join('/');
      const expected = {
        wechat: [material['wx-a'].mchid, material['wx-b'].spMchid],
        alipay: [material['ali-a'].appId, material['ali-b'].appId],
        unionpay: [material['up-a'].merId, material['up-b'].merId],
      }[channel];
      expect(owner(tradeA)).toContain(expected[0]);
      expect(owner(tradeB)).toContain(expected[1]);
      if (channel === 'wechat') expect(tradeB.wechatPartner.subMchid).toBe(material['wx-b'].subMchid);
      if (channel === 'alipay') expect(tradeB.alipay.sellerId).toBe(material['ali-b'].sellerId);
      // Isolation: B cannot read, pay or refund A's order or payment (404, as if it did not exist).
      expect((await as(shopB).get(`/api/orders/${a.orderNo}`)).status).toBe(404);
      expect((await as(shopB).get(`/api/payments/${a.paymentNo}`)).status).toBe(404);
      expect((await as(shopB).post(`/api/orders/${a.orderNo}/pay`, { channel })).status).toBe(404);
      const stolen = await as(shopB).post(`/api/payments/${a.paymentNo}/refunds`, { amountFen: 100, reason: 'x' });
      expect(stolen.status).toBe(404);
      // Each refunds its own, with its own account.
      for (const { shop, paymentNo } of made) {
        const refund = await as(shop).post(`/api/payments/${paymentNo}/refunds`, { amountFen: 500, reason: 'one cup' });
        expect(refund.status).toBe(201);
        await waitFor(
          'refund REFUNDED',
          async () => (await as(shop).get(`/api/refunds/${refund.body.refundNo}`)).body.status === 'REFUNDED',
        );
      }
      // Each account's bill holds its own trades only, and matches its own ledger.
      const date = beijingDate(new Date());
      for (const { account, paymentNo } of made) {
        const run = await admin('POST', '/api/admin/reconciliations', { channel, date, accountId: account });
        expect([run.status, run.body.status, run.body.accountId]).toEqual([200, 'MATCHED', account]);
        expect(run.body.statementLines).toBe(2); // its payment and its refund, nothing of the other shop's
        const other = made.find((m) => m.paymentNo !== paymentNo)!;
        expect(JSON.stringify(run.body)).not.toContain(other.paymentNo);
      }
    },
    60_000,
  );

  it('an application names one of its accounts, and only one of its own', async () => {
    const refused = await pay(shopA, 'wechat', id('wx-b'));
    expect([refused.payment.status, refused.payment.body.code]).toEqual([400, 'ACCOUNT_NOT_ALLOWED']);
    const unknown = await pay(shopA, 'wechat', 'no-such-account');
    expect(unknown.payment.body.message).toBe(refused.payment.body.message.replace(id('wx-b'), 'no-such-account'));
    const rows = (
      await db.query('SELECT COUNT(*) AS n FROM payments WHERE order_no IN (?, ?)', [refused.orderNo, unknown.orderNo])
    )[0] as { n: number }[];
    expect(Number(rows[0].n)).toBe(0);
    const named = await pay(shopA, 'wechat', id('wx-a'));
    expect([named.payment.status, named.payment.body.accountId]).toEqual([200, id('wx-a')]);
  });

  it("a callback signed with one account's keys is refused at another's URL, and about another's payment", async () => {
    const { payment } = await pay(shopA, 'wechat');
    const vendor = sandbox.settings.wechat; // the default account's merchant at the sandbox
    const forged = (outTradeNo: string) => {
      const transaction = {
        appid: vendor.appid,
        mchid: vendor.mchid,
        out_trade_no: outTradeNo,
        transaction_id: `42${Date.now()}`,
        trade_state: 'SUCCESS',
        success_time: new Date().toISOString(),
        amount: { total: 2500, currency: 'CNY' },
      };
      const body = JSON.stringify({
        id: uniqueId('n'),
        event_type: 'TRANSACTION.SUCCESS',
        resource_type: 'encrypt-resource',
        resource: encryptResource(JSON.stringify(transaction), vendor.apiV3Key, 'transaction', 'transaction'),
      });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const nonce = newNonce();
      return {
        body,
        headers: {
          'content-type': 'application/json',
          'Wechatpay-Timestamp': timestamp,
          'Wechatpay-Nonce': nonce,
          'Wechatpay-Serial': vendor.platformKeyId,
          'Wechatpay-Signature': rsaSign(responseMessage(timestamp, nonce, body), vendor.platformPrivateKey),
        },
      };
    };
    // Validly signed by the default account, about wx-a's payment: refused at the default URL...
    const atDefault = await fetch(app('/api/payments/notify/wechat'), {
      method: 'POST',
      ...forged(payment.body.paymentNo),
    });
    expect(atDefault.status).toBe(400);
    // ...and at wx-a's URL, where the default account's platform key means nothing.
    const atA = await fetch(app(`/api/payments/notify/wechat/${id('wx-a')}`), {
      method: 'POST',
      ...forged(payment.body.paymentNo),
    });
    expect(atA.status).toBe(400);
    // An account that does not exist has no URL.
    const nowhere = await fetch(app('/api/payments/notify/wechat/nobody'), { method: 'POST', ...forged('x') });
    expect(nowhere.status).toBe(400);
    expect((await as(shopA).get(`/api/payments/${payment.body.paymentNo}`)).body.status).toBe('PAYING');
  });

  it('a disabled account takes no new payment, while its payment in flight is paid and refunded to the end', async () => {
    const inFlight = await pay(shopB, 'alipay');
    expect(inFlight.payment.status).toBe(200);
    const disabled = await admin('POST', `/api/admin/accounts/${id('ali-b')}/status`, {
      status: 'DISABLED',
      reason: 'merchant contract under renewal',
    });
    expect([disabled.status, disabled.body.status]).toEqual([200, 'DISABLED']);
    const refused = await pay(shopB, 'alipay');
    expect([refused.payment.status, refused.payment.body.code]).toEqual([503, 'CHANNEL_UNAVAILABLE']);
    expect(refused.payment.body.message).toContain('merchant contract under renewal');
    await buyerPays('alipay', inFlight.payment.body);
    await waitFor(
      'in-flight order PAID',
      async () => (await paymentStatus(shopB, inFlight.payment.body.paymentNo)) === 'PAID',
    );
    const refund = await as(shopB).post(`/api/payments/${inFlight.payment.body.paymentNo}/refunds`, {
      amountFen: 2500,
      reason: 'contract',
    });
    expect(refund.status).toBe(201);
    await waitFor(
      'refund REFUNDED',
      async () => (await as(shopB).get(`/api/refunds/${refund.body.refundNo}`)).body.status === 'REFUNDED',
    );
    await admin('POST', `/api/admin/accounts/${id('ali-b')}/status`, { status: 'ACTIVE' });
    expect((await pay(shopB, 'alipay')).payment.status).toBe(200);
  }, 30_000);

  it("rotation: the vendor's platform key and the shop's API key rotate while payments are in flight; nothing is lost", async () => {
    const wx = material['wx-a'];
    const first = await pay(shopA, 'wechat');
    const second = await pay(shopA, 'wechat');
    // The vendor starts signing with a new platform key before the operator has it: its notification (and
    // the answers to our queries) cannot be verified yet, so nothing is believed and the vendor resends.
    const rotated = await http('POST', `${sandbox.url}/sandbox/merchants/wechat/${wx.mchid}/platform-keys`, {});
    expect(rotated.status).toBe(201);
    await buyerPays('wechat', first.payment.body);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await paymentStatus(shopA, first.payment.body.paymentNo)).toBe('PAYING');
    // The operator adds the new key beside the old one (the overlap), and the API key rotates meanwhile.
    const keyed = await admin('POST', `/api/admin/accounts/${id('wx-a')}/rotate`, {
      settings: {
        platformKeys: {
          [wx.platformKeyId]: wx.platformPublicKeyPem,
          [rotated.body.platformKeyId]: rotated.body.platformPublicKeyPem,
        },
      },
    });
    expect([keyed.status, keyed.body.version]).toEqual([200, 2]);
    const newKey = await admin('POST', `/api/admin/applications/${shopA.applicationId}/keys`, {});
    expect(newKey.status).toBe(201);
    const revoked = await admin('POST', `/api/admin/applications/${shopA.applicationId}/keys/${shopA.keyId}/revoke`);
    expect(revoked.status).toBe(200);
    const rotatedShop = { ...shopA, headers: { authorization: `Bearer ${newKey.body.secret}` } };
    await waitFor(
      'first PAID',
      async () => (await paymentStatus(rotatedShop, first.payment.body.paymentNo)) === 'PAID',
    );
    // During the overlap the vendor may still sign with the old key: also believed.
    const back = await http('POST', `${sandbox.url}/sandbox/merchants/wechat/${wx.mchid}/signing-key`, {
      platformKeyId: wx.platformKeyId,
    });
    expect(back.status).toBe(200);
    await buyerPays('wechat', second.payment.body);
    await waitFor(
      'second PAID',
      async () => (await paymentStatus(rotatedShop, second.payment.body.paymentNo)) === 'PAID',
    );
    expect((await as(shopA).get(`/api/orders/${first.orderNo}`)).status).toBe(401);
    const paid = (
      await db.query("SELECT COUNT(*) AS n FROM payments WHERE order_no IN (?, ?) AND status = 'PAID'", [
        first.orderNo,
        second.orderNo,
      ])
    )[0] as { n: number }[];
    expect(Number(paid[0].n)).toBe(2);
    shopA = rotatedShop;
  }, 60_000);

  it('an instance whose KEKs cannot open an account refuses to boot, naming it; re-encryption moves every account to the new KEK', async () => {
    await expect(startApp(sandboxGateways(sandbox, port), clock, appConfig(`k1:${KEK2}`), 0)).rejects.toThrow(
      id('wx-a'),
    );
    const both = await startApp(sandboxGateways(sandbox, port), clock, appConfig(`k1:${KEK1},k2:${KEK2}`, 'k2'), 0);
    try {
      const accounts = both.app.get(ChannelAccountsService);
      const stale = await accounts.staleSeals();
      expect(stale).toEqual(expect.arrayContaining([id('wx-a'), id('up-b')]));
      const dataSource = both.app.get<DataSource>(getDataSourceToken());
      for (const accountId of stale) await inTransaction(dataSource, (manager) => accounts.reseal(manager, accountId));
      expect(await accounts.staleSeals()).toEqual([]);
    } finally {
      await both.close();
    }
    // Only the new KEK now: every account opens, and a payment is made with one.
    const onlyNew = await startApp(sandboxGateways(sandbox, port), clock, appConfig(`k2:${KEK2}`), 0);
    await onlyNew.close();
    const bad = await admin('POST', '/api/admin/accounts', {
      ...accountRequest(id('wx-c'), 'wechat', material['wx-a']),
      secrets: { merchantPrivateKeyPem: 'not a key', apiV3Key: 'short' },
    });
    expect([bad.status, bad.body.code]).toEqual([400, 'ACCOUNT_REJECTED']);
    expect(bad.body.message).toContain('secrets.merchantPrivateKeyPem');
    expect(bad.body.message).toContain('secrets.apiV3Key');
    expect((await admin('GET', `/api/admin/accounts/${id('wx-c')}`)).status).toBe(404);
  }, 60_000);
});
