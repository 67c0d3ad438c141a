import { Logger } from '@nestjs/common';
import { createHash, type KeyObject } from 'node:crypto';
import { fromBeijingTimestamp } from '../../common/beijing-time';
import { yuanToFen } from '../../common/money';
import { NotificationRejected } from '../notification-rejected';
import type {
  BarcodePayRequest,
  BarcodePayResult,
  CloseResult,
  CreatePaymentRequest,
  CreatePaymentResult,
  GatewayAck,
  GatewayNotification,
  GatewayResult,
  PayWay,
  RawNotification,
  RefundRequest,
  RefundResult,
  ReverseResult,
  StatementLine,
  StatementResult,
} from '../gateway.types';
import { EXPIRY_MARGIN_MS, PaymentGateway } from '../payment-gateway';
import {
  appPayMessage,
  authorizationHeader,
  decryptResource,
  inAppPayMessage,
  type EncryptedResource,
  newNonce,
  parseTradeBill,
  requestMessage,
  responseMessage,
  rsaSign,
  rsaVerify,
  toBeijingRfc3339,
  toWechatTotal,
  WECHATPAY_MAX_CLOCK_SKEW_SECONDS,
  WECHATPAY_SCHEMA,
} from '../wire/wechatpay.protocol';

export interface WechatPaySettings {
  /** https://api.mch.weixin.qq.com in production; the sandbox's address by default. */
  baseUrl: string;
  mchid: string;
  appid: string;
  /** The merchant's mini-programs (their app ids), besides `appid`: in-app payments may be made under them. */
  miniProgramAppIds?: readonly string[];
  /**
   * The merchant's mobile apps (Open Platform 移动应用 app ids, bound to `mchid`): APP payments are made under one
   * of them, the first unless the pay request names another. Empty: no APP payments.
   */
  mobileAppIds?: readonly string[];
  merchantSerialNo: string;
  merchantPrivateKey: KeyObject;
  /** Platform certificate serials and/or `PUB_KEY_ID_…` ids → public key (both kinds arrive during the migration). */
  platformKeys: ReadonlyMap<string, KeyObject>;
  apiV3Key: string;
  notifyUrl: string;
  timeoutMs: number;
  now?: () => Date;
  /**
   * Service-provider (服务商) mode: the sub-merchant (特约商户) this adapter collects for. Set, every field above is
   * the service provider's (its mchid in the Authorization header, its key signing, its platform keys and APIv3 key)
   * and the partner APIs are used; unset, the adapter is a direct merchant, exactly as before.
   */
  subMchid?: string;
  /** The sub-merchant's own appid, sent as `sub_appid` (only with `subMchid`); `appid` is then `sp_appid`. */
  subAppid?: string;
}

/** A service provider's sub-merchant, as the partner APIs name it. */
interface SubMerchant {
  subMchid: string;
  subAppid?: string;
}

interface WechatTransaction {
  mchid?: string;
  appid?: string;
  /** Partner transactions name the service provider and the sub-merchant instead of `mchid`/`appid`. */
  sp_mchid?: string;
  sp_appid?: string;
  sub_mchid?: string;
  sub_appid?: string;
  out_trade_no?: string;
  transaction_id?: string;
  trade_state?: string;
  trade_state_desc?: string;
  success_time?: string;
  amount?: { total?: number; payer_total?: number; currency?: string };
}

/** The decrypted resource of a REFUND.* notification (its status field is `refund_status`). */
interface WechatRefundResource {
  /** A partner refund names `sp_mchid` and `sub_mchid` (a direct one `mchid`); neither names an appid. */
  sp_mchid?: string;
  sub_mchid?: string;
  out_refund_no?: string;
  refund_id?: string;
  refund_status?: string;
  /** `refund` is the amount refunded, in fen (`payer_refund` is what reached the buyer after coupons). */
  amount?: { refund?: number; total?: number };
}

type WechatBody = WechatTransaction & {
  code?: string;
  message?: string;
  code_url?: string;
  /** JSAPI and APP orders answer the prepay_id the buyer's client pays. */
  prepay_id?: string;
  h5_url?: string;
  refund_id?: string;
  status?: string;
};
type VendorResponse = { status: number; body: string; json: WechatBody | undefined };

/** The create modes WeChat Pay offers beside the Native QR code. */
const WECHAT_MODES: readonly PayWay['mode'][] = ['in_app', 'mini_program', 'mobile_web', 'app'];
/** A WeChat openid: 28 characters of A-Z a-z 0-9 _ - in practice; some room either side. */
const WECHAT_OPENID = /^[A-Za-z0-9_-]{16,64}$/;
const WECHAT_APP_ID = /^wx[0-9a-f]{16}$/;

/**
 * Refund refusals WeChat Pay means as "not now", to be sent again under the same out_refund_no ("一笔退款失败后
 * 重新提交，请不要更换退款单号"): the merchant's balance is short (NOT_ENOUGH, 403, until it is topped up), its
 * own trouble (SYSTEM_ERROR, 500) and its rate limit (FREQUENCY_LIMITED, 429). Any other 4xx is a definite
 * refusal. docs/gateways.md has the sources.
 */
const RETRYABLE_REFUND_REFUSALS: ReadonlySet<string> = new Set(['NOT_ENOUGH', 'SYSTEM_ERROR', 'FREQUENCY_LIMITED']);

