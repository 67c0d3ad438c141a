import { Logger } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';
import { unzipSync } from 'fflate';
import type {
  BarcodePayRequest,
  BarcodePayResult,
  CloseResult,
  CreatePaymentRequest,
  CreatePaymentResult,
  GatewayAck,
  GatewayNotification,
  GatewayResult,
  PayCredential,
  PayWay,
  RawNotification,
  RefundRequest,
  RefundResult,
  ReverseResult,
  StatementLine,
  StatementResult,
} from '../gateway.types';
import { EXPIRY_MARGIN_MS, PaymentGateway } from '../payment-gateway';
import { NotificationRejected, type RejectionReason } from '../notification-rejected';
import {
  alipayPublicKeyOf,
  BILL_COLUMNS,
  beijingTimestamp,
  fenToYuan,
  fromBeijingTimestamp,
  parseBillDetail,
  verifyNotificationSign,
  yuanToFen,
} from '../wire/alipay.protocol';

export interface AlipaySettings {
  /** Full URL of gateway.do: https://openapi.alipay.com/gateway.do, or the sandbox's. */
  gatewayUrl: string;
  appId: string;
  /** PEM (PKCS#8) of the application private key. */
  appPrivateKeyPem: string;
  /** PEM of Alipay's public key: every response and notification is checked with it. */
  alipayPublicKeyPem: string;
  /** The merchant's Alipay user id (2088…): when set, a notification for another seller_id is refused. */
  sellerId?: string;
  notifyUrl: string;
  timeoutMs: number;
  now?: () => Date;
  /**
   * Third-party (ISV) mode: the app authorisation token (应用授权令牌) the authorising merchant granted this app.
   * Set, `appId` and the keys above are the ISV app's, and every call carries `app_auth_token`; set together with
   * `authAppId`. Unset, the app is the merchant's own, exactly as before.
   */
  appAuthToken?: string;
  /** The authorising merchant's app id: in ISV mode a notification is accepted only with this `auth_app_id`. */
  authAppId?: string;
  /**
   * The merchant's mini-programs (16-digit app ids), besides `appId`: a mini-program payment may name one, sent as
   * `op_app_id` (Alipay refuses one not bound to the merchant in its product centre).
   */
  miniProgramAppIds?: readonly string[];
}

interface AlipayResult {
  code?: string;
  msg?: string;
  subCode?: string;
  subMsg?: string;
  qrCode?: string;
  tradeNo?: string;
  tradeStatus?: string;
  totalAmount?: string;
  sendPayDate?: string;
  gmtPayment?: string;
  /** alipay.trade.cancel: Y asks for the same cancel again. */
  retryFlag?: string;
  /** alipay.trade.cancel: what the cancel did to an existing trade, `close` (unpaid) or `refund` (paid). */
  action?: string;
  fundChange?: string;
  refundStatus?: string;
  refundAmount?: string;
  billDownloadUrl?: string;
}

/**
 * 40004 ("business failed") sub_codes that are definite refusals. Others under 40004, ACQ.SYSTEM_ERROR
 * first, mean "query or retry": they are unknown, never a failure.
 */
const DEFINITE_CREATE_REFUSALS = new Set([
  'ACQ.INVALID_PARAMETER',
  'ACQ.ACCESS_FORBIDDEN',
  'ACQ.TOTAL_FEE_EXCEED',
  'ACQ.CONTEXT_INCONSISTENT',
  'ACQ.TRADE_HAS_CLOSE',
  'ACQ.SELLER_BALANCE_NOT_ENOUGH',
]);
/**
 * 40004 sub_codes of alipay.trade.pay (当面付 条码支付) that say the buyer's code was not charged and will not
 * be: a bad or expired code, the buyer's funds or limits, a buyer Alipay blocks, a request Alipay will never
 * take. Everything else, ACQ.SYSTEM_ERROR ("call the query at once") first, is unknown. ACQ.TRADE_HAS_SUCCESS,
 * ACQ.TRADE_BUYER_NOT_MATCH and ACQ.CONTEXT_INCONSISTENT are left out on purpose: each says a trade of this
 * out_trade_no already exists, possibly paid, so only a query can tell.
 */
