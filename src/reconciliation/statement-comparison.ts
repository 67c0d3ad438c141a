import type { Fen } from '../common/money';
import type { StatementLine } from '../gateways/gateway.types';

/** Every way our ledger and a vendor's statement can disagree. */
export type DifferenceKind =
  /** Paid at the vendor, not PAID here: a lost payment. */
  | 'PAID_NOT_RECORDED'
  /** The vendor lists a trade we have no payment for. */
  | 'UNKNOWN_TRADE'
  /** PAID here on that day, absent from the vendor's statement. */
  | 'MISSING_AT_GATEWAY'
  /** Both know the payment; the amounts differ. */
  | 'AMOUNT_MISMATCH'
  /** Refunded at the vendor, not REFUNDED here. */
  | 'REFUND_NOT_RECORDED'
  /** The vendor lists a refund we have no refund for. */
  | 'UNKNOWN_REFUND'
  /** REFUNDED here on that day, absent from the vendor's statement. */
  | 'REFUND_MISSING_AT_GATEWAY'
  /** Both know the refund; the amounts differ. */
  | 'REFUND_AMOUNT_MISMATCH';

export interface LedgerPayment {
  paymentNo: string;
  status: string;
  amountFen: Fen;
  paidAmountFen: Fen | null;
}

export interface LedgerRefund {
  refundNo: string;
  paymentNo: string;
  status: string;
  amountFen: Fen;
}

/** Our side for one channel and day: every payment and refund a line names, and what we settled that day. */
export interface Ledger {
  payments: ReadonlyMap<string, LedgerPayment>;
  refunds: ReadonlyMap<string, LedgerRefund>;
  /** Payments PAID here whose paid time falls in the day. */
  paidThatDay: readonly string[];
  /** Refunds REFUNDED here whose refund time falls in the day. */
  refundedThatDay: readonly string[];
}

export interface Difference {
  kind: DifferenceKind;
  paymentNo: string;
  refundNo: string | null;
  oursFen: Fen | null;
  theirsFen: Fen | null;
  /** The statement line, when the vendor has one. */
  line: StatementLine | null;
}

/** Compares a statement with the ledger; pure, so every rule is unit-tested on its own. */
export function compareStatement(lines: readonly StatementLine[], ledger: Ledger): Difference[] {
  const differences: Difference[] = [];
  const listedPayments = new Set<string>();
  const listedRefunds = new Set<string>();
  for (const line of lines) {
    if (line.kind === 'payment') {
      listedPayments.add(line.paymentNo);
      const ours = ledger.payments.get(line.paymentNo);
      const base = { paymentNo: line.paymentNo, refundNo: null, theirsFen: line.amountFen, line };
      if (!ours) differences.push({ ...base, kind: 'UNKNOWN_TRADE', oursFen: null });
      else if (ours.status !== 'PAID')
        differences.push({ ...base, kind: 'PAID_NOT_RECORDED', oursFen: ours.amountFen });
      else if ((ours.paidAmountFen ?? ours.amountFen) !== line.amountFen) {
        differences.push({ ...base, kind: 'AMOUNT_MISMATCH', oursFen: ours.paidAmountFen ?? ours.amountFen });
      }
    } else {
      listedRefunds.add(line.refundNo);
      const ours = ledger.refunds.get(line.refundNo);
      // Some statements (UnionPay's) name only the refund: its payment is the one our refund belongs to.
      const base = {
        paymentNo: line.paymentNo || ours?.paymentNo || '',
        refundNo: line.refundNo,
        theirsFen: line.amountFen,
        line,
      };
      if (!ours) differences.push({ ...base, kind: 'UNKNOWN_REFUND', oursFen: null });
      else if (ours.amountFen !== line.amountFen) {
        differences.push({ ...base, kind: 'REFUND_AMOUNT_MISMATCH', oursFen: ours.amountFen });
      } else if (ours.status !== 'REFUNDED') {
        differences.push({ ...base, kind: 'REFUND_NOT_RECORDED', oursFen: ours.amountFen });
      }
    }
  }
  for (const paymentNo of ledger.paidThatDay) {
    if (listedPayments.has(paymentNo)) continue;
    const ours = ledger.payments.get(paymentNo);
    differences.push({
      kind: 'MISSING_AT_GATEWAY',
      paymentNo,
      refundNo: null,
      oursFen: ours ? (ours.paidAmountFen ?? ours.amountFen) : null,
      theirsFen: null,
      line: null,
    });
  }
  for (const refundNo of ledger.refundedThatDay) {
    if (listedRefunds.has(refundNo)) continue;
    const ours = ledger.refunds.get(refundNo);
    differences.push({
      kind: 'REFUND_MISSING_AT_GATEWAY',
      paymentNo: ours?.paymentNo ?? '',
      refundNo,
      oursFen: ours?.amountFen ?? null,
      theirsFen: null,
      line: null,
    });
  }
  return differences;
}