/**
 * Code-pay refusals that leave nothing taken and no trade to wait for: the request itself was refused (parameters,
 * signature, merchant), or the buyer cannot pay with this code (balance short, account blocked, code invalid or
 * expired). Any other answer — TRADE_ERROR (WeChat uses it for several business failures, a short balance among
 * them), OUT_TRADE_NO_USED, a 5xx, BANK_ERROR — is not a definite refusal: the trade is queried. The APIv3 names
 * come from the v3 error table (NOT_ENOUGH, ACCOUNT_ERROR); WeChat has not published v3 names for a bad code, so
 * the v2 micropay names are accepted too. docs/gateways.md has the sources.
 */
const CODEPAY_REFUSALS: ReadonlySet<string> = new Set([
  'PARAM_ERROR',
  'INVALID_REQUEST',
  'SIGN_ERROR',
  'APPID_MCHID_NOT_MATCH',
  'MCH_NOT_EXISTS',
  'NO_AUTH',
  'NOT_ENOUGH',
  'NOTENOUGH',
  'ACCOUNT_ERROR',
  'AUTH_CODE_INVALID',
  'AUTH_CODE_ERROR',
  'AUTHCODEEXPIRE',
]);

/**
 * WeChat Pay API v3: native (QR) payments, query by out_trade_no, close, and verified notifications.
 * Every request is signed with the merchant key; every response and notification is verified with the
 * platform key named by Wechatpay-Serial before it is believed. A timeout, a 5xx or an unverifiable
 * answer is `unknown`, never a failure.
 *
 * With `subMchid` the adapter is a service provider collecting for that sub-merchant: the partner APIs
 * (`/v3/pay/partner/…`, `sub_mchid` on refunds and bills), and a notification or query answer that names
 * another service provider or sub-merchant is not believed.
 */
export class WechatPayGateway extends PaymentGateway {
  readonly channel = 'wechat' as const;
  private readonly logger = new Logger(WechatPayGateway.name);
  /** Set in service-provider mode only; every partner-specific branch below keys on it. */
  private readonly subMerchant: SubMerchant | undefined;

  constructor(private readonly settings: WechatPaySettings) {
    super();
    // A sub_appid without a sub-merchant would be silently ignored: refuse the configuration instead.
    if (settings.subAppid && !settings.subMchid) {
      throw new Error('WechatPaySettings: subAppid is set without subMchid (a sub_appid belongs to a sub-merchant)');
    }
    this.subMerchant = settings.subMchid
      ? { subMchid: settings.subMchid, subAppid: settings.subAppid || undefined }
      : undefined;
  }

  /**
   * In-app payments (JSAPI, mini-program), H5 and APP for a direct merchant; a service provider's are not wired yet.
   * An app the request names must be one of the merchant's of the kind the mode pays in: an official account or a
   * mini-program for JSAPI, a mobile app for APP (WeChat refuses an appid of another kind, or not bound to mchid).
   */
  override payModeUnsupported(way: PayWay): string | undefined {
    if (way.mode === 'standard') return undefined;
    if (!WECHAT_MODES.includes(way.mode)) return `WeChat Pay has no ${way.mode} payments`;
    if (this.subMerchant) return `WeChat ${way.mode} payments for a service provider's sub-merchant are not wired yet`;
    if (way.mode === 'app') {
      const apps = this.settings.mobileAppIds ?? [];
      if (apps.length === 0) {
        return (
          "WeChat app payments need the merchant's mobile app, and none is configured " +
          '(WECHAT_MOBILE_APP_IDS; a stored account: settings.mobileAppIds)'
        );
      }
      if (way.appId && !apps.includes(way.appId)) {
        return `app ${way.appId} is not one of this merchant's mobile apps (WECHAT_MOBILE_APP_IDS)`;
      }
      return undefined;
    }
    if (way.appId && !this.inAppIds().includes(way.appId)) {
      return `app ${way.appId} is not one of this merchant's apps (its appid and WECHAT_MINI_PROGRAM_APP_IDS)`;
    }
    return undefined;
  }

  /** An openid is 28 characters of the URL-safe base64 alphabet in practice; H5 needs the buyer's IP. */
  override payWayInvalid(way: PayWay): { field: keyof PayWay; message: string } | undefined {
    if ((way.mode === 'in_app' || way.mode === 'mini_program') && !WECHAT_OPENID.test(way.payerId ?? '')) {
      return { field: 'payerId', message: "payerId must be the buyer's WeChat openid (16-64 of A-Z a-z 0-9 _ -)" };
    }
    if (way.appId !== undefined && !WECHAT_APP_ID.test(way.appId)) {
      return { field: 'appId', message: 'appId must be a WeChat app id (wx + 16 hex digits)' };
    }
    if (way.mode === 'mobile_web' && !way.clientIp) {
      return { field: 'clientIp', message: "WeChat H5 (mobile_web) needs the buyer's clientIp" };
    }
    return undefined;
  }

  /** The apps a JSAPI trade may be made under: the merchant's official account, and its mini-programs. */
  private inAppIds(): readonly string[] {
    return [this.settings.appid, ...(this.settings.miniProgramAppIds ?? [])];
  }

  /** Every app this merchant's trades may name: those of JSAPI, and its mobile apps (APP trades). */
  private appIds(): readonly string[] {
    return [...this.inAppIds(), ...(this.settings.mobileAppIds ?? [])];
  }