const DEFINITE_BARCODE_REFUSALS = new Set([
  'ACQ.PAYMENT_AUTH_CODE_INVALID',
  'ACQ.BUYER_BALANCE_NOT_ENOUGH',
  'ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH',
  'ACQ.ERROR_BALANCE_PAYMENT_DISABLE',
  'ACQ.BUYER_ENABLE_STATUS_FORBID',
  'ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR',
  'ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR',
  'ACQ.BEYOND_PAY_RESTRICTION',
  'ACQ.BEYOND_PER_RECEIPT_RESTRICTION',
  'ACQ.BUYER_SELLER_EQUAL',
  'ACQ.TRADE_HAS_CLOSE',
  'ACQ.INVALID_PARAMETER',
  'ACQ.ACCESS_FORBIDDEN',
  'ACQ.EXIST_FORBIDDEN_WORD',
  'ACQ.PARTNER_ERROR',
  'ACQ.TOTAL_FEE_EXCEED',
]);
/** An Alipay user id (买家支付宝用户号, `buyer_id`): 2088 and 12 digits. */
export const ALIPAY_USER_ID = /^2088\d{12}$/;
/**
 * An open_id (`buyer_open_id`), the id Alipay gives newer apps instead of the user id: letters and digits (Alipay's
 * example has 47 characters; the field takes up to 128, our API up to 64). An id of digits alone is a user id.
 */
export const ALIPAY_OPEN_ID = /^(?=.*[A-Za-z])[A-Za-z0-9]{16,128}$/;
const ALIPAY_APP_ID = /^\d{16}$/;

const DEFINITE_REFUND_REFUSALS = new Set([
  'ACQ.INVALID_PARAMETER',
  'ACQ.TRADE_NOT_EXIST',
  'ACQ.TRADE_STATUS_ERROR',
  'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL',
  'ACQ.TRADE_HAS_FINISHED',
  'ACQ.REFUND_FEE_ERROR',
]);

/**
 * Alipay through the official alipay-sdk (RSA2): precreate (QR), the page, WAP and app requests signed for the
 * buyer's side, trade.create for one buyer (my.tradePay), barcode pay and cancel (当面付), query, close, refunds,
 * bills and verified notifications (docs/pay-modes.md).
 * Responses are verified by the SDK (`validateSign`); notifications here, RSA2 only (the SDK's check lets the
 * form's own sign_type pick SHA-1, and throws on one it does not know). A query before the buyer scans answers ACQ.TRADE_NOT_EXIST:
 * that is "not paid yet". A timeout, a 5xx, a "system busy" or an unverifiable answer is `unknown`.
 *
 * With `appAuthToken` the app calls on behalf of an authorising merchant (第三方应用代调用): the token is sent as
 * the common parameter `app_auth_token` (outside biz_content, signed with the rest), and a notification must
 * name that merchant's app as `auth_app_id`.
 */
export class AlipayGateway extends PaymentGateway {
  readonly channel = 'alipay' as const;
  private readonly logger = new Logger(AlipayGateway.name);
  private readonly sdk: AlipaySdk;
  private readonly alipayPublicKey: KeyObject;

  constructor(private readonly settings: AlipaySettings) {
    super();
    // Half an ISV configuration would either call for nobody in particular or accept every merchant's notification.
    if (!settings.appAuthToken !== !settings.authAppId) {
      throw new Error(
        'AlipaySettings: appAuthToken and authAppId are set together (third-party app mode) or not at all',
      );
    }
    this.alipayPublicKey = alipayPublicKeyOf(settings.alipayPublicKeyPem);
    this.sdk = alipaySdkOf(settings);
  }

