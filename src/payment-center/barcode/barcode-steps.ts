import type { BarcodePayResult, GatewayResult, ReverseResult } from '../../gateways/gateway.types';
import type { PaymentEvent } from '../payment-state.service';
import { afterUndecided, type BarcodeProtocol, type BarcodeTiming, nextReverseAt, reverseAt } from './barcode-protocol';

/** A step of a barcode payment and the vendor's answer to it. */
export type BarcodeAnswer =
  | { step: 'pay'; result: BarcodePayResult }
  | { step: 'query'; result: GatewayResult }
  | { step: 'reverse'; result: ReverseResult };

/**
 * What follows an answer: ask again at a time, keeping the status (`at`); a state change (`event`; one to
 * CLOSING carries the reverse's due time as its `nextQueryAt`); or a reversal to record.
 */
export type BarcodeNext =
  | { at: Date; reason: string }
  | { event: PaymentEvent }
  | { reversal: { moneyReturned: boolean; gatewayTradeNo?: string } };

export interface BarcodeContext {
  /** When the pay call was made (the payment's creation). */
  payAt: Date;
  /** A pay call may still land at the vendor until then: never reverse before it. */
  callWindowEnds: Date;
  /** How long any call may still land after it was made: a reverse without an answer is not repeated sooner. */
  callWindowMs: number;
  /** Attempts of this step made so far, this one included. */
  attempt: number;
  now: Date;
  timing: BarcodeTiming;
  longTailMs: readonly number[];
}

/** One line for the attempt log and the payment's status reason. */
export function describeBarcode(answer: BarcodeAnswer): string {
  const { step, result } = answer;
  switch (result.kind) {
    case 'paid':
      return `${step}: paid (trade ${result.gatewayTradeNo}, ${result.paidAmountFen} fen)`;
    case 'paying':
      return `${step}: the buyer is asked to confirm (${result.reason})`;
    case 'refused':
      return `${step}: refused, ${result.code} ${result.message}`;
    case 'failed':
      return `${step}: failed, ${result.code} ${result.message}`;
    case 'not_paid':
      return `${step}: not paid yet`;
    case 'closed':
      return `${step}: closed at the vendor`;
    case 'refunded':
      return `${step}: reversed, the vendor returned the buyer's payment`;
    case 'absent':
      return `${step}: the vendor has no such trade`;
    case 'again':
      return `${step}: the vendor asks for it again (${result.reason})`;
    case 'unknown':
      return `${step}: no answer, ${result.reason}`;
  }
}

/**
 * The one reading of BARCODE_PROTOCOL: the table names the action, this says what the action does to the
 * payment. Every action is handled at every step, so a table that maps an answer elsewhere still runs.
 */
export function barcodeNext(protocol: BarcodeProtocol, answer: BarcodeAnswer, context: BarcodeContext): BarcodeNext {
  const action = lookUp(protocol, answer);
  const { result } = answer;
  const reason = describeBarcode(answer);
  const reverseDue = () =>
    new Date(
      Math.max(reverseAt(context.now, context.payAt, context.timing).getTime(), context.callWindowEnds.getTime()),
    );
  switch (action) {
    case 'paid':
      if (result.kind === 'paid') {
        const { gatewayTradeNo, paidAmountFen, paidAt } = result;
        return { event: { type: 'PAID_CONFIRMED', gatewayTradeNo, paidAmountFen, paidAt } };
      }
      return { at: reverseDue(), reason };
    case 'failed':
      return { event: { type: 'FAILED_CONFIRMED', reason } };
    case 'closed':
      return { event: { type: 'CLOSED_CONFIRMED' } };
    case 'ask_again': {
      if (answer.step === 'reverse') return { at: reverseLater(context, 'reverse_later'), reason };
      const next = afterUndecided(context.now, context.payAt, context.timing);
      if ('query' in next) return { at: next.query, reason };
      const closeAt = new Date(Math.max(next.reverse.getTime(), context.callWindowEnds.getTime()));
      return {
        event: {
          type: 'CLOSE_REQUESTED',
          reason: `undecided after the query window, reversing (${reason})`,
          nextQueryAt: closeAt,
        },
      };
    }
    case 'reversed':
      return { reversal: { moneyReturned: false } };
    case 'reversed_refunded':
      return {
        reversal: {
          moneyReturned: true,
          gatewayTradeNo: result.kind === 'refunded' ? result.gatewayTradeNo : undefined,
        },
      };
    case 'reverse_again':
    case 'reverse_later': {
      const at = answer.step === 'reverse' ? reverseLater(context, action) : reverseDue();
      if (answer.step === 'reverse') return { at, reason };
      return { event: { type: 'CLOSE_REQUESTED', reason: `reversing (${reason})`, nextQueryAt: at } };
    }
  }
}

/**
 * The next reverse. One without an answer waits at least for its own call's window: the repeat first queries the
 * trade (PaymentRecovery.reverse), which may be believed only once that reverse can no longer land.
 */
function reverseLater(context: BarcodeContext, action: 'reverse_again' | 'reverse_later'): Date {
  const next = nextReverseAt(context.now, context.attempt, action, context.timing, context.longTailMs).getTime();
  if (action === 'reverse_again') return new Date(next);
  return new Date(Math.max(next, context.now.getTime() + context.callWindowMs));
}

function lookUp(protocol: BarcodeProtocol, answer: BarcodeAnswer) {
  switch (answer.step) {
    case 'pay':
      return protocol.pay[answer.result.kind];
    case 'query':
      return protocol.query[answer.result.kind];
    case 'reverse':
      return protocol.reverse[answer.result.kind];
  }
}