  async createPayment(request: CreatePaymentRequest): Promise<CreatePaymentResult> {
    const way = request.way ?? { mode: 'standard' };
    if (way.mode !== 'standard') {
      const refused = this.payModeUnsupported(way) ?? this.payWayInvalid(way)?.message;
      if (refused) return { kind: 'rejected', code: 'MODE_UNSUPPORTED', message: refused };
    }
    switch (way.mode) {
      case 'standard':
        return this.createNative(request);
      case 'in_app':
      case 'mini_program':
        return this.createInApp(request, way);
      case 'mobile_web':
        return this.createMobileWeb(request, way);
      case 'app':
        return this.createApp(request, way);
      case 'pc_web':
        // Refused above (payModeUnsupported): WeChat Pay has no PC page.
        return { kind: 'rejected', code: 'MODE_UNSUPPORTED', message: `WeChat Pay has no ${way.mode} payments` };
    }
  }

  /**
   * What every order of ours carries, whatever the mode (Native, JSAPI, H5 and APP take the same fields): the
   * description (at most 127 characters), our payment number, our expiry, where to notify, the amount in fen.
   */
  private orderFields(request: CreatePaymentRequest) {
    return {
      description: request.description.slice(0, 127),
      out_trade_no: request.paymentNo,
      time_expire: toBeijingRfc3339(request.expiresAt),
      notify_url: this.settings.notifyUrl,
      amount: { total: toWechatTotal(request.amountFen), currency: 'CNY' },
    };
  }

  /** A direct merchant's order under one of its apps. */
  private directOrder(request: CreatePaymentRequest, appid: string) {
    return { appid, mchid: this.settings.mchid, ...this.orderFields(request) };
  }

  /** An order WeChat did not take: a definite 4xx is a refusal; a 429, a 5xx or an answer we cannot read is not. */
  private notCreated(response: VendorResponse): CreatePaymentResult {
    if (response.status >= 400 && response.status < 500 && response.status !== 429) {
      return {
        kind: 'rejected',
        code: response.json?.code ?? String(response.status),
        message: response.json?.message ?? '',
      };
    }
    return { kind: 'unknown', reason: `HTTP ${response.status} ${response.json?.code ?? ''}` };
  }

  /** The Native QR code (`/v3/pay/transactions/native`, or the partner one for a sub-merchant). */
  private async createNative(request: CreatePaymentRequest): Promise<CreatePaymentResult> {
    const sub = this.subMerchant;
    // sub_appid is optional in the partner order; JSON.stringify leaves it out when undefined.
    const [path, body] = sub
      ? [
          '/v3/pay/partner/transactions/native',
          {
            sp_appid: this.settings.appid,
            sp_mchid: this.settings.mchid,
            sub_appid: sub.subAppid,
            sub_mchid: sub.subMchid,
            ...this.orderFields(request),
          },
        ]
      : ['/v3/pay/transactions/native', this.directOrder(request, this.settings.appid)];
    const response = await this.call('POST', path, body, request.signal);
    if ('unknown' in response) return { kind: 'unknown', reason: response.unknown };
    if (response.status === 200 && typeof response.json?.code_url === 'string') {
      return { kind: 'created', credential: { type: 'code_url', codeUrl: response.json.code_url } };
    }
    return this.notCreated(response);
  }

  /**
   * An in-app order (`POST /v3/pay/transactions/jsapi`, the same for an official-account page and a mini-program,
   * under the app the buyer is in): its prepay_id becomes the parameters of the buyer's in-app call, signed with
   * the merchant key (`paySign`; signType RSA is not signed).
   */
  private async createInApp(request: CreatePaymentRequest, payer: PayWay): Promise<CreatePaymentResult> {
    const appId = payer.appId ?? this.settings.appid;
    const body = { ...this.directOrder(request, appId), payer: { openid: payer.payerId as string } };
    const response = await this.call('POST', '/v3/pay/transactions/jsapi', body, request.signal);
    if ('unknown' in response) return { kind: 'unknown', reason: response.unknown };
    const prepayId = response.json?.prepay_id;
    if (response.status === 200 && typeof prepayId === 'string' && prepayId) {
      const { timeStamp, nonceStr } = this.clientCallStamp();
      const pkg = `prepay_id=${prepayId}`;
      const paySign = rsaSign(inAppPayMessage(appId, timeStamp, nonceStr, pkg), this.settings.merchantPrivateKey);
      return {
        kind: 'created',
        credential: { type: 'wechat_jsapi', appId, timeStamp, nonceStr, package: pkg, signType: 'RSA', paySign },
      };
    }
    return this.notCreated(response);
  }

  /**
   * A phone browser outside WeChat (H5): `POST /v3/pay/transactions/h5` with the buyer's IP and the H5 scene;
   * its `h5_url` is the page the buyer's browser opens (WeChat then hands over to its app).
   */
  private async createMobileWeb(request: CreatePaymentRequest, browser: PayWay): Promise<CreatePaymentResult> {
    const body = {
      ...this.directOrder(request, this.settings.appid),
      scene_info: { payer_client_ip: browser.clientIp as string, h5_info: { type: 'Wap' } },
    };
    const response = await this.call('POST', '/v3/pay/transactions/h5', body, request.signal);
    if ('unknown' in response) return { kind: 'unknown', reason: response.unknown };
    const h5Url = response.json?.h5_url;
    if (response.status === 200 && typeof h5Url === 'string' && /^https?:\/\//.test(h5Url)) {
      // WeChat's H5 guide: to come back somewhere other than the page that opened h5_url, append
      // `&redirect_url=<URL-encoded>`; its domain must be one of the merchant's registered H5 domains, and the buyer
      // may come back before paying (after 5 s, or on cancel), so the return page queries, it never assumes.
      const back = browser.returnUrl ? `&redirect_url=${encodeURIComponent(browser.returnUrl)}` : '';
      return { kind: 'created', credential: { type: 'redirect', url: h5Url + back } };
    }
    return this.notCreated(response);
  }