  /**
   * Every create mode: the QR code, the PC and phone cashier pages, the app SDK and my.tradePay. An `appId` must be
   * the app itself or, for a payment in an app, one of its mini-programs: the app pay is signed by the app's own key,
   * so it cannot be made for another app.
   */
  override payModeUnsupported(way: PayWay): string | undefined {
    // An app id not of Alipay's form is a bad input (payWayInvalid's 400), not an app this merchant lacks.
    if (way.appId === undefined || way.appId === this.settings.appId || !ALIPAY_APP_ID.test(way.appId))
      return undefined;
    if (way.mode === 'app') return `Alipay app payments are signed by this account's own app ${this.settings.appId}`;
    if (!(this.settings.miniProgramAppIds ?? []).includes(way.appId)) {
      return `app ${way.appId} is not one of this merchant's mini-programs (its app id and ALIPAY_MINI_PROGRAM_APP_IDS)`;
    }
    return undefined;
  }

  /** A payer is an Alipay user id (2088…) or an open_id; an app id is 16 digits. */
  override payWayInvalid(way: PayWay): { field: keyof PayWay; message: string } | undefined {
    if ((way.mode === 'in_app' || way.mode === 'mini_program') && buyerOf(way.payerId) === undefined) {
      return {
        field: 'payerId',
        message: "payerId must be the buyer's Alipay user id (2088 and 12 digits) or open_id (letters and digits)",
      };
    }
    if (way.appId !== undefined && !ALIPAY_APP_ID.test(way.appId)) {
      return { field: 'appId', message: 'appId must be an Alipay app id (16 digits)' };
    }
    return undefined;
  }

  async createPayment(request: CreatePaymentRequest): Promise<CreatePaymentResult> {
    const way = request.way ?? { mode: 'standard' };
    const refused = this.payModeUnsupported(way) ?? this.payWayInvalid(way)?.message;
    if (refused) return { kind: 'rejected', code: 'MODE_UNSUPPORTED', message: refused };
    switch (way.mode) {
      case 'standard':
        return this.precreate(request);
      case 'pc_web':
      case 'mobile_web':
        return this.createPage(request, way);
      case 'app':
        return this.createApp(request);
      case 'in_app':
      case 'mini_program':
        return this.createForBuyer(request, way);
    }
  }

  /**
   * The buyer's browser goes to Alipay's cashier with the signed request itself (alipay.trade.page.pay on a PC,
   * alipay.trade.wap.pay on a phone): nothing is sent from here, so the result is immediate. Alipay knows the trade
   * only once the buyer acts on its page, until then its query and close answer ACQ.TRADE_NOT_EXIST, which `query`
   * reads as not paid and `close` as closed only after our expiry (time_expire is in the signed request).
   *
   * A GET URL (`redirect`), not the SDK's POST form: a URL works from a server redirect, `location.href` and an
   * in-app web view alike, and the merchant's page needs no HTML from us with a script that submits it. Alipay's
   * page APIs take the request as a GET query (pageExecute "GET"); the URL stays well under browsers' limits.
   */
  private createPage(request: CreatePaymentRequest, way: PayWay): CreatePaymentResult {
    const pc = way.mode === 'pc_web';
    const bizContent = {
      ...this.order(request),
      productCode: pc ? 'FAST_INSTANT_TRADE_PAY' : 'QUICK_WAP_WAY',
      // WAP: where the buyer goes on leaving Alipay's page before paying; our return page shows the status.
      ...(!pc && way.returnUrl ? { quitUrl: way.returnUrl } : {}),
    };
    return this.signLocally(way.mode, () => {
      const url = this.sdk.pageExec(pc ? 'alipay.trade.page.pay' : 'alipay.trade.wap.pay', 'GET', {
        bizContent,
        notifyUrl: this.settings.notifyUrl,
        ...(way.returnUrl ? { returnUrl: way.returnUrl } : {}),
        ...this.isvParams(),
      });
      return { type: 'redirect', url };
    });
  }

  /**
   * alipay.trade.app.pay: the signed order string the merchant's app hands the Alipay app SDK (`payV2` /
   * `payOrder`); Alipay makes the trade when the buyer confirms in its app, so, as for the page modes, nothing is
   * sent from here and the query answers ACQ.TRADE_NOT_EXIST until then.
   */
  private createApp(request: CreatePaymentRequest): CreatePaymentResult {
    return this.signLocally('app', () => {
      const orderString = this.sdk.sdkExec('alipay.trade.app.pay', {
        bizContent: { ...this.order(request), productCode: 'QUICK_MSECURITY_PAY' },
        notifyUrl: this.settings.notifyUrl,
        ...this.isvParams(),
      });
      return { type: 'alipay_order_string', orderString };
    });
  }

