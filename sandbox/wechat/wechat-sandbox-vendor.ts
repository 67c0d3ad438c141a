import { Inject, Injectable } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import type { Request, Response } from 'express';
import { createHash, type KeyObject, randomBytes } from 'node:crypto';
import {
  encryptResource,
  newNonce,
  parseAuthorization,
  requestMessage,
  responseMessage,
  rsaSign,
  rsaVerify,
  toBeijingRfc3339,
  TRADE_BILL_COLUMNS,
  TRADE_BILL_SUMMARY,
  WECHATPAY_SCHEMA,
} from '../../src/gateways/wire/wechatpay.protocol';
import { type WechatMerchant, SandboxMerchants } from '../merchants/sandbox-merchants';
import { SANDBOX_SETTINGS, type SandboxSettings } from '../sandbox.settings';
import { type MerchantReply, postNotification, SandboxNotifier, sleep } from '../sandbox-notifier';
import { beijingDate, type SandboxFaults, type SandboxTrade, SandboxTrades } from '../sandbox-trades';
import { reverseBarcode, startBarcode } from '../barcode-scenarios';

/** WeChat Pay's resend intervals after an unacknowledged notification (15 sends over about 24 h). */
export const WECHAT_RESEND_SCHEDULE_MS = [
  15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600,
].map((s) => s * 1000);

type Refund = NonNullable<SandboxTrade['refunds']>[number];

/** A native order as the direct or the partner API received it, checked: who it is for and what it asks. */
export interface NativeOrder {
  owner: string;
  mchid: string;
  appid: string;
  wechatPartner?: SandboxTrade['wechatPartner'];
  outTradeNo?: string;
  description?: string;
  notifyUrl?: string;
  timeExpire?: string;
  total?: number;
  /** An in-app order (JSAPI, mini-program): the buyer's openid; answered with a prepay_id instead of a code URL. */
  openid?: string;
  /** An H5 order: the page the buyer's phone browser opens, answered as `h5_url`. */
  h5Url?: string;
  /** An APP order: answered with a prepay_id, which the merchant's app pays through WeChat's app SDK. */
  app?: boolean;
}

export { miniProgramAppIdOf, mobileAppIdOf } from '../../src/gateways/wire/sandbox-key-set';

/** The trade type WeChat reports in queries, notifications and bills (交易类型). */
function tradeTypeOf(trade: SandboxTrade): 'MICROPAY' | 'JSAPI' | 'APP' | 'MWEB' | 'NATIVE' {
  if (trade.barcode) return 'MICROPAY';
  if (trade.inApp) return 'JSAPI';
  if (trade.app) return 'APP';
  return trade.h5 ? 'MWEB' : 'NATIVE';
}

/** A code-pay request (付款码) as the direct API received it: the buyer's code and who the trade is for. */
export interface CodePayOrder {
  owner: string;
  mchid: string;
  appid: string;
  outTradeNo: string;
  description: string;
  total: number;
  authCode: string;
}

/** WeChat's user payment code: 18 digits starting 10–15 (10–14 mainland users, 15 Hong Kong). */
export const WECHAT_AUTH_CODE = /^1[0-5]\d{16}$/;

/**
 * WeChat Pay API v3 as the sandbox vendor, for the direct and the partner (service provider) controllers:
 * finds the merchant of a request by the mchid of its Authorization header and verifies the request with that
 * merchant's key, signs every answer and notification with that merchant's platform key, encrypts its
 * resources with its APIv3 key, and notifies like the vendor does.
 */
@Injectable()
export class WechatSandboxVendor {
  /** Bills handed out by download token, with the merchant that asked (kept in memory like every trade). */
  private readonly bills = new Map<string, { mchid: string; csv: Buffer }>();

  constructor(
    @Inject(SANDBOX_SETTINGS) private readonly settings: SandboxSettings,
    @Inject(SandboxTrades) private readonly trades: SandboxTrades,
    @Inject(SandboxNotifier) private readonly notifier: SandboxNotifier,
    @Inject(SandboxMerchants) private readonly merchants: SandboxMerchants,
  ) {}