  /**
   * The merchant's own native app (APP): `POST /v3/pay/transactions/app` under its mobile app's appid (its Open
   * Platform app, not the official account's); the prepay_id becomes the app SDK's `PayReq`, signed with the
   * merchant key over `appid\ntimestamp\nnoncestr\nprepayid\n` (APP 调起支付签名). `partnerid` is the mchid.
   */
  private async createApp(request: CreatePaymentRequest, way: PayWay): Promise<CreatePaymentResult> {
    // payModeUnsupported has made sure there is a mobile app, and that a named one is the merchant's.
    const appId = way.appId ?? (this.settings.mobileAppIds ?? [])[0];
    const response = await this.call(
      'POST',
      '/v3/pay/transactions/app',
      this.directOrder(request, appId),
      request.signal,
    );
    if ('unknown' in response) return { kind: 'unknown', reason: response.unknown };
    const prepayId = response.json?.prepay_id;
    if (response.status === 200 && typeof prepayId === 'string' && prepayId) {
      const { timeStamp, nonceStr } = this.clientCallStamp();
      const sign = rsaSign(appPayMessage(appId, timeStamp, nonceStr, prepayId), this.settings.merchantPrivateKey);
      return {
        kind: 'created',
        credential: {
          type: 'wechat_app',
          appId,
          partnerId: this.settings.mchid,
          prepayId,
          package: 'Sign=WXPay',
          nonceStr,
          timeStamp,
          sign,
        },
      };
    }
    return this.notCreated(response);
  }

  /** The timestamp (seconds, 10 digits) and nonce (32 characters at most) of a client call's signature. */
  private clientCallStamp(): { timeStamp: string; nonceStr: string } {
    return { timeStamp: String(Math.floor(this.now().getTime() / 1000)), nonceStr: newNonce() };
  }

  async query(paymentNo: string): Promise<GatewayResult> {
    const sub = this.subMerchant;
    const path = sub
      ? `/v3/pay/partner/transactions/out-trade-no/${encodeURIComponent(paymentNo)}` +
        `?sp_mchid=${encodeURIComponent(this.settings.mchid)}&sub_mchid=${encodeURIComponent(sub.subMchid)}`
      : `/v3/pay/transactions/out-trade-no/${encodeURIComponent(paymentNo)}?mchid=${this.settings.mchid}`;
    const response = await this.call('GET', path);
    if ('unknown' in response) return { kind: 'unknown', reason: response.unknown };
    if (response.status === 404 && response.json?.code === 'ORDER_NOT_EXIST') return { kind: 'not_paid' }; // not paid yet
    if (response.status !== 200 || !response.json) return { kind: 'unknown', reason: `HTTP ${response.status}` };
    // The partner answer names its service provider and sub-merchant: another one's trade is not our payment.
    const foreign = sub ? this.foreignMerchant(response.json, 'transaction') : undefined;
    if (foreign) return { kind: 'unknown', reason: `query answered for ${foreign}` };
    return this.resultOf(response.json);
  }

  async close({ paymentNo, expiresAt }: { paymentNo: string; expiresAt: Date }): Promise<CloseResult> {
    const sub = this.subMerchant;
    const no = encodeURIComponent(paymentNo);
    const [path, body] = sub
      ? [
          `/v3/pay/partner/transactions/out-trade-no/${no}/close`,
          { sp_mchid: this.settings.mchid, sub_mchid: sub.subMchid },
        ]
      : [`/v3/pay/transactions/out-trade-no/${no}/close`, { mchid: this.settings.mchid }];
    const response = await this.call('POST', path, body);
    if ('unknown' in response) return { kind: 'unknown', reason: response.unknown };
    if (response.status === 204) return { kind: 'closed' };
    if (response.json?.code === 'ORDERPAID') return { kind: 'paid' };
    // 订单已关闭: closed already (an earlier close of ours whose answer was lost).
    if (response.json?.code === 'ORDER_CLOSED') return { kind: 'closed' };
    // Never created at WeChat (our create call was lost) and past its time_expire: nothing can pay it.
    const lapsed = this.now().getTime() >= expiresAt.getTime() + EXPIRY_MARGIN_MS;
    if (response.status === 404 && response.json?.code === 'ORDER_NOT_EXIST' && lapsed) return { kind: 'closed' };
    return { kind: 'unknown', reason: `HTTP ${response.status} ${response.json?.code ?? ''}` };
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    // One refund API for both modes; a service provider names the sub-merchant whose trade it refunds.
    const sub = this.subMerchant;
    const response = await this.call('POST', '/v3/refund/domestic/refunds', {
      ...(sub && { sub_mchid: sub.subMchid }),
      out_trade_no: request.paymentNo,
      out_refund_no: request.refundNo,
      reason: request.reason.slice(0, 80),
      notify_url: this.settings.notifyUrl,
      amount: { refund: toWechatTotal(request.refundFen), total: toWechatTotal(request.totalFen), currency: 'CNY' },
    });
    if ('unknown' in response) return { kind: 'unknown', reason: response.unknown };
    if (response.status === 200 && response.json) return this.refundResultOf(response.json);
    const code = response.json?.code ?? '';
    if (RETRYABLE_REFUND_REFUSALS.has(code)) {
      return { kind: 'unknown', reason: `refused for now: ${code} ${response.json?.message ?? ''}`.trim() };
    }
    if (response.status >= 400 && response.status < 500 && response.status !== 429) {
      return {
        kind: 'rejected',
        code: response.json?.code ?? String(response.status),
        message: response.json?.message ?? '',
      };
    }
    return { kind: 'unknown', reason: `HTTP ${response.status} ${response.json?.code ?? ''}` };
  }