  /**
   * alipay.trade.create (JSAPI_PAY), a real call: the trade for one buyer (`buyer_id` 2088… or `buyer_open_id`),
   * paid by `my.tradePay({ tradeNO })` in a mini-program or AlipayJSBridge `tradePay` in a page inside Alipay. A
   * mini-program other than the app itself is named as `op_app_id`. Answered as the precreate is: only a listed
   * refusal rejects, anything else is unknown.
   */
  private async createForBuyer(request: CreatePaymentRequest, way: PayWay): Promise<CreatePaymentResult> {
    const buyer = buyerOf(way.payerId);
    const opAppId = way.appId && way.appId !== this.settings.appId ? way.appId : undefined;
    const result = await this.exec('alipay.trade.create', {
      notifyUrl: this.settings.notifyUrl,
      bizContent: {
        ...this.order(request),
        productCode: 'JSAPI_PAY',
        ...(buyer?.kind === 'user_id' ? { buyerId: buyer.id } : { buyerOpenId: buyer?.id }),
        ...(opAppId ? { opAppId } : {}),
      },
    });
    if ('unknown' in result) return { kind: 'unknown', reason: result.unknown };
    if (result.code === '10000' && result.tradeNo) {
      return {
        kind: 'created',
        credential: { type: 'alipay_trade_no', tradeNo: result.tradeNo },
        gatewayTradeNo: result.tradeNo,
      };
    }
    if (result.code === '40004' && DEFINITE_CREATE_REFUSALS.has(result.subCode ?? '')) {
      return { kind: 'rejected', code: result.subCode ?? '40004', message: result.subMsg ?? '' };
    }
    return { kind: 'unknown', reason: this.describe(result) };
  }

  /** What every create sends: our number, the amount in yuan (at the edge), the subject and our expiry. */
  private order(request: CreatePaymentRequest) {
    return {
      outTradeNo: request.paymentNo,
      totalAmount: fenToYuan(request.amountFen),
      subject: request.description.slice(0, 256),
      timeExpire: beijingTimestamp(request.expiresAt),
    };
  }

  /** ISV mode: `app_auth_token` beside the other common parameters, signed with them (alipay-sdk snake-cases it). */
  private isvParams(): { appAuthToken?: string } {
    return this.settings.appAuthToken ? { appAuthToken: this.settings.appAuthToken } : {};
  }

  /**
   * A request signed here for the buyer's side to take to Alipay. Signing fails only on our own key, before anything
   * exists at Alipay: nothing can be paid, so it is a refusal, never an unknown.
   */
  private signLocally(mode: string, sign: () => PayCredential): CreatePaymentResult {
    try {
      return { kind: 'created', credential: sign() };
    } catch (error) {
      this.logger.error(`${mode}: signing failed: ${(error as Error).message.slice(0, 200)}`);
      return { kind: 'rejected', code: 'SIGN_FAILED', message: `the ${mode} request could not be signed` };
    }
  }

  private async precreate(request: CreatePaymentRequest): Promise<CreatePaymentResult> {
    const result = await this.exec('alipay.trade.precreate', {
      notifyUrl: this.settings.notifyUrl,
      bizContent: this.order(request),
    });
    if ('unknown' in result) return { kind: 'unknown', reason: result.unknown };
    if (result.code === '10000' && result.qrCode)
      return { kind: 'created', credential: { type: 'code_url', codeUrl: result.qrCode } };
    if (result.code === '40004' && DEFINITE_CREATE_REFUSALS.has(result.subCode ?? '')) {
      return { kind: 'rejected', code: result.subCode ?? '40004', message: result.subMsg ?? '' };
    }
    return {
      kind: 'unknown',
      reason: `${result.code ?? '?'} ${result.subCode ?? ''} ${result.subMsg ?? result.msg ?? ''}`.trim(),
    };
  }

