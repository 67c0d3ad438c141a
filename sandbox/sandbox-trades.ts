/** A trade as the sandbox vendor holds it. In memory: a sandbox restart forgets every trade. */
export interface SandboxTrade {
  channel: 'wechat' | 'alipay' | 'unionpay';
  outTradeNo: string;
  mchid: string;
  appid: string;
  description: string;
  amountFen: number;
  notifyUrl: string;
  state: 'NOTPAY' | 'SUCCESS' | 'CLOSED';
  transactionId?: string;
  successTime?: string;
  /** UnionPay's txnTime of the consume. */
  txnTime?: string;
  /**
   * The trade's expiry as the merchant sent it (WeChat and Alipay time_expire, UnionPay payTimeout), shown on
   * the cashier. Alipay and UnionPay enforce it: after it an unpaid trade cannot be paid.
   */
  payTimeout?: Date;
  /** What the buyer scans in the QR flows: WeChat's code_url, Alipay's qr_code. */
  codeUrl?: string;
  refunds?: { refundNo: string; refundId: string; amountFen: number; at: string }[];
  /** When the buyer paid (ISO 8601): the statement day is its Beijing date. */
  paidAt?: string;
  notifications: { attempt: number; status: number | 'error'; at: string; reply?: string }[];
}

/** Faults a test or a demo turns on: globally, or for one trade by out_trade_no. */
export interface SandboxFaults {
  /** Notifications are not sent at all (the case only active query can save). */
  dropNotifications?: boolean;
  /** Each notification is sent this many times at once. */
  duplicateNotifications?: number;
  /** Wait before the first notification, in real milliseconds. */
  delayNotificationMs?: number;
  /** The notification is signed with a key the merchant does not know. */
  badSignature?: boolean;
  /** The notification reports this amount instead of the trade's. */
  wrongAmountFen?: number;
  /** create/query/close answer after this many milliseconds. */
  apiDelayMs?: number;
  /** create/query/close answer 500 SYSTEM_ERROR (WeChat), 20000 (Alipay), HTTP 500 (UnionPay). */
  apiError?: boolean;
  /** Hold first notifications until this many trades are waiting, then send them newest first. */
  reorderNotifications?: number;
  /** WeChat signs with an older platform certificate (hex serial) instead of its PUB_KEY_ID key; global for answers. */
  legacyPlatformCertificate?: boolean;
  /** The day's statement (bill) leaves this trade out. */
  statementOmit?: boolean;
  /** The day's statement shows this amount for the trade instead of what was paid. */
  statementAmountFen?: number;
  /** Alipay answers 40004 ACQ.SYSTEM_ERROR: a business-failure code that still means "retry". */
  systemError?: boolean;
}

export class SandboxTrades {
  private readonly trades = new Map<string, SandboxTrade>();
  private globalFaults: SandboxFaults = {};
  private readonly tradeFaults = new Map<string, SandboxFaults>();

  get(outTradeNo: string): SandboxTrade | undefined {
    return this.trades.get(outTradeNo);
  }

  all(): IterableIterator<SandboxTrade> {
    return this.trades.values();
  }

  put(trade: SandboxTrade): void {
    this.trades.set(trade.outTradeNo, trade);
  }

  findRefund(
    refundNo: string,
  ): { trade: SandboxTrade; refund: NonNullable<SandboxTrade['refunds']>[number] } | undefined {
    for (const trade of this.trades.values()) {
      const refund = trade.refunds?.find((r) => r.refundNo === refundNo);
      if (refund) return { trade, refund };
    }
    return undefined;
  }

  faultsFor(outTradeNo: string | undefined): SandboxFaults {
    return { ...this.globalFaults, ...(outTradeNo ? this.tradeFaults.get(outTradeNo) : undefined) };
  }

  /** The faults set for this trade and the global ones, apart (faultsFor merges them, the trade's winning). */
  faultsOf(outTradeNo: string | undefined): { trade: SandboxFaults; global: SandboxFaults } {
    const trade = outTradeNo ? this.tradeFaults.get(outTradeNo) : undefined;
    return { trade: { ...trade }, global: { ...this.globalFaults } };
  }

  setFaults(faults: SandboxFaults, outTradeNo?: string): void {
    if (outTradeNo) this.tradeFaults.set(outTradeNo, faults);
    else this.globalFaults = faults;
  }
}

export { beijingDate } from '../src/gateways/wire/vendor-formats';
