import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
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
import { cashierPath } from '../cashier/cashier.page';
import { SANDBOX_SETTINGS, type SandboxSettings } from '../sandbox.settings';
import { type MerchantReply, postNotification, SandboxNotifier, sleep } from '../sandbox-notifier';
import { beijingDate, type SandboxFaults, type SandboxTrade, SandboxTrades } from '../sandbox-trades';

/** WeChat Pay's resend intervals after an unacknowledged notification (15 sends over about 24 h). */
export const WECHAT_RESEND_SCHEDULE_MS = [
  15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600,
].map((s) => s * 1000);

interface NativeOrderBody {
  appid?: string;
  mchid?: string;
  description?: string;
  out_trade_no?: string;
  notify_url?: string;
  time_expire?: string;
  amount?: { total?: number; currency?: string };
}

/**
 * WeChat Pay API v3 as the sandbox vendor: verifies each request's merchant signature, answers in the
 * vendor's JSON, signs every answer with the sandbox platform key, and notifies like the vendor does.
 */
@Controller()
export class WechatSandboxController {
  /** Bills handed out by download token (kept in memory like everything in the sandbox). */
  private readonly bills = new Map<string, Buffer>();

  constructor(
    @Inject(SANDBOX_SETTINGS) private readonly settings: SandboxSettings,
    @Inject(SandboxTrades) private readonly trades: SandboxTrades,
    @Inject(SandboxNotifier) private readonly notifier: SandboxNotifier,
  ) {}

  @Post('/v3/pay/transactions/native')
  async native(@Req() req: RawBodyRequest<Request>, @Res() res: Response) {
    if (!this.authorized(req, res)) return;
    const body = JSON.parse(req.rawBody?.toString('utf8') ?? '{}') as NativeOrderBody;
    if (await this.injectedApiFault(res, body.out_trade_no)) return;
    const { wechat } = this.settings;
    if (body.mchid !== wechat.mchid || body.appid !== wechat.appid) {
      return this.reply(res, 400, { code: 'PARAM_ERROR', message: 'appid and mchid do not match' });
    }
    const total = body.amount?.total;
    if (!body.out_trade_no || !body.notify_url || !Number.isSafeInteger(total) || (total ?? 0) <= 0) {
      return this.reply(res, 400, {
        code: 'PARAM_ERROR',
        message: 'out_trade_no, notify_url and amount.total are required',
      });
    }
    const existing = this.trades.get(body.out_trade_no);
    if (existing && existing.state === 'SUCCESS')
      return this.reply(res, 400, { code: 'ORDERPAID', message: 'order paid' });
    if (existing && existing.state === 'CLOSED')
      return this.reply(res, 400, { code: 'ORDERCLOSED', message: 'order closed' });
    // The same out_trade_no with the same parameters gets the same code URL.
    const codeUrl = `weixin://wxpay/bizpayurl?pr=${body.out_trade_no}`;
    if (!existing) {
      const expiresAt = body.time_expire ? new Date(body.time_expire) : undefined;
      this.trades.put({
        channel: 'wechat',
        outTradeNo: body.out_trade_no,
        mchid: body.mchid,
        appid: body.appid,
        description: body.description ?? '',
        amountFen: total as number,
        notifyUrl: body.notify_url,
        state: 'NOTPAY',
        payTimeout: expiresAt && !Number.isNaN(expiresAt.getTime()) ? expiresAt : undefined,
        codeUrl,
        notifications: [],
      });
    }
    return this.reply(res, 200, { code_url: codeUrl });
  }

  @Get('/v3/pay/transactions/out-trade-no/:outTradeNo')
  async query(@Req() req: RawBodyRequest<Request>, @Res() res: Response, @Param('outTradeNo') outTradeNo: string) {
    if (!this.authorized(req, res)) return;
    if (await this.injectedApiFault(res, outTradeNo)) return;
    const trade = this.trades.get(outTradeNo);
    if (!trade) return this.reply(res, 404, { code: 'ORDER_NOT_EXIST', message: 'order does not exist' });
    return this.reply(res, 200, this.transactionOf(trade));
  }