  async query(paymentNo: string): Promise<GatewayResult> {
    const result = await this.exec('alipay.trade.query', { bizContent: { outTradeNo: paymentNo } });
    if ('unknown' in result) return { kind: 'unknown', reason: result.unknown };
    if (result.code === '40004' && result.subCode === 'ACQ.TRADE_NOT_EXIST') return { kind: 'not_paid' };
    if (result.code !== '10000') return { kind: 'unknown', reason: `${result.code ?? '?'} ${result.subCode ?? ''}` };
    return this.resultOf(result.tradeStatus, result.tradeNo, result.totalAmount, result.sendPayDate);
  }

  async close({ paymentNo, expiresAt }: { paymentNo: string; expiresAt: Date }): Promise<CloseResult> {
    const result = await this.exec('alipay.trade.close', { bizContent: { outTradeNo: paymentNo } });
    if ('unknown' in result) return { kind: 'unknown', reason: result.unknown };
    if (result.code === '10000') return { kind: 'closed' };
    if (result.subCode === 'ACQ.TRADE_STATUS_ERROR') {
      const state = await this.query(paymentNo);
      if (state.kind === 'paid') return { kind: 'paid' };
      if (state.kind === 'closed') return { kind: 'closed' };
    }
    // ACQ.TRADE_NOT_EXIST: the buyer has not scanned, so there is nothing to close, but the QR code stays
    // payable until its timeExpire (our expiry). Only after that is "not there" a confirmed close.
    const lapsed = this.now().getTime() >= expiresAt.getTime() + EXPIRY_MARGIN_MS;
    if (result.subCode === 'ACQ.TRADE_NOT_EXIST' && lapsed) return { kind: 'closed' };
    return { kind: 'unknown', reason: `${result.code ?? '?'} ${result.subCode ?? ''}` };
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    const result = await this.exec('alipay.trade.refund', {
      bizContent: {
        outTradeNo: request.paymentNo,
        refundAmount: fenToYuan(request.refundFen),
        outRequestNo: request.refundNo, // makes a repeated request the same refund
        refundReason: request.reason.slice(0, 256),
      },
    });
    if ('unknown' in result) return { kind: 'unknown', reason: result.unknown };
    if (result.code === '10000') {
      // fund_change Y: the money moved now. N: not by this call (an earlier identical request, or still
      // pending): only the refund query can say which.
      if (result.fundChange === 'Y') return { kind: 'succeeded', gatewayRefundNo: request.refundNo };
      const confirmed = await this.queryRefund(request);
      return confirmed.kind === 'not_found' ? { kind: 'processing' } : confirmed;
    }
    if (result.code === '40004' && DEFINITE_REFUND_REFUSALS.has(result.subCode ?? '')) {
      return { kind: 'rejected', code: result.subCode ?? '40004', message: result.subMsg ?? '' };
    }
    return { kind: 'unknown', reason: `${result.code ?? '?'} ${result.subCode ?? ''}` };
  }

  async queryRefund(refund: { paymentNo: string; refundNo: string }): Promise<RefundResult> {
    const result = await this.exec('alipay.trade.fastpay.refund.query', {
      bizContent: { outTradeNo: refund.paymentNo, outRequestNo: refund.refundNo },
    });
    if ('unknown' in result) return { kind: 'unknown', reason: result.unknown };
    if (result.code !== '10000') return { kind: 'unknown', reason: `${result.code ?? '?'} ${result.subCode ?? ''}` };
    if (result.refundStatus === 'REFUND_SUCCESS') return { kind: 'succeeded', gatewayRefundNo: refund.refundNo };
    // An empty answer: Alipay has no such refund (yet; Alipay asks to wait 10 s before querying a new one).
    if (!result.refundAmount) return { kind: 'not_found' };
    return { kind: 'processing' };
  }

  /** Barcode payments work for the app's own merchant and, with app_auth_token, for an authorising one. */
  override barcodeUnsupported(): string | undefined {
    return undefined;
  }