  async queryRefund(refund: { paymentNo: string; refundNo: string }): Promise<RefundResult> {
    const sub = this.subMerchant;
    const path = `/v3/refund/domestic/refunds/${encodeURIComponent(refund.refundNo)}`;
    const response = await this.call('GET', sub ? `${path}?sub_mchid=${encodeURIComponent(sub.subMchid)}` : path);
    if ('unknown' in response) return { kind: 'unknown', reason: response.unknown };
    if (response.status === 404 && response.json?.code === 'RESOURCE_NOT_EXISTS') return { kind: 'not_found' };
    if (response.status === 200 && response.json) return this.refundResultOf(response.json);
    return { kind: 'unknown', reason: `HTTP ${response.status} ${response.json?.code ?? ''}` };
  }

  /** Direct merchants only: the partner code-pay API (/v3/pay/partner/transactions/codepay) is not implemented. */
  override barcodeUnsupported(): string | undefined {
    return this.subMerchant
      ? "WeChat Pay barcode payments for a service provider's sub-merchant (partner code-pay) are not implemented"
      : undefined;
  }

  /**
   * `POST /v3/pay/transactions/codepay`. WeChat answers the trade (trade_state SUCCESS: paid), or that the buyer
   * is asked for a password (USERPAYING, HTTP 202 in the v3 error table; the body may carry only
   * `trade_state`), or an error. Code payments get no notification: what is not settled here is queried.
   */
  override async payByCode(request: BarcodePayRequest): Promise<BarcodePayResult> {
    const unsupported = this.barcodeUnsupported();
    if (unsupported) return { kind: 'refused', code: 'BARCODE_UNSUPPORTED', message: unsupported };
    const { storeId, deviceId } = request.terminal ?? {};
    // scene_info.store_info is required; out_id is the merchant's own store code (id would be WeChat's store id).
    const response = await this.call(
      'POST',
      '/v3/pay/transactions/codepay',
      {
        appid: this.settings.appid,
        mchid: this.settings.mchid,
        description: request.description.slice(0, 127),
        out_trade_no: request.paymentNo,
        payer: { auth_code: request.authCode },
        amount: { total: toWechatTotal(request.amountFen), currency: 'CNY' },
        scene_info: {
          ...(deviceId && { device_id: deviceId }),
          store_info: { ...(storeId && { out_id: storeId }) },
        },
      },
      request.signal,
    );
    if ('unknown' in response) return { kind: 'unknown', reason: response.unknown };
    const { status, json } = response;
    const code = json?.code ?? '';
    if (json?.trade_state === 'USERPAYING' || code === 'USERPAYING') {
      return { kind: 'paying', reason: 'USERPAYING: the buyer is asked for the payment password' };
    }
    if (status === 200 && json?.trade_state === 'SUCCESS') {
      // The answer must be this trade of ours: a paid answer about anything else is not believed.
      const foreign = this.foreignMerchant(json, 'transaction');
      if (foreign || json.out_trade_no !== request.paymentNo) {
        return { kind: 'unknown', reason: `code-pay answered for ${foreign ?? `out_trade_no ${json.out_trade_no}`}` };
      }
      const paid = this.resultOf(json);
      if (paid.kind === 'paid') return paid;
      return { kind: 'unknown', reason: `code-pay: ${paid.kind === 'unknown' ? paid.reason : paid.kind}` };
    }
    // 429 is "not now" whatever code it carries.
    if (status >= 400 && status < 500 && status !== 429 && CODEPAY_REFUSALS.has(code)) {
      return { kind: 'refused', code, message: json?.message ?? '' };
    }
    // PAYERROR and any other trade_state, TRADE_ERROR, SYSTEM_ERROR, BANK_ERROR, 429, 5xx: the query decides.
    return { kind: 'unknown', reason: `code-pay: HTTP ${status} ${code || json?.trade_state || ''}`.trim() };
  }

