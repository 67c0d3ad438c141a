import type { BarcodePayResult, GatewayResult, ReverseResult } from '../../gateways/gateway.types';

/**
 * The barcode (付款码) protocol as data: what each vendor answer means at each step of a payment made with a
 * buyer's payment code. The vendors' rule, the same at WeChat Pay, Alipay and UnionPay, is never to call an
 * undecided payment failed: query for a while, then reverse (WeChat 撤销, Alipay cancel, UnionPay cancel or
 * reversal), and repeat the reverse until the vendor says the trade is closed or its money returned.
 *
 *   pay ── paid ───────────▶ PAID
 *       ── refused ────────▶ FAILED (a definite refusal only: wrong or expired code, insufficient funds)
 *       ── paying/unknown ─▶ query every BARCODE_QUERY_EVERY for BARCODE_QUERY_FOR
 *   query ── paid ▶ PAID · failed ▶ FAILED · closed ▶ CLOSED · not_paid/unknown ▶ ask again, or reverse
 *   reverse ── closed ▶ reversed (CLOSED; PAID with its reversal refund when the money had arrived)
 *           ── refunded ▶ reversed, the money returned (PAID with its reversal refund)
 *           ── again ▶ reverse again at once · unknown ▶ reverse again later (the payment stays open)
 *
 * PaymentRecovery and the barcode start look the answer up here; nothing else decides. The table is
 * injected (BARCODE_PROTOCOL) so that a test can run the machinery with a step removed and see it caught.
 */
export type BarcodeAction =
  /** The buyer paid: PAID_CONFIRMED with the vendor's facts. */
  | 'paid'
  /** A definite refusal: FAILED_CONFIRMED. */
  | 'failed'
  /** The vendor closed the trade on its own (or an earlier reverse went through): CLOSED_CONFIRMED. */
  | 'closed'
  /** Undecided: query again while the window lasts, then reverse. */
  | 'ask_again'
  /** The reverse went through: nothing taken, or what was taken (a paid payment) went back. */
  | 'reversed'
  /** The reverse went through and the vendor says it returned a payment the buyer had made. */
  | 'reversed_refunded'
  /** The vendor asks for the reverse to be called again: at once. */
  | 'reverse_again'
  /** The reverse got no definite answer: again later; the payment stays open until the vendor decides. */
  | 'reverse_later';

export interface BarcodeProtocol {
  pay: Readonly<Record<BarcodePayResult['kind'], BarcodeAction>>;
  query: Readonly<Record<GatewayResult['kind'], BarcodeAction>>;
  reverse: Readonly<Record<ReverseResult['kind'], BarcodeAction>>;
}

export const BARCODE_PROTOCOL_TABLE: BarcodeProtocol = {
  pay: { paid: 'paid', refused: 'failed', paying: 'ask_again', unknown: 'ask_again' },
  query: { paid: 'paid', failed: 'failed', closed: 'closed', not_paid: 'ask_again', unknown: 'ask_again' },
  reverse: {
    closed: 'reversed',
    refunded: 'reversed_refunded',
    // No trade: closed, but not reversed — money that surfaces for it later is refunded, not taken as returned.
    absent: 'closed',
    again: 'reverse_again',
    unknown: 'reverse_later',
  },
};

/** Injection token of the table (BARCODE_PROTOCOL_TABLE unless a test provides another). */
export const BARCODE_PROTOCOL = Symbol('BARCODE_PROTOCOL');

export interface BarcodeTiming {
  queryEveryMs: number;
  queryForMs: number;
  reverseNotBeforeMs: number;
}

/** Reverse attempts without a definite answer that are repeated every BARCODE_QUERY_EVERY before the long tail. */
export const PROMPT_REVERSE_ATTEMPTS = 10;

/** When the vendor asked for the reverse to be repeated ("call again"): at once, after this pause. */
export const REVERSE_AGAIN_AFTER_MS = 1000;

/**
 * After an undecided answer (`ask_again`) at `now` for a payment whose pay call started at `payAt`: query
 * again, or reverse. Queries come every BARCODE_QUERY_EVERY until the window (BARCODE_QUERY_FOR, never shorter
 * than BARCODE_REVERSE_NOT_BEFORE) ends; an answer that comes later than one more query would fit is followed by
 * the reverse, at the earliest BARCODE_REVERSE_NOT_BEFORE after the pay.
 */
export function afterUndecided(now: Date, payAt: Date, timing: BarcodeTiming): { query: Date } | { reverse: Date } {
  const windowEnds = payAt.getTime() + Math.max(timing.queryForMs, timing.reverseNotBeforeMs);
  const next = now.getTime() + timing.queryEveryMs;
  if (next <= windowEnds) return { query: new Date(next) };
  return { reverse: reverseAt(now, payAt, timing) };
}

/** A reverse is due now, but never sooner than BARCODE_REVERSE_NOT_BEFORE after the pay call. */
export function reverseAt(now: Date, payAt: Date, timing: Pick<BarcodeTiming, 'reverseNotBeforeMs'>): Date {
  return new Date(Math.max(now.getTime(), payAt.getTime() + timing.reverseNotBeforeMs));
}

/** The next reverse after `done` attempts, the last of which answered `action`. */
export function nextReverseAt(
  now: Date,
  done: number,
  action: 'reverse_again' | 'reverse_later',
  timing: Pick<BarcodeTiming, 'queryEveryMs'>,
  longTailMs: readonly number[],
): Date {
  // "Call again" at once, a few times; a vendor that keeps asking (a buyer left on the password screen) backs off.
  if (action === 'reverse_again' && done < PROMPT_REVERSE_ATTEMPTS)
    return new Date(now.getTime() + REVERSE_AGAIN_AFTER_MS);
  if (done < PROMPT_REVERSE_ATTEMPTS) return new Date(now.getTime() + timing.queryEveryMs);
  const tail = longTailMs[Math.min(done - PROMPT_REVERSE_ATTEMPTS, longTailMs.length - 1)] ?? 60_000;
  return new Date(now.getTime() + tail);
}
