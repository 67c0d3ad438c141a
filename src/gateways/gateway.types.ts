import type { Fen } from '../common/money';

export const CHANNELS = ['wechat', 'alipay', 'unionpay'] as const;
export type Channel = (typeof CHANNELS)[number];

/**
 * How the buyer pays. `standard`: the channel's QR code (WeChat Native, Alipay precreate) or PC page (UnionPay);
 * `barcode`: a payment code scanned at a counter; `in_app`: a page opened inside the vendor's app (WeChat JSAPI,
 * Alipay JSAPI); `mini_program`: a mini-program (WeChat `wx.requestPayment`, Alipay `my.tradePay`); `mobile_web`: a
 * phone browser outside the vendor's app (WeChat H5, Alipay WAP, UnionPay 08), which the buyer leaves for the
 * vendor's page; `pc_web`: a PC browser sent to the vendor's page (Alipay page pay, UnionPay 07); `app`: the
 * merchant's own native app, through the vendor's app SDK (WeChat APP, Alipay APP, UnionPay's control `tn`).
 */
export const PAY_MODES = ['standard', 'barcode', 'in_app', 'mini_program', 'mobile_web', 'pc_web', 'app'] as const;
export type PayMode = (typeof PAY_MODES)[number];
/** The modes a pay request starts by creating a trade (a barcode payment charges a code instead). */
export type CreateMode = Exclude<PayMode, 'barcode'>;
/** The modes whose buyer leaves for the vendor's page and is sent back to our return page. */
export const PAGE_MODES: readonly CreateMode[] = ['mobile_web', 'pc_web'];
/** The modes that pay as a buyer known to the vendor (WeChat openid, Alipay buyer id / open_id). */
export const PAYER_MODES: readonly CreateMode[] = ['in_app', 'mini_program'];

/**
 * What the buyer needs to pay: a QR code URL (native flows), a page to open, a form to post, the parameters of
 * WeChat's in-app call (`WeixinJSBridge` getBrandWCPayRequest / `wx.requestPayment`, signed with the merchant key
 * over `appId\ntimeStamp\nnonceStr\npackage\n`), of WeChat's app SDK (`PayReq`, signed over
 * `appId\ntimeStamp\nnonceStr\nprepayId\n`), Alipay's app SDK order string, the Alipay trade number that
 * `my.tradePay` pays, or UnionPay's control number (`tn`) for its app SDK.
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
    }
  | {
      type: 'wechat_app';
      appId: string;
      partnerId: string;
      prepayId: string;
      package: 'Sign=WXPay';
      nonceStr: string;
      timeStamp: string;
      sign: string;
    }
  | { type: 'alipay_order_string'; orderString: string }
  | { type: 'alipay_trade_no'; tradeNo: string }
  | { type: 'unionpay_tn'; tn: string };

/**
 * How this trade is to be paid, as the adapter needs it: the mode and the inputs the mode takes. Checked before
 * anything is written (`PaymentGateway.payWayInvalid` and `payModeUnsupported`).
 */
export interface PayWay {
  mode: CreateMode;
  /** `in_app`, `mini_program`: the buyer's id with the vendor under the app it pays in (WeChat openid, Alipay
   *  buyer_id `2088…` or open_id). */
  payerId?: string;
  /** The app the buyer pays in when it is not the account's own: a mini-program, or a native app. */
  appId?: string;
  /** `mobile_web`: the buyer's IP address (WeChat H5 requires it; others may pass it on for risk checks). */
  clientIp?: string;
  /** Page modes: where the vendor sends the buyer back when done: our return page, never the merchant's. */
  returnUrl?: string;
}

export interface CreatePaymentRequest {
  /** Our payment number; the vendor's merchant order number (out_trade_no / orderId). */
  paymentNo: string;
  amountFen: Fen;
  currency: 'CNY';
  description: string;
  expiresAt: Date;
  /** How the buyer pays: the mode and its inputs; absent, the standard QR code or page. */
  way?: PayWay;
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
