import type { Fen } from '../common/money';

export const CHANNELS = ['wechat', 'alipay', 'unionpay'] as const;
export type Channel = (typeof CHANNELS)[number];

/**
 * How the buyer pays. `standard`: the channel's QR code (WeChat Native, Alipay precreate) or PC page (UnionPay);
 * `barcode`: a payment code scanned at a counter; `in_app`: a page opened inside the vendor's app (WeChat JSAPI);
 * `mini_program`: a mini-program (WeChat `wx.requestPayment`); `mobile_web`: a phone browser outside the vendor's
 * app (WeChat H5), which the buyer leaves for the vendor's page.
 */
export const PAY_MODES = ['standard', 'barcode', 'in_app', 'mini_program', 'mobile_web'] as const;
export type PayMode = (typeof PAY_MODES)[number];

/**
 * What the buyer needs to pay: a QR code URL (native flows), a page to open, a form to post, or the parameters
 * of WeChat's in-app call (`WeixinJSBridge` getBrandWCPayRequest / `wx.requestPayment`), signed with the
 * merchant key over `appId\ntimeStamp\nnonceStr\npackage\n`.
 */
export type PayCredential =
  | { type: 'code_url'; codeUrl: string }
  | { type: 'redirect'; url: string }
  | { type: 'form'; action: string; fields: Record<string, string> }
  | {
      type: 'wechat_jsapi';
      appId: string;
      timeStamp: string;
      nonceStr: string;
      package: string;
      signType: 'RSA';
      paySign: string;
    };

/** Who pays inside the vendor's app: the buyer's id with the vendor (WeChat openid) under an app id. */
export interface InAppPayer {
  mode: 'in_app' | 'mini_program';
  /** WeChat: the buyer's openid under `appId`. */
  payerId: string;
  /** The app the buyer is in when it is not the account's own (a mini-program's app id). */
  appId?: string;
}

export interface CreatePaymentRequest {
  /** Our payment number; the vendor's merchant order number (out_trade_no / orderId). */
  paymentNo: string;
  amountFen: Fen;
  currency: 'CNY';
  description: string;
  expiresAt: Date;
  /** In-app modes: who pays, inside which app. Absent: the standard QR code or page. */
  payer?: InAppPayer;
  /** `mobile_web`: the buyer's phone browser, as the vendor wants it for its risk checks. */
  mobileWeb?: { clientIp: string };
  /** Aborted when the PaymentCenter stops waiting: pass it to the HTTP client. */
  signal?: AbortSignal;
}

export type CreatePaymentResult =
  | { kind: 'created'; credential: PayCredential; gatewayTradeNo?: string }
  /** The vendor definitely refused the order (bad parameters, merchant disabled...): nothing can be paid. */
  | { kind: 'rejected'; code: string; message: string }
  /** Timeout, network error, 5xx: the order may or may not exist at the vendor. Never treat as failed. */
  | { kind: 'unknown'; reason: string };

/**
 * A payment at the counter: the merchant scanned the code the buyer shows in the vendor's app (付款码). The
 * code is a one-time credential: it is sent once, never stored, and never sent again (a lost answer is found
 * by querying, then the trade is reversed).
 */
export interface BarcodePayRequest {
  paymentNo: string;
  amountFen: Fen;
  currency: 'CNY';
  description: string;
  authCode: string;
  /** The counter, as the vendors want it for risk checks: the shop's store id and the scanning device. */
  terminal?: { storeId?: string; deviceId?: string };
  signal?: AbortSignal;
}

export type BarcodePayResult =
  | { kind: 'paid'; gatewayTradeNo: string; paidAmountFen: Fen; paidAt: Date }
  /** The vendor holds the trade and waits for the buyer (a password): query, then reverse. */
  | { kind: 'paying'; reason: string }
  /** A definite refusal: wrong or expired code, insufficient funds, a payer the vendor blocks. Nothing taken. */
  | { kind: 'refused'; code: string; message: string }
  /** No definite answer (timeout, system error, 20000): the buyer may have paid. Never treat as failed. */
  | { kind: 'unknown'; reason: string };