  /**
   * The merchant named by `mchid` in the Authorization header, when the request is signed with its key
   * (serial, timestamp, signature); otherwise answers 401 SIGN_ERROR and returns undefined. A request signed
   * with one merchant's key but naming another's mchid fails here.
   */
  authenticate(req: RawBodyRequest<Request>, res: Response): WechatMerchant | undefined {
    const auth = parseAuthorization(req.headers.authorization);
    const merchant = this.merchants.wechat(auth?.mchid);
    const body = req.method === 'GET' ? '' : (req.rawBody?.toString('utf8') ?? '');
    const valid =
      auth !== undefined &&
      merchant !== undefined &&
      auth.serial_no === merchant.record.merchantSerialNo &&
      Math.abs(Date.now() / 1000 - Number(auth.timestamp)) < 300 &&
      rsaVerify(
        requestMessage(req.method, req.originalUrl, auth.timestamp, auth.nonce_str, body),
        auth.signature,
        merchant.merchantPublicKey,
      );
    if (!valid) this.reply(res, merchant, 401, { code: 'SIGN_ERROR', message: 'signature verification failed' });
    return valid ? merchant : undefined;
  }

  async injectedApiFault(res: Response, merchant: WechatMerchant, outTradeNo: string | undefined): Promise<boolean> {
    const faults = this.trades.faultsFor(outTradeNo);
    if (faults.apiDelayMs) await sleep(faults.apiDelayMs);
    if (faults.apiError) {
      this.reply(res, merchant, 500, { code: 'SYSTEM_ERROR', message: 'system busy, retry' });
      return true;
    }
    return false;
  }

  /** Places a native order (or finds the same one again) and answers its code_url. */
  placeNative(res: Response, merchant: WechatMerchant, order: NativeOrder): void {
    const total = order.total;
    if (!order.outTradeNo || !order.notifyUrl || !Number.isSafeInteger(total) || (total ?? 0) <= 0) {
      return this.reply(res, merchant, 400, {
        code: 'PARAM_ERROR',
        message: 'out_trade_no, notify_url and amount.total are required',
      });
    }
    const existing = this.trades.find(order.owner, order.outTradeNo);
    if (existing && existing.state === 'SUCCESS')
      return this.reply(res, merchant, 400, { code: 'ORDERPAID', message: 'order paid' });
    if (existing && existing.state === 'CLOSED')
      return this.reply(res, merchant, 400, { code: 'ORDERCLOSED', message: 'order closed' });
    // The same out_trade_no with the same parameters gets the same code URL (or prepay_id).
    const codeUrl = `weixin://wxpay/bizpayurl?pr=${order.outTradeNo}`;
    const prepayId = `wx${createHash('sha256').update(`prepay:${order.owner}:${order.outTradeNo}`).digest('hex').slice(0, 32)}`;
    if (existing && order.openid && existing.inApp?.openid !== order.openid)
      return this.reply(res, merchant, 400, {
        code: 'INVALID_REQUEST',
        message: 'out_trade_no used for another payer',
      });
    if (!existing) {
      const expiresAt = order.timeExpire ? new Date(order.timeExpire) : undefined;
      this.trades.put({
        channel: 'wechat',
        outTradeNo: order.outTradeNo,
        owner: order.owner,
        mchid: order.mchid,
        appid: order.appid,
        ...(order.wechatPartner ? { wechatPartner: order.wechatPartner } : {}),
        description: order.description ?? '',
        amountFen: total as number,
        notifyUrl: order.notifyUrl,
        state: 'NOTPAY',
        payTimeout: expiresAt && !Number.isNaN(expiresAt.getTime()) ? expiresAt : undefined,
        ...this.payableBy(order, prepayId, codeUrl),
        notifications: [],
      });
    }
    if (order.openid || order.app) return this.reply(res, merchant, 200, { prepay_id: prepayId });
    if (order.h5Url) return this.reply(res, merchant, 200, { h5_url: order.h5Url });
    return this.reply(res, merchant, 200, { code_url: codeUrl });
  }

  /** How the buyer pays the trade an order makes: a prepay_id (in-app, APP), the H5 page, or the QR code. */
  private payableBy(order: NativeOrder, prepayId: string, codeUrl: string): Partial<SandboxTrade> {
    if (order.openid) return { inApp: { prepayId, openid: order.openid } };
    if (order.app) return { app: { prepayId } };
    return order.h5Url ? { h5: true } : { codeUrl };
  }

