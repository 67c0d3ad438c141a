import type {
  BarcodePayRequest,
  BarcodePayResult,
  Channel,
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
  StatementResult,
} from './gateway.types';

/**
 * The port every channel implements (WeChat Pay v3, Alipay, UnionPay 5.1.0). Adapters speak the vendor's
 * wire protocol and money format; out of them come only our result types. An adapter never throws for a
 * vendor or network failure: it answers `unknown`, because only a definite vendor answer may change money.
 */
export abstract class PaymentGateway {
  abstract readonly channel: Channel;

  abstract createPayment(request: CreatePaymentRequest): Promise<CreatePaymentResult>;

  abstract query(paymentNo: string): Promise<GatewayResult>;

  /** Closes the trade so it can no longer be paid; the expiry is for channels whose trades lapse on their own. */
  abstract close(payment: { paymentNo: string; expiresAt: Date }): Promise<CloseResult>;

  abstract refund(request: RefundRequest): Promise<RefundResult>;

  /** Alipay and UnionPay find a refund by its payment too, so both numbers are given. */
  abstract queryRefund(refund: { paymentNo: string; refundNo: string }): Promise<RefundResult>;

  /** The vendor's statement of trades and refunds for a day (`YYYY-MM-DD`, Beijing time), parsed. */
  abstract fetchStatement(billDate: string): Promise<StatementResult>;

  /** Verifies the signature (and decrypts) a callback; throws a typed error when it is forged or malformed. */
  abstract parseNotification(notification: RawNotification): Promise<GatewayNotification>;

  /**
   * Why this adapter does not offer `way.mode` (or the app `way.appId` names is not one of the account's), or
   * undefined when it does: a `422`. Checked before a payment is written. Barcode payments have their own check
   * (`barcodeUnsupported`).
   */
  payModeUnsupported(way: PayWay): string | undefined {
    return way.mode === 'standard' ? undefined : `${this.channel} ${way.mode} payments are not offered by this adapter`;
  }

  /**
   * The input of `way` this vendor would refuse, named (a payer id of the wrong form, a mode's input missing), or
   * undefined: a `400` naming the field, before anything is written. Called only for a mode the adapter offers.
   */
  payWayInvalid(_way: PayWay): { field: keyof PayWay; message: string } | undefined {
    return undefined;
  }

  /**
   * Why this adapter takes no buyer's payment codes, or undefined when it does. Checked before a barcode
   * payment is written, so a counter on an account without it gets a clear refusal and nothing changes.
   */
  barcodeUnsupported(): string | undefined {
    return `${this.channel} barcode payments are not supported by this adapter`;
  }

  /** Charges the buyer's payment code. Called once per payment: a lost answer is queried, never re-sent. */
  payByCode(_request: BarcodePayRequest): Promise<BarcodePayResult> {
    return Promise.resolve({ kind: 'refused', code: 'BARCODE_UNSUPPORTED', message: this.barcodeUnsupported() ?? '' });
  }

  /**
   * Whether a query tells a reversed trade from a paid one (WeChat REVOKED, Alipay TRADE_CLOSED). Recovery believes
   * a `paid` query between two reverses only then; UnionPay may still show a reversed consume as paid.
   */
  readonly queryShowsReversal: boolean = true;

  /** Reverses a barcode trade the buyer may or may not have paid (see ReverseResult). */
  reverse(payment: { paymentNo: string; gatewayTradeNo: string | null }): Promise<ReverseResult> {
    return Promise.resolve({
      kind: 'unknown',
      reason: `reverse of ${payment.paymentNo}: ${this.barcodeUnsupported()}`,
    });
  }

  abstract acknowledge(outcome: { accepted: true } | { accepted: false; reason: string }): GatewayAck;
}

/**
 * Every trade is created with our expiry, after which the vendor refuses to take money for it. So a trade
 * the vendor does not know, asked about this long after its expiry (clock skew between us and the vendor),
 * can no longer be paid: a close that finds nothing is then a confirmed close.
 */
export const EXPIRY_MARGIN_MS = 60_000;

/** Injection token for the list of configured adapters. */
export const PAYMENT_GATEWAYS = Symbol('PAYMENT_GATEWAYS');
