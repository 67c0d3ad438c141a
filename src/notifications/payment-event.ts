import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Fen } from '../common/money';
import type { Channel } from '../gateways/gateway.types';

/**
 * The contract partner systems code against (docs/asyncapi.yaml says the same in AsyncAPI).
 * Exchange, routing keys, body and headers here must match that document exactly.
 */
export const PAYMENT_EVENTS_EXCHANGE = 'payment.events';
export const DEAD_LETTER_EXCHANGE = 'payment.events.dlx';
export const DEAD_LETTER_QUEUE = 'payment-center.dead-letters';
export const SIGNATURE_HEADER = 'x-pc-signature';
export const partnerQueue = (partner: string) => `partner.${partner}`;
/**
 * A partner restricted to some applications (PARTNERS `applications`) has its queue bound here instead of to
 * `payment.events`: a fanout exchange of its own, to which the relay sends only the events it admits.
 */
export const partnerExchange = (partner: string) => `payment.events.partner.${partner}`;

export const PAYMENT_EVENT_TYPES = [
  'payment.succeeded',
  'payment.failed',
  'payment.closed',
  'payment.needs_review',
  'payment.refund_started',
  'payment.refunded',
  'payment.refund_failed',
  'payment.refund_needs_review',
] as const;
export type PaymentEventType = (typeof PAYMENT_EVENT_TYPES)[number];

export interface PaymentEventBody {
  /** Unique per event (UUID); also the AMQP messageId. Deduplicate on it. */
  id: string;
  type: PaymentEventType;
  occurredAt: string;
  /** The payment's version after this change: drop an event whose version is not above the one you have. */
  version: number;
  /**
   * The number of this event among all events of the payment's order (its payments and their refunds),
   * from 1, in the order their changes committed: a partner that tracks orders knows which event is newer
   * across the order's payments (after a channel switch).
   */
  orderSequence: number;
  payment: {
    paymentNo: string;
    orderNo: string;
    channel: Channel;
    amountFen: Fen;
    currency: 'CNY';
    status: string;
    gatewayTradeNo: string | null;
    paidAmountFen: Fen | null;
    paidAt: string | null;
    closedAt: string | null;
    /** The application the payment belongs to (its order's); null for payments made before applications existed. */
    applicationId: string | null;
  };
  /** Set on the payment.refund_* events: the refund that changed. */
  refund?: {
    refundNo: string;
    kind: 'REQUESTED' | 'LATE_PAYMENT' | 'DUPLICATE_PAYMENT' | 'REVERSAL';
    amountFen: Fen;
    reason: string;
    status: 'REFUNDING' | 'REFUNDED' | 'REFUND_FAILED' | 'NEEDS_REVIEW';
    gatewayRefundNo: string | null;
    refundedAt: string | null;
    /** Everything refunded on this payment so far (REFUNDED refunds), this one included once it succeeded. */
    paymentRefundedFen: Fen;
  };
}

/** The payment fields an event is made from, as the payment row holds them (a payment entity is one). */
export interface PaymentFacts extends Omit<PaymentEventBody['payment'], 'paidAt' | 'closedAt'> {
  paidAt: Date | null;
  closedAt: Date | null;
  version: number;
}

/** The refund fields an event is made from (a refund entity is one), with the payment's refunded total. */
export interface RefundFacts extends Omit<NonNullable<PaymentEventBody['refund']>, 'status' | 'refundedAt'> {
  status: string;
  refundedAt: Date | null;
}

const ANNOUNCED_REFUND_STATUSES: readonly string[] = ['REFUNDING', 'REFUNDED', 'REFUND_FAILED', 'NEEDS_REVIEW'];

/**
 * A refund partners hear about. One in review is announced once (payment.refund_needs_review: still unsettled,
 * an operator decides), then again when it settles.
 */
export function isAnnouncedRefundStatus(status: string): boolean {
  return ANNOUNCED_REFUND_STATUSES.includes(status);
}