  /**
   * A code payment: the trade is made, then the buyer's code decides (barcode-scenarios.ts). Paid: 200 with the
   * transaction; a password asked: 202 `{trade_state: USERPAYING}`; refusals: 403 NOT_ENOUGH (the v3 error table)
   * or 403 AUTH_CODE_INVALID (the v2 name: v3 publishes none); no answer: 500 SYSTEM_ERROR. A number used before
   * is refused with 403 OUT_TRADE_NO_USED and changes nothing.
   */
  codePay(res: Response, merchant: WechatMerchant, order: CodePayOrder): void {
    if (this.trades.find(order.owner, order.outTradeNo))
      return this.reply(res, merchant, 403, { code: 'OUT_TRADE_NO_USED', message: '商户订单号重复' });
    const trade: SandboxTrade = {
      channel: 'wechat',
      outTradeNo: order.outTradeNo,
      owner: order.owner,
      mchid: order.mchid,
      appid: order.appid,
      description: order.description,
      amountFen: order.total,
      // Code payments take no notify_url and are never notified: the merchant queries.
      notifyUrl: '',
      state: 'NOTPAY',
      notifications: [],
    };
    this.trades.put(trade);
    switch (startBarcode(trade, order.authCode, () => this.pay(trade))) {
      case 'paid':
        return this.reply(res, merchant, 200, this.transactionOf(trade));
      case 'paying':
        return this.reply(res, merchant, 202, { trade_state: 'USERPAYING' });
      case 'insufficient_funds':
        return this.reply(res, merchant, 403, { code: 'NOT_ENOUGH', message: '余额不足' });
      case 'invalid_code':
        return this.reply(res, merchant, 403, {
          code: 'AUTH_CODE_INVALID',
          message: '付款码无效或已过期，请刷新后重试',
        });
      case 'unknown':
        return this.reply(res, merchant, 500, { code: 'SYSTEM_ERROR', message: '系统繁忙,请稍后重试' });
    }
  }

  /**
   * 撤销: closes the trade if unpaid, returns the money if paid, and answers 200 `{appid, mchid, out_trade_no}`
   * either way. The scenario may ask first to be called again (USERPAYING, as WeChat refuses to reverse a trade
   * whose buyer is entering the password) or give no answer (500 SYSTEM_ERROR).
   */
  reverse(res: Response, merchant: WechatMerchant, trade: SandboxTrade | undefined): void {
    if (!trade || trade.channel !== 'wechat')
      return this.reply(res, merchant, 404, { code: 'ORDER_NOT_EXIST', message: '订单不存在' });
    switch (reverseBarcode(trade, () => this.pay(trade))) {
      case 'again':
        return this.reply(res, merchant, 403, { code: 'USERPAYING', message: '正在支付中不能发起撤销，请稍后再试' });
      case 'unknown':
        return this.reply(res, merchant, 500, { code: 'SYSTEM_ERROR', message: '系统繁忙,请稍后重试' });
      case 'closed':
      case 'refunded':
        return this.reply(res, merchant, 200, {
          appid: trade.appid,
          mchid: trade.mchid,
          out_trade_no: trade.outTradeNo,
        });
    }
  }

  /** Closes an unpaid trade (an unknown one too: WeChat answers 204 either way). */
  close(res: Response, merchant: WechatMerchant, trade: SandboxTrade | undefined): void {
    if (trade?.state === 'SUCCESS') return this.reply(res, merchant, 400, { code: 'ORDERPAID', message: 'order paid' });
    if (trade) trade.state = 'CLOSED';
    return this.reply(res, merchant, 204, undefined);
  }

