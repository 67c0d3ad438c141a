/**
 * The payment state machine as data. Every status change of a payment goes through
 * PaymentStateService.apply(), which looks the event up here under a row lock.
 *
 *   CREATED ──START──▶ PAYING ──PAID_CONFIRMED──▶ PAID
 *                        │ ├──FAILED_CONFIRMED──▶ FAILED
 *                        │ └──CLOSE_REQUESTED──▶ CLOSING ──CLOSED_CONFIRMED──▶ CLOSED
 *                        ├──REVIEW_REQUIRED──▶ NEEDS_REVIEW (an operator or a later definite answer decides)
 *                        └──REVERSED_CONFIRMED──▶ CLOSED (a barcode trade reversed at the vendor)
 *
 * "The money wins": a definite paid answer moves any not-yet-paid state to PAID (a buyer can pay in the
 * last second before a close); keeping only one paid payment per order is the intent's job.
 */
export const PAYMENT_STATUSES = ['CREATED', 'PAYING', 'PAID', 'FAILED', 'CLOSING', 'CLOSED', 'NEEDS_REVIEW'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const PAYMENT_EVENTS = [
  'START',
  'PAID_CONFIRMED',
  'FAILED_CONFIRMED',
  'CLOSE_REQUESTED',
  'CLOSED_CONFIRMED',
  'REVIEW_REQUIRED',
  'REVERSED_CONFIRMED',
] as const;
export type PaymentEventType = (typeof PAYMENT_EVENTS)[number];

/** A cell: the next status, `ignore` (a repeated or stale event: no write), or `illegal` (a caller's bug). */
export type Transition = PaymentStatus | 'ignore' | 'illegal';

export const PAYMENT_TRANSITIONS: Readonly<Record<PaymentStatus, Readonly<Record<PaymentEventType, Transition>>>> = {
  CREATED: {
    START: 'PAYING',
    PAID_CONFIRMED: 'PAID',
    FAILED_CONFIRMED: 'FAILED',
    CLOSE_REQUESTED: 'CLOSED',
    CLOSED_CONFIRMED: 'CLOSED',
    REVIEW_REQUIRED: 'NEEDS_REVIEW',
    REVERSED_CONFIRMED: 'CLOSED',
  },
  PAYING: {
    START: 'ignore',
    PAID_CONFIRMED: 'PAID',
    FAILED_CONFIRMED: 'FAILED',
    CLOSE_REQUESTED: 'CLOSING',
    CLOSED_CONFIRMED: 'CLOSED',
    REVIEW_REQUIRED: 'NEEDS_REVIEW',
    REVERSED_CONFIRMED: 'CLOSED',
  },
  PAID: {
    START: 'illegal',
    PAID_CONFIRMED: 'ignore',
    FAILED_CONFIRMED: 'ignore',
    CLOSE_REQUESTED: 'ignore',
    CLOSED_CONFIRMED: 'ignore',
    REVIEW_REQUIRED: 'ignore',

    // Money a reverse returned is recorded as its reversal refund (PaymentStateService.recordReversal).
    REVERSED_CONFIRMED: 'ignore',
  },
  FAILED: {
    START: 'illegal',
    PAID_CONFIRMED: 'PAID',
    FAILED_CONFIRMED: 'ignore',
    CLOSE_REQUESTED: 'ignore',
    CLOSED_CONFIRMED: 'ignore',
    // Money that arrived but cannot be applied as paid (wrong amount, another trade) must not be dropped.
    REVIEW_REQUIRED: 'NEEDS_REVIEW',
    REVERSED_CONFIRMED: 'ignore',
  },
  CLOSING: {
    START: 'illegal',
    PAID_CONFIRMED: 'PAID',
    FAILED_CONFIRMED: 'FAILED',
    CLOSE_REQUESTED: 'ignore',
    CLOSED_CONFIRMED: 'CLOSED',
    REVIEW_REQUIRED: 'NEEDS_REVIEW',
    REVERSED_CONFIRMED: 'CLOSED',
  },
  CLOSED: {
    START: 'illegal',
    PAID_CONFIRMED: 'PAID',
    FAILED_CONFIRMED: 'ignore',
    CLOSE_REQUESTED: 'ignore',
    CLOSED_CONFIRMED: 'ignore',
    REVIEW_REQUIRED: 'NEEDS_REVIEW',
    REVERSED_CONFIRMED: 'ignore',
  },
  NEEDS_REVIEW: {
    START: 'illegal',
    PAID_CONFIRMED: 'PAID',
    FAILED_CONFIRMED: 'FAILED',
    CLOSE_REQUESTED: 'CLOSING',
    CLOSED_CONFIRMED: 'CLOSED',
    REVIEW_REQUIRED: 'ignore',
    REVERSED_CONFIRMED: 'CLOSED',
  },
};

export type Decision = { kind: 'move'; to: PaymentStatus } | { kind: 'ignore' } | { kind: 'illegal' };

export function decide(from: PaymentStatus, event: PaymentEventType): Decision {
  const cell = PAYMENT_TRANSITIONS[from][event];
  switch (cell) {
    case 'ignore':
      return { kind: 'ignore' };
    case 'illegal':
      return { kind: 'illegal' };
    default:
      return { kind: 'move', to: cell };
  }
}

/**
 * A status no event moves a payment out of (PAID: money received stays received; a refund is a row of its
 * own). A payment read in it, with or without its lock, is as it will stay.
 */
export function isFinal(status: PaymentStatus): boolean {
  return PAYMENT_EVENTS.every((event) => decide(status, event).kind !== 'move');
}

/** States in which the vendor may still take the buyer's money for this payment. */
export function mayStillBePaid(status: PaymentStatus): boolean {
  switch (status) {
    case 'CREATED':
    case 'PAYING':
    case 'CLOSING':
    case 'NEEDS_REVIEW':
      return true;
    case 'PAID':
    case 'FAILED':
    case 'CLOSED':
      return false;
  }
}
