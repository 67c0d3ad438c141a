import type { BarcodeState } from './barcode-scenarios';

/** A trade as the sandbox vendor holds it. In memory: a sandbox restart forgets every trade. */
export interface SandboxTrade {
  channel: 'wechat' | 'alipay' | 'unionpay';
  outTradeNo: string;
  /**
   * Whose trade it is (tradeOwner): only that merchant's queries, closes, refunds and bills see it, as each
   * vendor scopes out_trade_no / orderId to a merchant.
   */
  owner: string;
  /** WeChat: the mchid that called (a service provider's sp_mchid for partner trades); UnionPay: merId. */
  mchid: string;
  /** WeChat: the appid (sp_appid); Alipay: the app that created the trade. */
  appid: string;
  /** A WeChat partner trade: the sub-merchant (特约商户) the service provider made it for. */
  wechatPartner?: { subMchid: string; subAppid?: string };
  /** Alipay: the merchant the trade is for (auth_app_id, seller_id): the app itself, or the one that authorised it. */
  alipay?: { authAppId: string; sellerId: string };
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
  /**
   * Alipay: the buyer scanned the QR code and has not paid yet. Only then does Alipay know a precreate trade
   * (WAIT_BUYER_PAY, with its trade_no): before, its query and close answer ACQ.TRADE_NOT_EXIST.
   */
  scanned?: boolean;
  /** What the buyer scans in the QR flows: WeChat's code_url, Alipay's qr_code. */
  codeUrl?: string;
  /** A WeChat in-app (JSAPI / mini-program) trade: its prepay_id and the buyer it was made for. */
  inApp?: { prepayId: string; openid: string };
  /** A WeChat APP trade: its prepay_id, which the merchant's app hands WeChat's app SDK. */
  app?: { prepayId: string };
  /** A WeChat H5 trade: paid on the page its h5_url opens (the sandbox cashier). */
  h5?: boolean;
  /** A trade paid in a phone browser (UnionPay channelType 08): the cashier shows a phone's page. */
  phone?: boolean;
  /** Where the vendor's page sends the buyer back after paying (UnionPay frontUrl), linked from the cashier. */
  returnUrl?: string;
  /** A UnionPay app-control trade (appTransReq): the tn the merchant's app hands UnionPay's SDK. */
  unionpayTn?: string;
  /**
   * An Alipay trade the buyer's side brought (page pay on a PC, WAP pay on a phone, the app SDK's order string) or
   * made for one buyer (alipay.trade.create, paid by my.tradePay): which, the merchant's return_url (page and WAP),
   * and the buyer (buyer_id or buyer_open_id) who alone may pay a created one.
   */
  alipayFlow?: { kind: 'page' | 'wap' | 'app' | 'jsapi'; returnUrl?: string; buyer?: string };
  /** Where the vendor's page sends the buyer back once paid (Alipay: return_url with its signed return parameters). */
  returnTo?: string;
  /** A barcode (付款码) trade: its scenario and where it stands (barcode-scenarios.ts). */
  barcode?: BarcodeState;
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
  /**
   * Refund requests are refused with this vendor code and take no money, e.g. the merchant's balance is short:
   * WeChat answers it as `code` (NOT_ENOUGH 403, FREQUENCY_LIMITED 429, SYSTEM_ERROR 500, another 400), Alipay as
   * 40004 with it as sub_code (ACQ.SELLER_BALANCE_NOT_ENOUGH, ACQ.SYSTEM_ERROR), UnionPay as the respCode
   * (03, 04, 05: in process).
   */
  refundRefusal?: string;
  /**
   * The merchant's balance is short: refunds are refused with the vendor's balance code (WeChat NOT_ENOUGH,
   * Alipay ACQ.SELLER_BALANCE_NOT_ENOUGH) until it is lifted. UnionPay refunds are not affected.
   */
  balanceShort?: boolean;
}

/**
 * The owner of a trade, from the vendor's own ids: a WeChat merchant (or a service provider's sub-merchant), an
 * Alipay seller, a UnionPay merId.
 */
export const tradeOwner = {
  wechat: (mchid: string) => `wechat:${mchid}`,
  wechatPartner: (spMchid: string, subMchid: string) => `wechat:${spMchid}/${subMchid}`,
  alipay: (sellerId: string) => `alipay:${sellerId}`,
  unionpay: (merId: string) => `unionpay:${merId}`,
};

export class SandboxTrades {
  /** By owner and number: two merchants may use the same out_trade_no. */
  private readonly trades = new Map<string, SandboxTrade>();
  /** The latest trade of each number: the buyer's side (cashier, pay) names a trade by number alone. */
  private readonly byNumber = new Map<string, SandboxTrade>();
  private globalFaults: SandboxFaults = {};
  private readonly tradeFaults = new Map<string, SandboxFaults>();

  /** The trade of this number the buyer sees (the latest made, should two merchants share a number). */
  get(outTradeNo: string): SandboxTrade | undefined {
    return this.byNumber.get(outTradeNo);
  }

  /** This owner's trade of this number: what a merchant's query, close or refund finds. */
  find(owner: string, outTradeNo: string | undefined): SandboxTrade | undefined {
    return outTradeNo === undefined ? undefined : this.trades.get(key(owner, outTradeNo));
  }

  all(): IterableIterator<SandboxTrade> {
    return this.trades.values();
  }

  /** The trades of these owners. */
  *of(owners: readonly string[]): Generator<SandboxTrade> {
    for (const trade of this.trades.values()) if (owners.includes(trade.owner)) yield trade;
  }

  put(trade: SandboxTrade): void {
    this.trades.set(key(trade.owner, trade.outTradeNo), trade);
    this.byNumber.set(trade.outTradeNo, trade);
  }

  /** A refund of this owner's trades by the merchant's refund number. */
  findRefund(
    owner: string,
    refundNo: string | undefined,
  ): { trade: SandboxTrade; refund: NonNullable<SandboxTrade['refunds']>[number] } | undefined {
    if (refundNo === undefined) return undefined;
    for (const trade of this.of([owner])) {
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

function key(owner: string, outTradeNo: string): string {
  return `${owner}\n${outTradeNo}`;
}

export { beijingDate } from '../src/gateways/wire/vendor-formats';