  /** A refund of this merchant's trade (its own, or its sub-merchant's), answered and then notified to notify_url. */
  refund(
    res: Response,
    merchant: WechatMerchant,
    trade: SandboxTrade | undefined,
    body: { out_refund_no?: string; notify_url?: string; amount?: { refund?: number; total?: number } },
  ): void {
    if (!trade || trade.channel !== 'wechat')
      return this.reply(res, merchant, 404, { code: 'RESOURCE_NOT_EXISTS', message: 'order does not exist' });
    const existing = trade.refunds?.find((r) => r.refundNo === body.out_refund_no);
    if (existing) return this.reply(res, merchant, 200, this.refundOf(trade, existing));
    const amount = body.amount?.refund ?? 0;
    const refunded = (trade.refunds ?? []).reduce((sum, r) => sum + r.amountFen, 0);
    if (trade.state !== 'SUCCESS')
      return this.reply(res, merchant, 403, { code: 'TRADE_ERROR', message: 'order is not paid' });
    if (body.amount?.total !== trade.amountFen)
      return this.reply(res, merchant, 400, { code: 'PARAM_ERROR', message: 'total does not match' });
    if (!Number.isSafeInteger(amount) || amount <= 0 || refunded + amount > trade.amountFen) {
      // NOT_ENOUGH is the merchant's balance (the balanceShort fault), not this: a business-rule refusal.
      return this.reply(res, merchant, 400, { code: 'INVALID_REQUEST', message: 'refund exceeds what is left' });
    }
    const refund = {
      refundNo: body.out_refund_no ?? '',
      refundId: `5030${Date.now()}`,
      amountFen: amount,
      at: new Date().toISOString(),
    };
    (trade.refunds ??= []).push(refund);
    this.reply(res, merchant, 200, this.refundOf(trade, refund));
    if (body.notify_url) this.notifyRefund(trade, refund, body.notify_url);
  }

  /** The trade bill's download link for a day (bill_type ALL) over these trades; 400 NO_STATEMENT_EXIST when empty. */
  tradeBill(req: Request, res: Response, merchant: WechatMerchant, trades: Iterable<SandboxTrade>, billDate: string) {
    const csv = this.billOf(trades, billDate);
    if (!csv) return this.reply(res, merchant, 400, { code: 'NO_STATEMENT_EXIST', message: '请求的账单文件不存在' });
    const token = randomBytes(12).toString('hex');
    this.bills.set(token, { mchid: merchant.record.mchid, csv });
    return this.reply(res, merchant, 200, {
      hash_type: 'SHA1',
      hash_value: createHash('sha1').update(csv).digest('hex'),
      download_url: `${req.protocol}://${req.get('host')}/v3/billdownload/file?token=${token}`,
    });
  }

  /** The file itself, to the merchant that asked for it: the answer is not signed (the merchant checks the SHA-1). */
  billFile(res: Response, merchant: WechatMerchant, token: string): void {
    const bill = this.bills.get(token);
    if (!bill || bill.mchid !== merchant.record.mchid)
      return this.reply(res, merchant, 404, { code: 'RESOURCE_NOT_EXISTS', message: 'no such bill' });
    res.status(200).type('text/csv; charset=utf-8').send(bill.csv);
  }

  /** The buyer scanned and paid: the trade is paid and the merchant notified. */
  pay(trade: SandboxTrade): void {
    if (trade.state !== 'NOTPAY') return;
    trade.state = 'SUCCESS';
    trade.paidAt = new Date().toISOString();
    trade.transactionId = `4200${Date.now()}${randomBytes(3).readUIntBE(0, 3).toString().padStart(8, '0')}`;
    trade.successTime = toBeijingRfc3339(new Date());
    if (!trade.notifyUrl) return; // a code payment: WeChat sends no notification for it
    this.notifier.notify(trade, {
      resendScheduleMs: WECHAT_RESEND_SCHEDULE_MS,
      send: (faults) => this.sendTransaction(trade, faults),
      acknowledged: (reply) => reply.status === 200 || reply.status === 204,
    });
  }

  /**
   * The transaction as the query answers it and the notification carries it: a partner trade names the
   * service provider and the sub-merchant (sp_appid, sp_mchid, sub_appid, sub_mchid) instead of appid, mchid.
   */
  transactionOf(trade: SandboxTrade, amountFen = trade.amountFen) {
    const partner = trade.wechatPartner;
    const merchant = partner
      ? {
          sp_appid: trade.appid,
          sp_mchid: trade.mchid,
          ...(partner.subAppid ? { sub_appid: partner.subAppid } : {}),
          sub_mchid: partner.subMchid,
        }
      : { appid: trade.appid, mchid: trade.mchid };
    return {
      ...merchant,
      out_trade_no: trade.outTradeNo,
      trade_state: tradeState(trade),
      trade_state_desc: tradeState(trade),
      trade_type: tradeTypeOf(trade),
      ...(trade.state === 'SUCCESS'
        ? {
            transaction_id: trade.transactionId,
            success_time: trade.successTime,
            amount: { total: amountFen, payer_total: amountFen, currency: 'CNY', payer_currency: 'CNY' },
          }
        : { amount: { total: trade.amountFen, currency: 'CNY' } }),
    };
  }

