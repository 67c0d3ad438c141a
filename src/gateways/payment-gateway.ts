import type {
  Channel,
  CloseResult,
  CreatePaymentRequest,
  CreatePaymentResult,
  GatewayAck,
  GatewayNotification,
  GatewayResult,
  RawNotification,
  RefundRequest,
  RefundResult,
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