  /**
   * `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/reverse` with `{appid, mchid}`: WeChat closes the
   * trade if the buyer did not pay and returns the money if they did, answering 200 `{appid, mchid,
   * out_trade_no}` either way. So a reverse that worked is `closed`; whether money had been taken is the
   * caller's to know (a paid query before it). v3 has no `recall` flag: a trade whose buyer is still entering
   * the password is refused with USERPAYING ("请稍后再试"), which is the call-again answer.
   */
  override async reverse(payment: { paymentNo: string; gatewayTradeNo: string | null }): Promise<ReverseResult> {
    const unsupported = this.barcodeUnsupported();
    if (unsupported) return { kind: 'unknown', reason: `reverse of ${payment.paymentNo}: ${unsupported}` };
    const response = await this.call(
      'POST',
      `/v3/pay/transactions/out-trade-no/${encodeURIComponent(payment.paymentNo)}/reverse`,
      { appid: this.settings.appid, mchid: this.settings.mchid },
    );
    if ('unknown' in response) return { kind: 'unknown', reason: response.unknown };
    const { status, json } = response;
    const code = json?.code ?? '';
    if (status === 200 || status === 204) {
      // The answer names the trade it reversed: another merchant's or another number's is not ours.
      if (json && (json.mchid !== this.settings.mchid || json.out_trade_no !== payment.paymentNo)) {
        return { kind: 'unknown', reason: `reverse answered for mchid ${json.mchid} / ${json.out_trade_no}` };
      }
      return { kind: 'closed' };
    }
    if (code === 'USERPAYING') return { kind: 'again', reason: `USERPAYING: ${json?.message ?? ''}`.trim() };
    // Reversed already (an earlier reverse whose answer was lost) or closed unpaid: nothing can be paid any more.
    if (code === 'ORDERREVERSED' || code === 'ORDER_REVERSED' || code === 'ORDER_CLOSED') return { kind: 'closed' };
    // The PaymentCenter reverses only once the pay call's own window is over (createCallWindowEnds), so a trade
    // WeChat does not know then was never made and can no longer be: nothing was or will be taken.
    if (status === 404 && code === 'ORDER_NOT_EXIST') return { kind: 'absent' };
    // SYSTEM_ERROR ("当撤销无返回或错误时，请再次调用"), REVERSE_EXPIRE, other 4xx: not a definite answer.
    return { kind: 'unknown', reason: `reverse: HTTP ${status} ${code}`.trim() };
  }

  private refundResultOf(body: WechatBody): RefundResult {
    switch (body.status) {
      case 'SUCCESS':
        return { kind: 'succeeded', gatewayRefundNo: body.refund_id ?? '' };
      case 'PROCESSING':
        return { kind: 'processing', gatewayRefundNo: body.refund_id };
      case 'CLOSED':
        return { kind: 'rejected', code: 'CLOSED', message: 'refund closed by WeChat Pay' };
      default:
        // ABNORMAL (the buyer's account cannot take it) needs an operator; not a definite success or failure.
        return { kind: 'unknown', reason: `refund status ${String(body.status)}` };
    }
  }

  /**
   * The day's trade bill: `GET /v3/bill/tradebill` (a signed, verified call) names a download URL and the
   * file's SHA-1; the download is signed but its answer is not, so the SHA-1 is what makes it trustworthy.
   * A service provider asks for its sub-merchant's bill (without `sub_mchid` it would get every sub-merchant's).
   */
  async fetchStatement(billDate: string): Promise<StatementResult> {
    const sub = this.subMerchant;
    const response = await this.call(
      'GET',
      sub
        ? `/v3/bill/tradebill?bill_date=${billDate}&sub_mchid=${encodeURIComponent(sub.subMchid)}&bill_type=ALL`
        : `/v3/bill/tradebill?bill_date=${billDate}&bill_type=ALL`,
    );
    if ('unknown' in response) return { kind: 'unknown', reason: response.unknown };
    const code = response.json?.code;
    if (response.status === 400 && code === 'NO_STATEMENT_EXIST') return { kind: 'empty' };
    if (response.status === 400 && code === 'STATEMENT_CREATING') return { kind: 'not_ready', reason: code };
    const bill = response.json as { hash_type?: string; hash_value?: string; download_url?: string } | undefined;
    if (response.status !== 200 || !bill?.download_url || !bill.hash_value) {
      return { kind: 'unknown', reason: `tradebill: HTTP ${response.status} ${code ?? ''}` };
    }
    let csv: Buffer;
    try {
      const url = new URL(bill.download_url);
      const file = await fetch(url, {
        headers: { Authorization: this.authorization('GET', `${url.pathname}${url.search}`, '') },
        signal: AbortSignal.timeout(this.settings.timeoutMs * 3),
      });
      if (file.status !== 200) return { kind: 'unknown', reason: `bill download: HTTP ${file.status}` };
      csv = Buffer.from(await file.arrayBuffer());
    } catch (error) {
      return { kind: 'unknown', reason: `bill download: ${(error as Error).message}` };
    }
    const sha1 = createHash('sha1').update(csv).digest('hex');
    if (sha1.toLowerCase() !== bill.hash_value.toLowerCase()) {
      return { kind: 'unknown', reason: 'bill download does not match its SHA-1' };
    }
    const lines: StatementLine[] = [];
    for (const row of parseTradeBill(csv.toString('utf8'))) {
      const paymentNo = row['商户订单号'] ?? '';
      // A line of another sub-merchant means this is not the bill we asked for: reconcile nothing against it.
      if (sub && row['特约商户号'] !== sub.subMchid) {
        return { kind: 'unknown', reason: `bill line ${paymentNo}: sub-merchant ${row['特约商户号'] ?? '(none)'}` };
      }
      if (row['交易状态'] === 'SUCCESS') {
        const amountFen = yuanToFen(row['订单金额'] || row['应结订单金额'] || '');
        if (amountFen === undefined) return { kind: 'unknown', reason: `bill line ${paymentNo}: no amount` };
        const at = fromBeijingTimestamp(row['交易时间']);
        lines.push({ kind: 'payment', paymentNo, gatewayTradeNo: row['微信订单号'] ?? '', amountFen, at });
      } else if (row['交易状态'] === 'REFUND' && row['退款状态'] === 'SUCCESS') {
        const amountFen = yuanToFen(row['申请退款金额'] || row['退款金额'] || '');
        if (amountFen === undefined) return { kind: 'unknown', reason: `bill refund line ${paymentNo}: no amount` };
        lines.push({
          kind: 'refund',
          paymentNo,
          refundNo: row['商户退款单号'] ?? '',
          gatewayRefundNo: row['微信退款单号'] ?? '',
          amountFen,
        });
      }
    }
    return { kind: 'statement', lines };
  }