  refundOf(trade: SandboxTrade, refund: Refund) {
    return {
      refund_id: refund.refundId,
      out_refund_no: refund.refundNo,
      transaction_id: trade.transactionId,
      out_trade_no: trade.outTradeNo,
      status: 'SUCCESS',
      success_time: toBeijingRfc3339(new Date(refund.at)),
      amount: { refund: refund.amountFen, total: trade.amountFen, currency: 'CNY' },
    };
  }

  /** Answers with the exact bytes it signs (Wechatpay-* headers over timestamp, nonce and body). */
  reply(res: Response, merchant: WechatMerchant | undefined, status: number, payload: unknown): void {
    const signer = this.platformSigner(merchant ?? this.merchants.defaultWechat, this.trades.faultsFor(undefined));
    const body = payload === undefined ? '' : JSON.stringify(payload);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = newNonce();
    res
      .status(status)
      .set({
        'Content-Type': 'application/json',
        'Wechatpay-Timestamp': timestamp,
        'Wechatpay-Nonce': nonce,
        'Wechatpay-Serial': signer.serial,
        'Wechatpay-Signature-Type': WECHATPAY_SCHEMA,
        'Wechatpay-Signature': rsaSign(responseMessage(timestamp, nonce, body), signer.key),
      })
      .send(body);
  }

  /** REFUND.SUCCESS to the refund request's notify_url, with the same resend rules. */
  private notifyRefund(trade: SandboxTrade, refund: Refund, url: string): void {
    const { refund_id, out_refund_no, transaction_id, out_trade_no, status, success_time, amount } = this.refundOf(
      trade,
      refund,
    );
    // A partner refund names the service provider and the sub-merchant (sp_mchid, sub_mchid) instead of mchid.
    const merchant = trade.wechatPartner
      ? { sp_mchid: trade.mchid, sub_mchid: trade.wechatPartner.subMchid }
      : { mchid: trade.mchid };
    const resource = { ...merchant, out_trade_no, transaction_id, out_refund_no, refund_id };
    const plain = { ...resource, refund_status: status, success_time, amount };
    this.notifier.notify(trade, {
      resendScheduleMs: WECHAT_RESEND_SCHEDULE_MS,
      send: (faults) => this.sendOnce(trade, url, 'REFUND.SUCCESS', '退款成功', 'refund', plain, faults),
      acknowledged: (reply) => reply.status === 200 || reply.status === 204,
    });
  }

  private sendTransaction(trade: SandboxTrade, faults: SandboxFaults): Promise<MerchantReply> {
    const transaction = this.transactionOf(trade, faults.wrongAmountFen ?? trade.amountFen);
    return this.sendOnce(trade, trade.notifyUrl, 'TRANSACTION.SUCCESS', '支付成功', 'transaction', transaction, faults);
  }

  /** One notification: the resource encrypted with the merchant's APIv3 key, signed with its platform key. */
  private sendOnce(
    trade: SandboxTrade,
    url: string,
    eventType: string,
    summary: string,
    originalType: 'transaction' | 'refund',
    plain: object,
    faults: SandboxFaults,
  ): Promise<MerchantReply> {
    const merchant = this.merchants.wechat(trade.mchid) ?? this.merchants.defaultWechat;
    const body = JSON.stringify({
      id: randomBytes(16).toString('hex'),
      create_time: toBeijingRfc3339(new Date()),
      resource_type: 'encrypt-resource',
      event_type: eventType,
      summary,
      resource: encryptResource(JSON.stringify(plain), merchant.record.apiV3Key, originalType, originalType),
    });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = newNonce();
    const signer = this.platformSigner(merchant, faults);
    const key = faults.badSignature ? this.settings.wechat.strangerPrivateKey : signer.key;
    return postNotification(url, {
      headers: {
        'Content-Type': 'application/json',
        'Wechatpay-Timestamp': timestamp,
        'Wechatpay-Nonce': nonce,
        'Wechatpay-Serial': signer.serial,
        'Wechatpay-Signature-Type': WECHATPAY_SCHEMA,
        'Wechatpay-Signature': rsaSign(responseMessage(timestamp, nonce, body), key),
      },
      body,
      timeoutMs: 5000, // WeChat counts an answer slower than 5 s as a failure
    });
  }