  /**
   * alipay.trade.pay with scene bar_code: 10000 paid; 10003 the buyer is asked to confirm (a password), poll
   * the query; 20000 or any unlisted 40004 unknown (query, then cancel). Only a listed 40004 sub_code refuses.
   */
  override async payByCode(request: BarcodePayRequest): Promise<BarcodePayResult> {
    const result = await this.exec('alipay.trade.pay', {
      notifyUrl: this.settings.notifyUrl,
      bizContent: {
        outTradeNo: request.paymentNo,
        scene: 'bar_code',
        authCode: request.authCode,
        productCode: 'FACE_TO_FACE_PAYMENT',
        subject: request.description.slice(0, 256),
        totalAmount: fenToYuan(request.amountFen),
        storeId: request.terminal?.storeId,
        terminalId: request.terminal?.deviceId,
      },
    });
    if ('unknown' in result) return { kind: 'unknown', reason: result.unknown };
    if (result.code === '10000') {
      const paid = this.resultOf('TRADE_SUCCESS', result.tradeNo, result.totalAmount, result.gmtPayment);
      // A success without the trade's number or amount cannot be booked: the query will tell.
      if (paid.kind === 'paid') return paid;
      return { kind: 'unknown', reason: `10000: ${paid.kind === 'unknown' ? paid.reason : paid.kind}` };
    }
    if (result.code === '10003') return { kind: 'paying', reason: `10003 ${result.msg ?? ''}`.trim() };
    if (result.code === '40004' && DEFINITE_BARCODE_REFUSALS.has(result.subCode ?? '')) {
      return { kind: 'refused', code: result.subCode ?? '40004', message: result.subMsg ?? '' };
    }
    return { kind: 'unknown', reason: this.describe(result) };
  }

  /**
   * alipay.trade.cancel: Alipay closes the trade if unpaid and refunds it in full if paid (`action` close or
   * refund). `retry_flag` Y asks for the same cancel again, whatever the code. A success without `action` is a
   * trade Alipay does not have (no `action`: "未查询到交易，或接口调用失败", and the call succeeded): the pay
   * call never reached it, and is not re-sent, so nothing can be taken. Every other answer (20000,
   * ACQ.SYSTEM_ERROR, ACQ.TRADE_CANCEL_TIME_OUT...) is unknown: nothing here says where the money is.
   */
  override async reverse(payment: { paymentNo: string; gatewayTradeNo: string | null }): Promise<ReverseResult> {
    const result = await this.exec('alipay.trade.cancel', {
      bizContent: { outTradeNo: payment.paymentNo, tradeNo: payment.gatewayTradeNo ?? undefined },
    });
    if ('unknown' in result) return { kind: 'unknown', reason: result.unknown };
    if (result.retryFlag === 'Y') return { kind: 'again', reason: `retry_flag Y: ${this.describe(result)}` };
    if (result.code !== '10000') return { kind: 'unknown', reason: this.describe(result) };
    switch (result.action) {
      case 'close':
        return { kind: 'closed' };
      case undefined:
        return { kind: 'absent' };
      case 'refund':
        return { kind: 'refunded', gatewayTradeNo: result.tradeNo ?? payment.gatewayTradeNo ?? undefined };
      default:
        return { kind: 'unknown', reason: `cancel action ${result.action}` };
    }
  }

  private describe(result: AlipayResult): string {
    return `${result.code ?? '?'} ${result.subCode ?? ''} ${result.subMsg ?? result.msg ?? ''}`
      .replace(/ +/g, ' ')
      .trim();
  }

