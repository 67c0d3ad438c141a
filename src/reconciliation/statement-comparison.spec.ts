import { compareStatement, type Ledger, type LedgerPayment, type LedgerRefund } from './statement-comparison';

function ledger(
  payments: LedgerPayment[],
  refunds: LedgerRefund[] = [],
  thatDay: { paid?: string[]; refunded?: string[] } = {},
): Ledger {
  return {
    payments: new Map(payments.map((p) => [p.paymentNo, p])),
    refunds: new Map(refunds.map((r) => [r.refundNo, r])),
    paidThatDay: thatDay.paid ?? payments.filter((p) => p.status === 'PAID').map((p) => p.paymentNo),
    refundedThatDay: thatDay.refunded ?? refunds.filter((r) => r.status === 'REFUNDED').map((r) => r.refundNo),
  };
}

const paid = (paymentNo: string, amountFen = 2500): LedgerPayment => ({
  paymentNo,
  status: 'PAID',
  amountFen,
  paidAmountFen: amountFen,
});
const line = (paymentNo: string, amountFen = 2500) => ({
  kind: 'payment' as const,
  paymentNo,
  gatewayTradeNo: `t-${paymentNo}`,
  amountFen,
});
const refundLine = (paymentNo: string, refundNo: string, amountFen: number) => ({
  kind: 'refund' as const,
  paymentNo,
  refundNo,
  gatewayRefundNo: `g-${refundNo}`,
  amountFen,
});

describe('compareStatement', () => {
  it('agreeing books: no difference', () => {
    const refund = { refundNo: 'R1', paymentNo: 'P1', status: 'REFUNDED', amountFen: 500 };
    expect(compareStatement([line('P1'), refundLine('P1', 'R1', 500)], ledger([paid('P1')], [refund]))).toEqual([]);
  });

  it('a line we never saw settle is a lost payment; a line for no payment of ours is unknown', () => {
    const paying = { paymentNo: 'P2', status: 'PAYING', amountFen: 2500, paidAmountFen: null };
    const kinds = compareStatement([line('P2'), line('P9')], ledger([paying])).map((d) => [d.kind, d.paymentNo]);
    expect(kinds).toEqual([
      ['PAID_NOT_RECORDED', 'P2'],
      ['UNKNOWN_TRADE', 'P9'],
    ]);
  });

  it('PAID here that day but missing from the statement; an amount that differs', () => {
    const differences = compareStatement([line('P3', 2400)], ledger([paid('P3'), paid('P4')]));
    expect(differences).toEqual([
      expect.objectContaining({ kind: 'AMOUNT_MISMATCH', paymentNo: 'P3', oursFen: 2500, theirsFen: 2400 }),
      expect.objectContaining({ kind: 'MISSING_AT_GATEWAY', paymentNo: 'P4', oursFen: 2500, theirsFen: null }),
    ]);
  });

  it('refunds: not recorded here, unknown, missing at the vendor, different amount', () => {
    const refunds: LedgerRefund[] = [
      { refundNo: 'R1', paymentNo: 'P1', status: 'REFUNDING', amountFen: 500 },
      { refundNo: 'R2', paymentNo: 'P1', status: 'REFUNDED', amountFen: 600 },
      { refundNo: 'R3', paymentNo: 'P1', status: 'REFUNDED', amountFen: 700 },
    ];
    const lines = [line('P1'), refundLine('P1', 'R1', 500), refundLine('P1', 'R3', 701), refundLine('P1', 'R8', 1)];
    const kinds = compareStatement(lines, ledger([paid('P1')], refunds)).map((d) => `${d.kind}:${d.refundNo}`);
    expect(kinds).toEqual([
      'REFUND_NOT_RECORDED:R1',
      'REFUND_AMOUNT_MISMATCH:R3',
      'UNKNOWN_REFUND:R8',
      'REFUND_MISSING_AT_GATEWAY:R2',
    ]);
  });
});