/**
 * The answer to reversing a barcode trade (WeChat 撤销, Alipay alipay.trade.cancel, UnionPay cancel/reversal):
 * the trade is closed and nothing was taken (`closed`; WeChat does not say whether money was taken, only
 * that whatever was is returned), it had been paid and the vendor returned the money (`refunded`), the
 * vendor asks to be called again (`again`: WeChat recall=Y, Alipay retry_flag=Y), or no definite answer.
 * `absent`: the vendor has no such trade (the pay never reached it): nothing to reverse, and nothing returned —
 * should money for it surface later, it was not returned by any reverse and must be refunded.
 */
export type ReverseResult =
  | { kind: 'closed' }
  | { kind: 'absent' }
  | { kind: 'refunded'; gatewayTradeNo?: string }
  | { kind: 'again'; reason: string }
  | { kind: 'unknown'; reason: string };

/** Our own view of a trade at the vendor. Vendor states never leave the adapter. */
export type GatewayResult =
  | { kind: 'paid'; gatewayTradeNo: string; paidAmountFen: Fen; paidAt: Date }
  | { kind: 'not_paid' }
  | { kind: 'closed' }
  | { kind: 'failed'; code: string; message: string }
  | { kind: 'unknown'; reason: string };

export type CloseResult = { kind: 'closed' } | { kind: 'paid' } | { kind: 'unknown'; reason: string };

export interface RefundRequest {
  paymentNo: string;
  refundNo: string;
  gatewayTradeNo: string;
  totalFen: Fen;
  refundFen: Fen;
  reason: string;
}

export type RefundResult =
  | { kind: 'succeeded'; gatewayRefundNo: string }
  | { kind: 'processing'; gatewayRefundNo?: string }
  /** The vendor definitely refused it: no money moved. */
  | { kind: 'rejected'; code: string; message: string }
  /** A query found no such refund yet: retry the refund with the *same* refund number, never a new one. */
  | { kind: 'not_found' }
  | { kind: 'unknown'; reason: string };

/** A vendor callback exactly as it reached us: the raw body is needed to verify signatures. */
export interface RawNotification {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
}

/**
 * What a refund notification says about the refund besides its result, to be compared with our refund row
 * before the result is believed: the amount refunded and the trade it refunds. Absent when the vendor's
 * message does not carry it.
 */
export interface RefundFacts {
  refundFen?: Fen;
  /** Our payment number (the vendor's out_trade_no). */
  paymentNo?: string;
  /** The vendor's number of the refunded trade (WeChat transaction_id, UnionPay origQryId). */
  gatewayTradeNo?: string;
}

/**
 * A verified notification in our terms. `notificationId` is the vendor's own id of the notification, covered
 * by its signature (WeChat `id`, "the notification's unique id"; Alipay `notify_id`, the same on every resend;
 * UnionPay sends none): what a replay of it is recognised by.
 */
export type GatewayNotification =
  | { kind: 'payment'; paymentNo: string; result: GatewayResult; notificationId?: string }
  | { kind: 'refund'; refundNo: string; result: RefundResult; facts: RefundFacts; notificationId?: string };

/** What to send back to the vendor so it stops (accepted) or keeps (rejected) resending. */
export interface GatewayAck {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One line of a vendor's daily statement (its bill), in our terms: a payment, or a refund of one. */
export type StatementLine =
  | { kind: 'payment'; paymentNo: string; gatewayTradeNo: string; amountFen: Fen; at?: Date }
  | { kind: 'refund'; paymentNo: string; refundNo: string; gatewayRefundNo: string; amountFen: Fen; at?: Date };

export type StatementResult =
  | { kind: 'statement'; lines: StatementLine[] }
  /** The vendor says there is no bill for that day: nothing was paid or refunded. */
  | { kind: 'empty' }
  /** The bill is not made yet (vendors publish the day's bill the next morning): try again later. */
  | { kind: 'not_ready'; reason: string }
  | { kind: 'unknown'; reason: string };