  @Post('/v3/pay/transactions/out-trade-no/:outTradeNo/close')
  async close(@Req() req: RawBodyRequest<Request>, @Res() res: Response, @Param('outTradeNo') outTradeNo: string) {
    if (!this.authorized(req, res)) return;
    if (await this.injectedApiFault(res, outTradeNo)) return;
    const trade = this.trades.get(outTradeNo);
    if (trade?.state === 'SUCCESS') return this.reply(res, 400, { code: 'ORDERPAID', message: 'order paid' });
    if (trade) trade.state = 'CLOSED';
    return this.reply(res, 204, undefined);
  }

  @Post('/v3/refund/domestic/refunds')
  async refund(@Req() req: RawBodyRequest<Request>, @Res() res: Response) {
    if (!this.authorized(req, res)) return;
    const body = JSON.parse(req.rawBody?.toString('utf8') ?? '{}') as {
      out_trade_no?: string;
      out_refund_no?: string;
      notify_url?: string;
      amount?: { refund?: number; total?: number };
    };
    if (await this.injectedApiFault(res, body.out_trade_no)) return;
    const trade = body.out_trade_no ? this.trades.get(body.out_trade_no) : undefined;
    if (!trade || trade.channel !== 'wechat')
      return this.reply(res, 404, { code: 'RESOURCE_NOT_EXISTS', message: 'order does not exist' });
    const existing = trade.refunds?.find((r) => r.refundNo === body.out_refund_no);
    if (existing) return this.reply(res, 200, this.refundOf(trade, existing));
    const amount = body.amount?.refund ?? 0;
    const refunded = (trade.refunds ?? []).reduce((sum, r) => sum + r.amountFen, 0);
    if (trade.state !== 'SUCCESS') return this.reply(res, 403, { code: 'TRADE_ERROR', message: 'order is not paid' });
    if (body.amount?.total !== trade.amountFen)
      return this.reply(res, 400, { code: 'PARAM_ERROR', message: 'total does not match' });
    if (!Number.isSafeInteger(amount) || amount <= 0 || refunded + amount > trade.amountFen) {
      return this.reply(res, 403, { code: 'NOT_ENOUGH', message: 'refund exceeds what is left' });
    }
    const refund = {
      refundNo: body.out_refund_no ?? '',
      refundId: `5030${Date.now()}`,
      amountFen: amount,
      at: new Date().toISOString(),
    };
    (trade.refunds ??= []).push(refund);
    this.reply(res, 200, this.refundOf(trade, refund));
    if (body.notify_url) this.notifyRefund(trade, refund, body.notify_url);
  }

  @Get('/v3/refund/domestic/refunds/:outRefundNo')
  async refundQuery(
    @Req() req: RawBodyRequest<Request>,
    @Res() res: Response,
    @Param('outRefundNo') outRefundNo: string,
  ) {
    if (!this.authorized(req, res)) return;
    if (await this.injectedApiFault(res, undefined)) return;
    const found = this.trades.findRefund(outRefundNo);
    if (!found || found.trade.channel !== 'wechat')
      return this.reply(res, 404, { code: 'RESOURCE_NOT_EXISTS', message: 'refund does not exist' });
    return this.reply(res, 200, this.refundOf(found.trade, found.refund));
  }

  /** The trade bill's download link for a day (bill_type ALL); 400 NO_STATEMENT_EXIST when nothing happened. */
  @Get('/v3/bill/tradebill')
  tradeBill(@Req() req: RawBodyRequest<Request>, @Res() res: Response, @Query('bill_date') billDate: string) {
    if (!this.authorized(req, res)) return;
    const csv = this.billOf(billDate);
    if (!csv) return this.reply(res, 400, { code: 'NO_STATEMENT_EXIST', message: '请求的账单文件不存在' });
    const token = randomBytes(12).toString('hex');
    this.bills.set(token, csv);
    return this.reply(res, 200, {
      hash_type: 'SHA1',
      hash_value: createHash('sha1').update(csv).digest('hex'),
      download_url: `${req.protocol}://${req.get('host')}/v3/billdownload/file?token=${token}`,
    });
  }

  /** The file itself: the request is signed, the answer is not (the merchant checks the SHA-1). */
  @Get('/v3/billdownload/file')
  billFile(@Req() req: RawBodyRequest<Request>, @Res() res: Response, @Query('token') token: string) {
    if (!this.authorized(req, res)) return;
    const csv = this.bills.get(token);
    if (!csv) return this.reply(res, 404, { code: 'RESOURCE_NOT_EXISTS', message: 'no such bill' });
    res.status(200).type('text/csv; charset=utf-8').send(csv);
  }