  parseNotification(notification: RawNotification): Promise<GatewayNotification> {
    const refuse = (message: string, reason: RejectionReason) =>
      Promise.reject(new NotificationRejected(message, reason));
    // Values as decoded from the form, empty ones dropped (Alipay's rule); a parameter twice is not Alipay's.
    const fields: Record<string, string> = Object.create(null) as Record<string, string>;
    const seen = new Set<string>();
    for (const [key, value] of new URLSearchParams(notification.rawBody.toString('utf8'))) {
      if (seen.has(key)) return refuse(`parameter ${JSON.stringify(key.slice(0, 40))} appears twice`, 'malformed');
      seen.add(key);
      if (value !== '') fields[key] = value;
    }
    switch (verifyNotificationSign(fields, this.alipayPublicKey)) {
      case 'sign_type':
        return refuse(`sign_type ${JSON.stringify(fields.sign_type.slice(0, 20))} is not RSA2`, 'signature');
      case 'signature':
        return refuse('bad signature', 'signature');
      case 'ok':
        break;
    }
    if (fields.app_id !== this.settings.appId) return refuse(`notification for app_id ${fields.app_id}`, 'merchant');
    // app_id is the ISV's app, the same for every merchant it serves; auth_app_id says which merchant's trade it is.
    // (A merchant's own app gets auth_app_id too, equal to app_id: it is checked only in ISV mode.)
    if (this.settings.appAuthToken && fields.auth_app_id !== this.settings.authAppId) {
      return refuse(`notification for auth_app_id ${fields.auth_app_id ?? '(none)'}`, 'merchant');
    }
    // Alipay asks merchants to check seller_id too: one app can collect for several sellers.
    if (this.settings.sellerId && fields.seller_id !== this.settings.sellerId) {
      return refuse(`notification for seller_id ${fields.seller_id ?? '(none)'}`, 'merchant');
    }
    if (!fields.out_trade_no) return refuse('notification without out_trade_no', 'malformed');
    return Promise.resolve({
      kind: 'payment',
      paymentNo: fields.out_trade_no,
      result: this.resultOf(fields.trade_status, fields.trade_no, fields.total_amount, fields.gmt_payment),
      // Signed with the rest, and the same on every resend of this notification.
      notificationId: fields.notify_id && fields.notify_id.length <= 64 ? fields.notify_id : undefined,
    });
  }

  acknowledge(outcome: { accepted: true } | { accepted: false; reason: string }): GatewayAck {
    // Exactly `success` stops Alipay's resends (8 over about 25 h); anything else asks for another.
    return outcome.accepted
      ? { status: 200, headers: { 'content-type': 'text/plain' }, body: 'success' }
      : { status: 400, headers: { 'content-type': 'text/plain' }, body: 'fail' };
  }

  private resultOf(status?: string, tradeNo?: string, totalAmount?: string, paidAt?: string): GatewayResult {
    switch (status) {
      case 'TRADE_SUCCESS':
      case 'TRADE_FINISHED': {
        const paidAmountFen = totalAmount ? yuanToFen(totalAmount) : undefined;
        if (!tradeNo || paidAmountFen === undefined)
          return { kind: 'unknown', reason: 'paid trade without trade_no or amount' };
        return {
          kind: 'paid',
          gatewayTradeNo: tradeNo,
          paidAmountFen,
          paidAt: fromBeijingTimestamp(paidAt) ?? this.now(),
        };
      }
      case 'WAIT_BUYER_PAY':
        return { kind: 'not_paid' };
      case 'TRADE_CLOSED':
        return { kind: 'closed' };
      default:
        return { kind: 'unknown', reason: `trade_status ${String(status)}` };
    }
  }

  private now(): Date {
    return this.settings.now?.() ?? new Date();
  }