  parseNotification(notification: RawNotification): Promise<GatewayNotification> {
    const body = notification.rawBody.toString('utf8');
    const problem = this.verifySigned(notification.headers, body);
    if (problem) return Promise.reject(new NotificationRejected(problem.message, problem.reason));
    let envelope: { id?: unknown; event_type?: string; resource?: EncryptedResource };
    try {
      envelope = JSON.parse(body) as typeof envelope;
    } catch {
      return Promise.reject(new NotificationRejected('notification body is not JSON', 'malformed'));
    }
    const resource = envelope.resource;
    const isTransaction = envelope.event_type === 'TRANSACTION.SUCCESS' && resource?.original_type === 'transaction';
    const isRefund = envelope.event_type?.startsWith('REFUND.') === true && resource?.original_type === 'refund';
    if (!resource || (!isTransaction && !isRefund)) {
      return Promise.reject(
        new NotificationRejected(`unhandled notification ${String(envelope.event_type)}`, 'unsupported'),
      );
    }
    // The one algorithm WeChat Pay documents for notification resources; anything else is not decrypted at all.
    if (resource.algorithm !== 'AEAD_AES_256_GCM') {
      return Promise.reject(
        new NotificationRejected(
          `resource algorithm ${JSON.stringify(String(resource.algorithm).slice(0, 40))} is not AEAD_AES_256_GCM`,
          'unsupported',
        ),
      );
    }
    let plain: WechatTransaction & WechatRefundResource;
    try {
      plain = JSON.parse(decryptResource(resource, this.settings.apiV3Key)) as typeof plain;
    } catch {
      return Promise.reject(
        new NotificationRejected('notification resource does not decrypt with our APIv3 key', 'decryption'),
      );
    }
    const foreign = this.foreignMerchant(plain, isTransaction ? 'transaction' : 'refund');
    if (foreign) return Promise.reject(new NotificationRejected(`notification for ${foreign}`, 'merchant'));
    // The notification's unique id (string[1,36] in the docs), signed with the body: how a replay is known.
    const notificationId = typeof envelope.id === 'string' && envelope.id.length <= 64 ? envelope.id : undefined;
    if (isRefund) {
      if (!plain.out_refund_no)
        return Promise.reject(new NotificationRejected('refund notification without out_refund_no', 'malformed'));
      const refundFen = plain.amount?.refund;
      let result = this.refundResultOf({ status: plain.refund_status, refund_id: plain.refund_id });
      // A success is believed only with the amount to compare (WeChat's refund notification requires it).
      if (result.kind === 'succeeded' && !Number.isSafeInteger(refundFen))
        result = { kind: 'unknown', reason: 'refund notification without an integer amount.refund' };
      return Promise.resolve({
        kind: 'refund',
        refundNo: plain.out_refund_no,
        result,
        facts: {
          refundFen: Number.isSafeInteger(refundFen) ? refundFen : undefined,
          paymentNo: plain.out_trade_no || undefined,
          gatewayTradeNo: plain.transaction_id || undefined,
        },
        notificationId,
      });
    }
    if (!plain.out_trade_no)
      return Promise.reject(new NotificationRejected('notification without out_trade_no', 'malformed'));
    // A paid amount means nothing without its currency: never assume CNY for a transaction that does not say so.
    const currency = plain.amount?.currency;
    if (currency !== 'CNY') {
      return Promise.reject(
        currency === undefined
          ? new NotificationRejected('transaction without amount.currency', 'malformed')
          : new NotificationRejected(
              `transaction in ${JSON.stringify(String(currency).slice(0, 8))}, not CNY`,
              'unsupported',
            ),
      );
    }
    return Promise.resolve({
      kind: 'payment',
      paymentNo: plain.out_trade_no,
      result: this.resultOf(plain),
      notificationId,
    });
  }