/** Which payment statuses business systems are told about, and under which routing key. */
export function eventTypeForStatus(status: string): PaymentEventType | null {
  switch (status) {
    case 'PAID':
      return 'payment.succeeded';
    case 'FAILED':
      return 'payment.failed';
    case 'CLOSED':
      return 'payment.closed';
    case 'NEEDS_REVIEW':
      return 'payment.needs_review';
    default:
      return null; // CREATED, PAYING, CLOSING: not settled, nothing to tell
  }
}

/**
 * The `payment` of an event, from the payment as business applications see it and the application it belongs
 * to, in the documented key order (new fields go last: partners verify the exact bytes, and some compare
 * bodies). Orders' own check builds events it never publishes, without the application.
 */
export function eventPayment(
  payment: Omit<PaymentEventBody['payment'], 'applicationId'>,
  applicationId: string | null = null,
): PaymentEventBody['payment'] {
  return {
    paymentNo: payment.paymentNo,
    orderNo: payment.orderNo,
    channel: payment.channel,
    amountFen: payment.amountFen,
    currency: payment.currency,
    status: payment.status,
    gatewayTradeNo: payment.gatewayTradeNo,
    paidAmountFen: payment.paidAmountFen,
    paidAt: payment.paidAt,
    closedAt: payment.closedAt,
    applicationId,
  };
}

/**
 * The application of an event's payment, from its stored body; null when it belongs to none, or when the body
 * predates the field (an event written by an older version, still in the outbox during a deploy).
 */
export function applicationOfEvent(body: string): string | null {
  const parsed = JSON.parse(body) as { payment?: { applicationId?: unknown } };
  const applicationId = parsed.payment?.applicationId;
  return typeof applicationId === 'string' ? applicationId : null;
}

/**
 * `x-pc-signature: t=<unix seconds>,<keyId>=<hex HMAC-SHA256(secret, "<t>.<body>")>[,<keyId2>=…]`.
 * One message to `payment.events` reaches every partner bound to its routing key, so it carries one signature
 * per partner (one sent to a restricted partner's own exchange, that partner's only);
 * each partner checks the one under its own key id (during a rotation, two of its key ids).
 */
export function signatureHeader(
  timestamp: number,
  body: Buffer,
  keys: readonly { keyId: string; secret: string }[],
): string {
  const parts = keys.map(({ keyId, secret }) => `${keyId}=${hmac(secret, timestamp, body)}`);
  return [`t=${timestamp}`, ...parts].join(',');
}

function hmac(secret: string, timestamp: number, body: Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** Signatures older than this are refused; the admin retry re-signs with a fresh timestamp. */
export const SIGNATURE_TOLERANCE_SECONDS = 24 * 3600;

/**
 * Whether the header carries a valid, fresh signature under any of `keys`: a partner's current key and, during a
 * rotation, its second one (an event signed before the swap may still be queued when the new key signs).
 */
export function verifySignature(
  header: string | undefined,
  body: Buffer,
  keys: readonly { keyId: string; secret: string }[],
  nowSeconds: number,
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
): boolean {
  if (!header) return false;
  const fields = new Map<string, string>();
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const timestamp = Number(fields.get('t'));
  if (!Number.isSafeInteger(timestamp)) return false;
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  return keys.some((key) => {
    const given = fields.get(key.keyId);
    if (!given) return false;
    const expected = Buffer.from(hmac(key.secret, timestamp, body), 'hex');
    const actual = Buffer.from(given, 'hex');
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  });
}

/** AMQP topic matching (`*` one word, `#` zero or more): which partners a routing key reaches. */
export function topicMatches(pattern: string, routingKey: string): boolean {
  const p = pattern.split('.');
  const k = routingKey.split('.');
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === '#') return match(i + 1, j) || (j < k.length && match(i, j + 1));
    if (j === k.length) return false;
    return (p[i] === '*' || p[i] === k[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}