  /**
   * The day's trade bill: `alipay.data.dataservice.bill.downloadurl.query` names a short-lived URL of a zip;
   * the detail CSV inside (GBK) lists 交易 (payment) and 退款 (refund, negative amounts) rows.
   */
  async fetchStatement(billDate: string): Promise<StatementResult> {
    const result = await this.exec('alipay.data.dataservice.bill.downloadurl.query', {
      bizContent: { billType: 'trade', billDate },
    });
    if ('unknown' in result) return { kind: 'unknown', reason: result.unknown };
    // Alipay's documents name BILL_NOT_EXIST; integrations see isp.bill_not_exist. Both mean "no bill".
    if (/bill_not_exist/i.test(result.subCode ?? '')) return { kind: 'empty' };
    if (result.code !== '10000' || !result.billDownloadUrl) {
      return { kind: 'unknown', reason: `bill url: ${result.code ?? '?'} ${result.subCode ?? ''}` };
    }
    let files: Record<string, Uint8Array>;
    try {
      const response = await fetch(result.billDownloadUrl, {
        signal: AbortSignal.timeout(this.settings.timeoutMs * 3),
      });
      if (response.status !== 200) return { kind: 'unknown', reason: `bill download: HTTP ${response.status}` };
      files = unzipSync(new Uint8Array(await response.arrayBuffer()));
    } catch (error) {
      return { kind: 'unknown', reason: `bill download: ${(error as Error).message}` };
    }
    // Entry names are GBK bytes in the zip; pick the detail file by its content, not its name.
    const gbk = new TextDecoder('gbk');
    const detail = Object.values(files)
      .map((bytes) => gbk.decode(bytes))
      .find((text) => text.includes(`${BILL_COLUMNS.tradeNo},${BILL_COLUMNS.outTradeNo}`));
    if (detail === undefined) return { kind: 'unknown', reason: 'bill zip has no detail file' };
    const lines: StatementLine[] = [];
    for (const row of parseBillDetail(detail)) {
      const paymentNo = row[BILL_COLUMNS.outTradeNo] ?? '';
      const amountFen = yuanToFen((row[BILL_COLUMNS.amount] ?? '').replace(/^-/, ''));
      if (amountFen === undefined) return { kind: 'unknown', reason: `bill line ${paymentNo}: no amount` };
      const gatewayTradeNo = row[BILL_COLUMNS.tradeNo] ?? '';
      const at = fromBeijingTimestamp(row['完成时间']);
      if (row[BILL_COLUMNS.type] === '交易') lines.push({ kind: 'payment', paymentNo, gatewayTradeNo, amountFen, at });
      else if (row[BILL_COLUMNS.type] === '退款') {
        const refundNo = row[BILL_COLUMNS.refundRequestNo] ?? '';
        lines.push({ kind: 'refund', paymentNo, refundNo, gatewayRefundNo: gatewayTradeNo, amountFen });
      }
    }
    return { kind: 'statement', lines };
  }

  private async exec(method: string, params: Record<string, unknown>): Promise<AlipayResult | { unknown: string }> {
    // alipay-sdk snake-cases appAuthToken into the common parameter app_auth_token: signed, sent in the URL.
    const { appAuthToken } = this.settings;
    try {
      return await this.sdk.exec(method, appAuthToken ? { ...params, appAuthToken } : params, { validateSign: true });
    } catch (error) {
      this.logger.warn(`${method}: ${(error as Error).message.slice(0, 200)}`);
      return { unknown: `${method}: ${(error as Error).message.slice(0, 200)}` };
    }
  }
}

/**
 * The official client as every server call of ours uses it (the adapter's and the buyer-identity exchange's): the
 * app's PKCS#8 key signs RSA2, `exec` goes to `gatewayUrl` (the SDK's `endpoint` is only for its v3 API) and answers
 * come back camel-cased.
 */
export function alipaySdkOf(
  settings: Pick<AlipaySettings, 'appId' | 'appPrivateKeyPem' | 'alipayPublicKeyPem' | 'gatewayUrl' | 'timeoutMs'>,
): AlipaySdk {
  return new AlipaySdk({
    appId: settings.appId,
    privateKey: settings.appPrivateKeyPem,
    keyType: 'PKCS8',
    alipayPublicKey: settings.alipayPublicKeyPem,
    gateway: settings.gatewayUrl,
    timeout: settings.timeoutMs,
    camelcase: true,
  });
}

/** The buyer a payer id names: an Alipay user id (buyer_id) or an open_id (buyer_open_id); undefined: neither. */
function buyerOf(payerId: string | undefined): { kind: 'user_id' | 'open_id'; id: string } | undefined {
  if (payerId === undefined) return undefined;
  if (ALIPAY_USER_ID.test(payerId)) return { kind: 'user_id', id: payerId };
  if (ALIPAY_OPEN_ID.test(payerId)) return { kind: 'open_id', id: payerId };
  return undefined;
}