  /**
   * During WeChat's migration to public keys, answers come signed by either the key id or an old certificate
   * (one legacy certificate for the whole sandbox: no merchant has it configured).
   */
  private platformSigner(merchant: WechatMerchant, faults: SandboxFaults): { serial: string; key: KeyObject } {
    const { wechat } = this.settings;
    return faults.legacyPlatformCertificate
      ? { serial: wechat.legacyCertificateSerial, key: wechat.legacyCertificatePrivateKey }
      : this.merchants.wechatSigner(merchant);
  }

  private billOf(trades: Iterable<SandboxTrade>, billDate: string): Buffer | undefined {
    const rows: string[][] = [];
    const yuan = (fen: number) => `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
    const row = (values: Partial<Record<(typeof TRADE_BILL_COLUMNS)[number], string>>) =>
      TRADE_BILL_COLUMNS.map((name) => values[name] ?? '');
    for (const trade of trades) {
      // A reversed code payment is no trade of the day: closed unpaid, or its money went back with the reverse.
      if (trade.channel !== 'wechat' || !trade.transactionId || !trade.paidAt || trade.barcode?.reversed) continue;
      const faults = this.trades.faultsFor(trade.outTradeNo);
      // A service provider's bill names it (公众账号ID, 商户号) and the sub-merchant of each row (特约商户号).
      const base = {
        公众账号ID: trade.appid,
        商户号: trade.mchid,
        ...(trade.wechatPartner ? { 特约商户号: trade.wechatPartner.subMchid } : {}),
        微信订单号: trade.transactionId,
        商户订单号: trade.outTradeNo,
      };
      const common = {
        交易类型: tradeTypeOf(trade),
        付款银行: 'OTHERS',
        货币种类: 'CNY',
        商品名称: trade.description,
        费率: '0.60%',
      };
      if (beijingDate(new Date(trade.paidAt)) === billDate && !faults.statementOmit) {
        const amount = yuan(faults.statementAmountFen ?? trade.amountFen);
        rows.push(
          row({
            ...base,
            ...common,
            交易时间: toBeijingRfc3339(new Date(trade.paidAt)).slice(0, 19).replace('T', ' '),
            交易状态: 'SUCCESS',
            应结订单金额: amount,
            代金券金额: '0.00',
            微信退款单号: '0',
            商户退款单号: '0',
            退款金额: '0.00',
            充值券退款金额: '0.00',
            手续费: '0.00000',
            订单金额: amount,
            申请退款金额: '0.00',
          }),
        );
      }
      for (const refund of trade.refunds ?? []) {
        if (beijingDate(new Date(refund.at)) !== billDate) continue;
        rows.push(
          row({
            ...base,
            ...common,
            交易时间: toBeijingRfc3339(new Date(refund.at)).slice(0, 19).replace('T', ' '),
            交易状态: 'REFUND',
            应结订单金额: '0.00',
            代金券金额: '0.00',
            微信退款单号: refund.refundId,
            商户退款单号: refund.refundNo,
            退款金额: yuan(refund.amountFen),
            充值券退款金额: '0.00',
            退款类型: 'ORIGINAL',
            退款状态: 'SUCCESS',
            手续费: '0.00000',
            订单金额: '0.00',
            申请退款金额: yuan(refund.amountFen),
          }),
        );
      }
    }
    if (rows.length === 0) return undefined;
    const lines = [TRADE_BILL_COLUMNS.join(','), ...rows.map((values) => values.map((v) => `\`${v}`).join(','))];
    lines.push(
      TRADE_BILL_SUMMARY,
      ['`' + String(rows.length), '`0.00', '`0.00', '`0.00', '`0.00000', '`0.00', '`0.00'].join(','),
    );
    return Buffer.from(`${lines.join('\r\n')}\r\n`, 'utf8');
  }
}

/**
 * The trade_state a query shows: a code payment waiting for the buyer's password is USERPAYING, a reversed one
 * REVOKED, one the buyer could not pay (refused code or balance) PAYERROR; other trades their own state.
 */
function tradeState(trade: SandboxTrade): string {
  const barcode = trade.barcode;
  if (!barcode) return trade.state;
  if (barcode.reversed) return 'REVOKED';
  if (trade.state === 'NOTPAY' && barcode.waiting) return 'USERPAYING';
  if (trade.state === 'CLOSED' && (barcode.scenario === 'insufficient_funds' || barcode.scenario === 'invalid_code'))
    return 'PAYERROR';
  return trade.state;
}