  private billOf(billDate: string): Buffer | undefined {
    const rows: string[][] = [];
    const { appid, mchid } = this.settings.wechat;
    const yuan = (fen: number) => `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
    const row = (values: Partial<Record<(typeof TRADE_BILL_COLUMNS)[number], string>>) =>
      TRADE_BILL_COLUMNS.map((name) => values[name] ?? '');
    for (const trade of this.trades.all()) {
      if (trade.channel !== 'wechat' || !trade.transactionId || !trade.paidAt) continue;
      const faults = this.trades.faultsFor(trade.outTradeNo);
      const base = { 公众账号ID: appid, 商户号: mchid, 微信订单号: trade.transactionId, 商户订单号: trade.outTradeNo };
      const common = {
        交易类型: 'NATIVE',
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

  private refundOf(trade: SandboxTrade, refund: NonNullable<SandboxTrade['refunds']>[number]) {
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

  /**
   * Buyer simulation: the buyer scans and pays; the vendor then notifies the merchant. Answers JSON, or
   * sends a form post (the cashier without script) back to the cashier page.
   */
  @Post('/sandbox/wechat/trades/:outTradeNo/pay')
  pay(@Param('outTradeNo') outTradeNo: string, @Req() req: Request, @Res() res: Response) {
    const trade = this.trades.get(outTradeNo);
    let result: { ok: boolean; error?: string; trade?: unknown };
    if (!trade) result = { ok: false, error: 'ORDER_NOT_EXIST' };
    else if (trade.state === 'CLOSED') result = { ok: false, error: 'ORDERCLOSED' };
    else {
      if (trade.state === 'NOTPAY') {
        trade.state = 'SUCCESS';
        trade.paidAt = new Date().toISOString();
        trade.transactionId = `4200${Date.now()}${randomBytes(3).readUIntBE(0, 3).toString().padStart(8, '0')}`;
        trade.successTime = toBeijingRfc3339(new Date());
        this.notify(trade);
      }
      result = { ok: true, trade: this.transactionOf(trade) };
    }
    if (req.is('application/x-www-form-urlencoded')) {
      res.redirect(303, cashierPath(outTradeNo));
      return;
    }
    res.status(result.ok ? 200 : 404).json(result);
  }

  /** The first cashier's address: the one cashier of every channel lives at /sandbox/cashier/:outTradeNo now. */
  @Get('/sandbox/wechat/cashier/:outTradeNo')
  oldCashier(@Param('outTradeNo') outTradeNo: string, @Res() res: Response): void {
    res.redirect(302, cashierPath(outTradeNo));
  }

  /** Every trade the sandbox holds, of any channel (what the vendor knows: checkers compare it with the books). */
  @Get('/sandbox/trades')
  allTrades() {
    return [...this.trades.all()].map(({ notifications, ...trade }) => ({
      ...trade,
      notifications: notifications.length,
    }));
  }

  @Get('/sandbox/wechat/trades/:outTradeNo')
  trade(@Param('outTradeNo') outTradeNo: string) {
    return this.trades.get(outTradeNo) ?? { error: 'ORDER_NOT_EXIST' };
  }

  @Post('/sandbox/faults')
  @HttpCode(200)
  faults(@Body() body: { outTradeNo?: string } & Record<string, unknown>) {
    const { outTradeNo, ...faults } = body;
    this.trades.setFaults(faults, outTradeNo);
    return { ok: true };
  }

  private transactionOf(trade: SandboxTrade, amountFen = trade.amountFen) {
    return {
      appid: trade.appid,
      mchid: trade.mchid,
      out_trade_no: trade.outTradeNo,
      trade_state: trade.state,
      trade_state_desc: trade.state,
      trade_type: 'NATIVE',
      ...(trade.state === 'SUCCESS'
        ? {
            transaction_id: trade.transactionId,
            success_time: trade.successTime,
            amount: { total: amountFen, payer_total: amountFen, currency: 'CNY', payer_currency: 'CNY' },
          }
        : { amount: { total: trade.amountFen, currency: 'CNY' } }),
    };
  }

  /** Sends the notification, then resends on the vendor's schedule (scaled) until acknowledged with 200/204. */
  private notify(trade: SandboxTrade): void {
    this.notifier.notify(trade, {
      resendScheduleMs: WECHAT_RESEND_SCHEDULE_MS,
      send: (faults) => this.sendTransaction(trade, faults),
      acknowledged: (reply) => reply.status === 200 || reply.status === 204,
    });
  }

  /** REFUND.SUCCESS to the refund request's notify_url, with the same resend rules. */
  private notifyRefund(trade: SandboxTrade, refund: NonNullable<SandboxTrade['refunds']>[number], url: string): void {
    const { refund_id, out_refund_no, transaction_id, out_trade_no, status, success_time, amount } = this.refundOf(
      trade,
      refund,
    );
    const resource = { mchid: trade.mchid, out_trade_no, transaction_id, out_refund_no, refund_id };
    const plain = { ...resource, refund_status: status, success_time, amount };
    this.notifier.notify(trade, {
      resendScheduleMs: WECHAT_RESEND_SCHEDULE_MS,
      send: (faults) => this.sendOnce(url, 'REFUND.SUCCESS', '退款成功', 'refund', plain, faults),
      acknowledged: (reply) => reply.status === 200 || reply.status === 204,
    });
  }

  private sendTransaction(trade: SandboxTrade, faults: SandboxFaults): Promise<MerchantReply> {
    const transaction = this.transactionOf(trade, faults.wrongAmountFen ?? trade.amountFen);
    return this.sendOnce(trade.notifyUrl, 'TRANSACTION.SUCCESS', '支付成功', 'transaction', transaction, faults);
  }

  private sendOnce(
    url: string,
    eventType: string,
    summary: string,
    originalType: 'transaction' | 'refund',
    plain: object,
    faults: SandboxFaults,
  ): Promise<MerchantReply> {
    const { wechat } = this.settings;
    const body = JSON.stringify({
      id: randomBytes(16).toString('hex'),
      create_time: toBeijingRfc3339(new Date()),
      resource_type: 'encrypt-resource',
      event_type: eventType,
      summary,
      resource: encryptResource(JSON.stringify(plain), wechat.apiV3Key, originalType, originalType),
    });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = newNonce();
    const signer = this.platformSigner(faults);
    const key = faults.badSignature ? wechat.strangerPrivateKey : signer.key;
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

  private authorized(req: RawBodyRequest<Request>, res: Response): boolean {
    const { wechat } = this.settings;
    const auth = parseAuthorization(req.headers.authorization);
    const body = req.method === 'GET' ? '' : (req.rawBody?.toString('utf8') ?? '');
    const valid =
      auth !== undefined &&
      auth.mchid === wechat.mchid &&
      auth.serial_no === wechat.merchantSerialNo &&
      Math.abs(Date.now() / 1000 - Number(auth.timestamp)) < 300 &&
      rsaVerify(
        requestMessage(req.method, req.originalUrl, auth.timestamp, auth.nonce_str, body),
        auth.signature,
        wechat.merchantPublicKey,
      );
    if (!valid) this.reply(res, 401, { code: 'SIGN_ERROR', message: 'signature verification failed' });
    return valid;
  }

  private async injectedApiFault(res: Response, outTradeNo: string | undefined): Promise<boolean> {
    const faults = this.trades.faultsFor(outTradeNo);
    if (faults.apiDelayMs) await sleep(faults.apiDelayMs);
    if (faults.apiError) {
      this.reply(res, 500, { code: 'SYSTEM_ERROR', message: 'system busy, retry' });
      return true;
    }
    return false;
  }

  /** During WeChat's migration to public keys, answers come signed by either the key id or an old certificate. */
  private platformSigner(faults: SandboxFaults): { serial: string; key: KeyObject } {
    const { wechat } = this.settings;
    return faults.legacyPlatformCertificate
      ? { serial: wechat.legacyCertificateSerial, key: wechat.legacyCertificatePrivateKey }
      : { serial: wechat.platformKeyId, key: wechat.platformPrivateKey };
  }

  /** Answers with the exact bytes it signs (Wechatpay-* headers over timestamp, nonce and body). */
  private reply(res: Response, status: number, payload: unknown): void {
    const signer = this.platformSigner(this.trades.faultsFor(undefined));
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
}
