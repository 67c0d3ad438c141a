import type {
  BarcodePayRequest,
  BarcodePayResult,
  CloseResult,
  CreatePaymentResult,
  GatewayAck,
  GatewayNotification,
  GatewayResult,
  RefundResult,
  ReverseResult,
  StatementResult,
} from '../../src/gateways/gateway.types';
import { PaymentGateway } from '../../src/gateways/payment-gateway';

/** What the vendor does with the pay call: take it and answer, or never get it. */
export type PayChoice = 'paid' | 'paying' | 'unknown' | 'lost' | 'refused';
export type QueryChoice = 'truth' | 'unknown';
/** `silent`: the vendor reverses the trade but the answer is lost (unknown). */
export type ReverseChoice = 'done' | 'again' | 'unknown' | 'silent';

/** The vendor's truth about one trade, which the invariants are checked against. */
export interface VendorTrade {
  exists: boolean;
  /** The buyer was asked for a password and has not answered. */
  waiting: boolean;
  paid: boolean;
  refused: boolean;
  reversed?: 'closed' | 'refunded';
}

/**
 * A barcode vendor for property tests: one model trade per payment, answering each call as the test scripts it
 * (`next`) but always consistently with the model — a query never says paid for an unpaid trade, a reverse that
 * is done returns the buyer's money when there was any. Only the answers are scripted, never the facts.
 */
export class ScriptedBarcodeVendor extends PaymentGateway {
  readonly channel = 'wechat' as const;
  readonly trades = new Map<string, VendorTrade>();
  next: { pay: PayChoice; query: QueryChoice; reverse: ReverseChoice } = {
    pay: 'paying',
    query: 'truth',
    reverse: 'done',
  };

  override barcodeUnsupported(): string | undefined {
    return undefined;
  }

  trade(paymentNo: string): VendorTrade {
    let trade = this.trades.get(paymentNo);
    if (!trade) this.trades.set(paymentNo, (trade = { exists: false, waiting: false, paid: false, refused: false }));
    return trade;
  }

  override payByCode(request: BarcodePayRequest): Promise<BarcodePayResult> {
    const trade = this.trade(request.paymentNo);
    const choice = this.next.pay;
    if (choice !== 'lost') trade.exists = true;
    this.amounts.set(request.paymentNo, request.amountFen);
    switch (choice) {
      case 'paid':
        trade.paid = true;
        return Promise.resolve(this.paidAnswer(request.paymentNo, request.amountFen));
      case 'paying':
        trade.waiting = true;
        return Promise.resolve({ kind: 'paying', reason: 'USERPAYING' });
      case 'unknown':
        trade.waiting = true;
        return Promise.resolve({ kind: 'unknown', reason: 'SYSTEM_ERROR' });
      case 'lost':
        return Promise.resolve({ kind: 'unknown', reason: 'no answer' });
      case 'refused':
        trade.refused = true;
        return Promise.resolve({ kind: 'refused', code: 'NOT_ENOUGH', message: 'insufficient funds' });
    }
  }

  /** The buyer enters the password: a waiting trade not reversed is paid. */
  buyerPays(paymentNo: string): void {
    const trade = this.trade(paymentNo);
    if (trade.exists && trade.waiting && !trade.reversed && !trade.refused) {
      trade.waiting = false;
      trade.paid = true;
    }
  }

  /** What each trade is for: a later query reports it. */
  private readonly amounts = new Map<string, number>();

  override query(paymentNo: string): Promise<GatewayResult> {
    const trade = this.trade(paymentNo);
    if (this.next.query === 'unknown') return Promise.resolve({ kind: 'unknown', reason: 'SYSTEM_ERROR' });
    if (!trade.exists) return Promise.resolve({ kind: 'not_paid' });
    if (trade.reversed) return Promise.resolve({ kind: 'closed' });
    if (trade.refused) return Promise.resolve({ kind: 'failed', code: 'PAYERROR', message: 'refused' });
    if (trade.paid) return Promise.resolve(this.paidAnswer(paymentNo, this.amounts.get(paymentNo) ?? 0));
    return Promise.resolve({ kind: 'not_paid' });
  }

  override reverse(payment: { paymentNo: string }): Promise<ReverseResult> {
    const trade = this.trade(payment.paymentNo);
    const choice = this.next.reverse;
    if (choice === 'again') return Promise.resolve({ kind: 'again', reason: 'call again' });
    if (choice === 'unknown') return Promise.resolve({ kind: 'unknown', reason: 'SYSTEM_ERROR' });
    if (!trade.exists)
      return Promise.resolve(choice === 'silent' ? { kind: 'unknown', reason: 'lost' } : { kind: 'absent' });
    this.reverseNow(payment.paymentNo);
    if (choice === 'silent') return Promise.resolve({ kind: 'unknown', reason: 'the answer was lost' });
    return Promise.resolve(
      trade.reversed === 'refunded'
        ? { kind: 'refunded', gatewayTradeNo: `T-${payment.paymentNo}` }
        : { kind: 'closed' },
    );
  }

  /** The vendor reverses the trade: the money, if any, goes back to the buyer. */
  reverseNow(paymentNo: string): void {
    const trade = this.trade(paymentNo);
    if (!trade.reversed) trade.reversed = trade.paid ? 'refunded' : 'closed';
    trade.waiting = false;
  }

  private paidAnswer(paymentNo: string, amountFen: number) {
    this.amounts.set(paymentNo, amountFen);
    return { kind: 'paid' as const, gatewayTradeNo: `T-${paymentNo}`, paidAmountFen: amountFen, paidAt: new Date() };
  }

  // The rest of the port is not used by barcode payments.
  createPayment(): Promise<CreatePaymentResult> {
    return Promise.resolve({ kind: 'unknown', reason: 'not used' });
  }
  close(): Promise<CloseResult> {
    return Promise.resolve({ kind: 'unknown', reason: 'not used' });
  }
  refund(): Promise<RefundResult> {
    return Promise.resolve({ kind: 'unknown', reason: 'not used' });
  }
  queryRefund(): Promise<RefundResult> {
    return Promise.resolve({ kind: 'unknown', reason: 'not used' });
  }
  fetchStatement(): Promise<StatementResult> {
    return Promise.resolve({ kind: 'unknown', reason: 'not used' });
  }
  parseNotification(): Promise<GatewayNotification> {
    return Promise.reject(new Error('not used'));
  }
  acknowledge(): GatewayAck {
    return { status: 200, headers: {}, body: '' };
  }
}