  acknowledge(outcome: { accepted: true } | { accepted: false; reason: string }): GatewayAck {
    // WeChat counts 200/204 as received; anything else is resent (15 times over about 24 h).
    if (outcome.accepted) return { status: 204, headers: {}, body: '' };
    return {
      status: 400,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'FAIL', message: outcome.reason.slice(0, 200) }),
    };
  }

  private resultOf(transaction: WechatTransaction): GatewayResult {
    switch (transaction.trade_state) {
      case 'SUCCESS':
      case 'REFUND': // paid, then (partly) refunded: it was paid
        if (
          !transaction.transaction_id ||
          !Number.isSafeInteger(transaction.amount?.total) ||
          transaction.amount?.currency !== 'CNY' // never assumed: an answer without it is not a CNY payment
        ) {
          return { kind: 'unknown', reason: 'paid trade without transaction_id, an integer amount or CNY' };
        }
        return {
          kind: 'paid',
          gatewayTradeNo: transaction.transaction_id,
          paidAmountFen: transaction.amount?.total ?? 0,
          paidAt: transaction.success_time ? new Date(transaction.success_time) : this.now(),
        };
      case 'NOTPAY':
      case 'USERPAYING':
        return { kind: 'not_paid' };
      case 'CLOSED':
      case 'REVOKED':
        return { kind: 'closed' };
      case 'PAYERROR':
        return { kind: 'failed', code: 'PAYERROR', message: transaction.trade_state_desc ?? '' };
      default:
        return { kind: 'unknown', reason: `trade_state ${String(transaction.trade_state)}` };
    }
  }

  /**
   * Whom a decrypted transaction or refund names, when that is not us; undefined when it is ours. A refund names
   * merchants only, a transaction also apps. Direct: `mchid` (and `appid`). Partner: `sp_mchid` and `sub_mchid`
   * (and `sp_appid`, plus `sub_appid` when we order with one: WeChat omits it from orders placed without).
   */
  private foreignMerchant(
    resource: WechatTransaction & WechatRefundResource,
    kind: 'transaction' | 'refund',
  ): string | undefined {
    const { mchid, appid } = this.settings;
    const sub = this.subMerchant;
    if (!sub) {
      if (resource.mchid === mchid && (kind === 'refund' || this.appIds().includes(resource.appid ?? ''))) {
        return undefined;
      }
      return `mchid ${resource.mchid} / appid ${resource.appid}`;
    }
    const merchantsMatch = resource.sp_mchid === mchid && resource.sub_mchid === sub.subMchid;
    const appsMatch =
      kind === 'refund' ||
      (resource.sp_appid === appid && (sub.subAppid === undefined || resource.sub_appid === sub.subAppid));
    if (merchantsMatch && appsMatch) return undefined;
    return (
      `sp_mchid ${resource.sp_mchid} / sub_mchid ${resource.sub_mchid}` +
      (kind === 'transaction' ? ` / sp_appid ${resource.sp_appid} / sub_appid ${resource.sub_appid}` : '')
    );
  }

  private now(): Date {
    return this.settings.now?.() ?? new Date();
  }

  /** Checks Wechatpay-Timestamp/-Nonce/-Signature/-Serial over the raw body; returns the problem, if any. */
  private verifySigned(
    headers: Record<string, string | string[] | undefined>,
    body: string,
  ): { reason: 'signature' | 'timestamp'; message: string } | undefined {
    const header = (name: string) => {
      const value = headers[name.toLowerCase()];
      return Array.isArray(value) ? value[0] : value;
    };
    // Not covered by the signature, so it may only confirm the one scheme we verify with. Absent is that scheme:
    // wechatpay-java defaults a missing header to it, wechatpay-go never reads it.
    const signatureType = header('Wechatpay-Signature-Type');
    if (signatureType !== undefined && signatureType !== WECHATPAY_SCHEMA) {
      return {
        reason: 'signature',
        message: `Wechatpay-Signature-Type ${JSON.stringify(signatureType.slice(0, 40))} is not ${WECHATPAY_SCHEMA}`,
      };
    }
    const timestamp = header('Wechatpay-Timestamp');
    const nonce = header('Wechatpay-Nonce');
    const signature = header('Wechatpay-Signature');
    const serial = header('Wechatpay-Serial');
    if (!timestamp || !nonce || !signature || !serial)
      return { reason: 'signature', message: 'missing Wechatpay-* signature headers' };
    const skew = Math.abs(this.now().getTime() / 1000 - Number(timestamp));
    if (!Number.isFinite(skew) || skew >= WECHATPAY_MAX_CLOCK_SKEW_SECONDS)
      return { reason: 'timestamp', message: `timestamp ${timestamp} is too old or too new` };
    const key = this.settings.platformKeys.get(serial);
    if (!key) return { reason: 'signature', message: `unknown platform key ${serial}` };
    if (!rsaVerify(responseMessage(timestamp, nonce, body), signature, key))
      return { reason: 'signature', message: 'bad signature' };
    return undefined;
  }

  /** `WECHATPAY2-SHA256-RSA2048 …` over METHOD, path with query, timestamp, nonce and body. */
  private authorization(method: 'GET' | 'POST', pathWithQuery: string, body: string): string {
    const timestamp = String(Math.floor(this.now().getTime() / 1000));
    const nonce = newNonce();
    const signature = rsaSign(
      requestMessage(method, pathWithQuery, timestamp, nonce, body),
      this.settings.merchantPrivateKey,
    );
    return authorizationHeader({
      mchid: this.settings.mchid,
      nonce,
      timestamp,
      serialNo: this.settings.merchantSerialNo,
      signature,
    });
  }

  private async call(
    method: 'GET' | 'POST',
    pathWithQuery: string,
    payload?: unknown,
    signal?: AbortSignal,
  ): Promise<VendorResponse | { unknown: string }> {
    const body = payload === undefined ? '' : JSON.stringify(payload);
    const timeout = AbortSignal.timeout(this.settings.timeoutMs);
    try {
      const response = await fetch(`${this.settings.baseUrl}${pathWithQuery}`, {
        method,
        headers: {
          Authorization: this.authorization(method, pathWithQuery, body),
          Accept: 'application/json',
          'Content-Type': 'application/json',
        },
        body: method === 'GET' ? undefined : body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      const text = await response.text();
      const headers = Object.fromEntries(response.headers.entries());
      const problem = this.verifySigned(headers, text);
      if (problem) {
        this.logger.warn(`${method} ${pathWithQuery}: response not trusted (${problem.message})`);
        return { unknown: `unverified response: ${problem.message}` };
      }
      let json: WechatBody | undefined;
      try {
        json = text ? (JSON.parse(text) as WechatBody) : undefined;
      } catch {
        json = undefined;
      }
      return { status: response.status, body: text, json };
    } catch (error) {
      return { unknown: `${method} ${pathWithQuery}: ${(error as Error).message}` };
    }
  }
}
