import { Body, Controller, Get, HttpCode, Inject, NotFoundException, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { zipSync } from 'fflate';
import iconv from 'iconv-lite';
import { randomBytes } from 'node:crypto';
import {
  alipaySignContent,
  BILL_HEADER,
  beijingTimestamp,
  fenToYuan,
  fromBeijingTimestamp,
  rsa2Sign,
  rsa2Verify,
  yuanToFen,
} from '../../src/gateways/wire/alipay.protocol';
import { type BarcodePayOutcome, reverseBarcode, startBarcode } from '../barcode-scenarios';
import { cashierPath, messagePage } from '../cashier/cashier.page';
import { alipayMiniProgramAppIdOf } from '../../src/gateways/wire/sandbox-key-set';
import { AlipayOAuthCodes } from './alipay-oauth';
import { type AlipayActor, type AlipayApp, SandboxMerchants } from '../merchants/sandbox-merchants';
import { SANDBOX_SETTINGS, type SandboxSettings } from '../sandbox.settings';
import { type MerchantReply, postNotification, SandboxNotifier, sleep } from '../sandbox-notifier';
import { beijingDate, type SandboxFaults, type SandboxTrade, SandboxTrades, tradeOwner } from '../sandbox-trades';

/** Alipay's resend intervals after a notification not answered `success` (8 sends over about 25 h). */
export const ALIPAY_RESEND_SCHEDULE_MS = [240, 600, 600, 3600, 7200, 21600, 54000].map((s) => s * 1000);

type Reply = Record<string, string | undefined>;

/** An Alipay trade_no (支付宝交易号): the date and a serial, 28 digits in Alipay's examples. */
const newTradeNo = () => `2026${Date.now()}${randomBytes(3).readUIntBE(0, 3).toString().padStart(8, '0')}`;

/** The page APIs: the buyer's browser brings the signed request (GET or POST) and is shown Alipay's cashier. */
const PAGE_PRODUCTS: Record<string, { kind: 'page' | 'wap'; productCode: string }> = {
  'alipay.trade.page.pay': { kind: 'page', productCode: 'FAST_INSTANT_TRADE_PAY' },
  'alipay.trade.wap.pay': { kind: 'wap', productCode: 'QUICK_WAP_WAY' },
};

/**
 * Methods whose refusals Alipay sends as `{"error_response":{…},"sign":…}` (the form alipay-sdk's own comments show
 * for alipay.system.oauth.token's isv.code-invalid; Alipay's Java SDK verifies that node when the method's is absent).
 */
const ERROR_RESPONSE_METHODS = new Set(['alipay.system.oauth.token']);

/** An Alipay user id (buyer_id): 2088 and 12 digits. */
const USER_ID = /^2088\d{12}$/;

/** A buyer's Alipay payment code (付款码): "25~30开头的长度为16~24位的数字" (alipay.trade.pay, auth_code). */
const AUTH_CODE = /^(2[5-9]|30)\d{14,22}$/;

/**
 * Alipay's openapi gateway (`/gateway.do`) as the sandbox vendor, for every app it knows (found by
 * `app_id`): checks the app's RSA2 signature over all parameters, answers `{"<method>_response": {...},
 * "sign": "..."}` signed with Alipay's key for that app, and notifies with a signed form POST, resending
 * until it reads exactly `success`. A third-party (ISV) app's request carrying the common parameter
 * `app_auth_token` acts for the merchant that issued the token: the trade is that merchant's (its seller_id),
 * and its notification names the ISV app (`app_id`) and the merchant's app (`auth_app_id`).
 */
@Controller()
export class AlipaySandboxController {
  /** Bills handed out by download token (in memory). */
  private readonly bills = new Map<string, Uint8Array>();

  constructor(
    @Inject(SANDBOX_SETTINGS) private readonly settings: SandboxSettings,
    @Inject(SandboxTrades) private readonly trades: SandboxTrades,
    @Inject(SandboxNotifier) private readonly notifier: SandboxNotifier,
    @Inject(SandboxMerchants) private readonly merchants: SandboxMerchants,
    @Inject(AlipayOAuthCodes) private readonly oauthCodes: AlipayOAuthCodes,
  ) {}

  /**
   * The buyer's browser bringing a page request (alipay.trade.page.pay / wap.pay) as a link: the same gateway, the
   * same signature check.
   */
  @Get('/gateway.do')
  gatewayByLink(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.gateway(req, res);
  }

  @Post('/gateway.do')
  async gateway(@Req() req: Request, @Res() res: Response): Promise<void> {
    const params: Record<string, string> = {
      ...(req.query as Record<string, string>),
      ...((req.body ?? {}) as Record<string, string>),
    };
    const method = params.method ?? '';
    const responseKey = `${method.replaceAll('.', '_')}_response`;
    const app = this.merchants.alipay(params.app_id);
    const page = PAGE_PRODUCTS[method];
    // A page request comes from the buyer's browser: a refusal is a page for the buyer, as Alipay shows one.
    // Older methods answer a refusal under `error_response` (signed the same way) instead of their own key.
    const keyOf = (node: Reply) =>
      ERROR_RESPONSE_METHODS.has(method) && node.sub_code ? 'error_response' : responseKey;
    const reply = (node: Reply) => (page ? this.refusalPage(res, node) : this.reply(res, app, keyOf(node), node));
    if (!app) return reply(fail('40002', 'isv.invalid-app-id', 'invalid app_id'));
    if (!params.sign || !rsa2Verify(alipaySignContent(params, ['sign']), params.sign, app.appPublicKey)) {
      return reply(fail('40002', 'isv.invalid-signature', 'invalid signature'));
    }
    const actor = this.merchants.alipayActor(app, params.app_auth_token || undefined);
    // Alipay's public error codes: 20001 "Insufficient Token Permissions", aop.invalid-app-auth-token.
    if (!actor) return reply(fail('20001', 'aop.invalid-app-auth-token', '无效的应用授权令牌'));
    const biz = JSON.parse(params.biz_content ?? '{}') as Record<string, string>;
    const faults = this.trades.faultsFor(biz.out_trade_no);
    if (faults.apiDelayMs) await sleep(faults.apiDelayMs);
    if (faults.apiError) return reply(fail('20000', 'isp.unknown-error', 'system busy'));
    // Alipay also reports its own trouble as a business failure: 40004 ACQ.SYSTEM_ERROR ("query or retry").
    if (faults.systemError) return reply(fail('40004', 'ACQ.SYSTEM_ERROR', 'system error'));
    const refusal = faults.refundRefusal ?? (faults.balanceShort ? 'ACQ.SELLER_BALANCE_NOT_ENOUGH' : undefined);
    if (refusal && method === 'alipay.trade.refund') return reply(fail('40004', refusal, `refund refused: ${refusal}`));
    const owner = tradeOwner.alipay(actor.sellerId);
    if (page) {
      const refusal = this.openPage(actor, biz, params, page);
      if (refusal) return reply(refusal);
      res.redirect(303, cashierPath(biz.out_trade_no));
      return;
    }
    switch (method) {
      case 'alipay.trade.precreate':
        return reply(this.precreate(actor, biz, params.notify_url));
      case 'alipay.trade.create':
        return reply(this.createForBuyer(actor, biz, params.notify_url));
      case 'alipay.trade.pay':
        return reply(this.barcodePay(actor, biz, params.notify_url));
      case 'alipay.trade.cancel':
        return reply(this.cancel(owner, biz));
      case 'alipay.trade.query':
        return reply(this.query(this.trades.find(owner, biz.out_trade_no)));
      case 'alipay.trade.close':
        return reply(this.close(this.trades.find(owner, biz.out_trade_no)));
      case 'alipay.trade.refund':
        return reply(this.refund(this.trades.find(owner, biz.out_trade_no), biz));
      case 'alipay.trade.fastpay.refund.query':
        return reply(this.refundQuery(this.trades.find(owner, biz.out_trade_no), biz));
      case 'alipay.system.oauth.token':
        return reply(this.oauthCodes.exchange(actor, params));
      case 'alipay.data.dataservice.bill.downloadurl.query':
        return reply(this.billUrl(actor, biz.bill_date ?? '', `${req.protocol}://${req.get('host')}`));
      default:
        return reply(fail('40004', 'isv.invalid-method', `unsupported ${method}`));
    }
  }

  /**
   * Buyer simulation: the buyer scans the QR code and stops at the payment page. The trade now exists at
   * Alipay (WAIT_BUYER_PAY): it can be queried and closed, as a precreate trade nobody scanned cannot.
   */
  @Post('/sandbox/alipay/trades/:outTradeNo/scan')
  @HttpCode(200)
  scan(@Param('outTradeNo') outTradeNo: string) {
    const trade = this.trades.get(outTradeNo);
    if (!trade || trade.channel !== 'alipay') throw new NotFoundException({ ok: false, error: 'ACQ.TRADE_NOT_EXIST' });
    this.lapse(trade);
    if (trade.state === 'NOTPAY' && !trade.scanned) {
      trade.scanned = true;
      trade.transactionId = newTradeNo();
    }
    return { ok: trade.state === 'NOTPAY', trade };
  }

  /**
   * Buyer simulation, for a trade of any app or merchant: scan and pay; the sandbox then notifies the merchant.
   * A form post goes back to the cashier. A closed trade answers ACQ.TRADE_HAS_CLOSE and takes no money.
   */
  @Post('/sandbox/alipay/trades/:outTradeNo/pay')
  pay(@Param('outTradeNo') outTradeNo: string, @Req() req: Request, @Res() res: Response): void {
    const trade = this.trades.get(outTradeNo);
    if (!trade || trade.channel !== 'alipay') {
      res.status(404).json({ ok: false, error: 'ACQ.TRADE_NOT_EXIST' });
      return;
    }
    this.lapse(trade);
    // For a barcode trade waiting for the buyer, this is the buyer entering the password now.
    this.settle(trade);
    if (req.is('application/x-www-form-urlencoded')) {
      res.redirect(303, cashierPath(outTradeNo));
      return;
    }
    const closed = trade.state === 'CLOSED' ? { error: 'ACQ.TRADE_HAS_CLOSE' } : {};
    res.status(trade.state === 'SUCCESS' ? 200 : 409).json({ ok: trade.state === 'SUCCESS', ...closed, trade });
  }

  /**
   * The Alipay app paying an order string the merchant's app handed its SDK (alipay.trade.app.pay), as the app
   * checks it: every parameter but `sign` (sign_type included), sorted, RSA2 with the public key of the app that
   * `app_id` names; then Alipay makes the trade and the buyer pays it. Anything that does not verify pays nothing.
   */
  @Post('/sandbox/alipay/app/pay')
  @HttpCode(200)
  appPay(@Body() body: { orderString?: unknown }, @Res() res: Response): void {
    const refuse = (status: number, error: string, message?: string) =>
      void res.status(status).json({ resultStatus: '4000', error, ...(message ? { message } : {}) });
    const params = parseOrderString(body.orderString);
    if (!params) return refuse(400, 'MALFORMED_ORDER_STRING');
    const app = this.merchants.alipay(params.app_id);
    if (!app) return refuse(400, 'INVALID_APP_ID');
    if (!params.sign || !rsa2Verify(alipaySignContent(params, ['sign']), params.sign, app.appPublicKey)) {
      return refuse(400, 'INVALID_SIGNATURE');
    }
    if (params.method !== 'alipay.trade.app.pay') return refuse(400, 'INVALID_METHOD', String(params.method));
    const actor = this.merchants.alipayActor(app, params.app_auth_token || undefined);
    if (!actor) return refuse(400, 'INVALID_APP_AUTH_TOKEN');
    let biz: Record<string, string>;
    try {
      biz = JSON.parse(params.biz_content ?? '{}') as Record<string, string>;
    } catch {
      return refuse(400, 'MALFORMED_BIZ_CONTENT');
    }
    if (biz.product_code !== undefined && biz.product_code !== 'QUICK_MSECURITY_PAY') {
      return refuse(400, 'ACQ.INVALID_PARAMETER', 'product_code must be QUICK_MSECURITY_PAY');
    }
    const { trade: made, refusal } = this.tradeOfBuyerSide(actor, biz, params.notify_url, { kind: 'app' });
    if (!made) return refuse(409, refusal.sub_code ?? 'ACQ.INVALID_PARAMETER', refusal.sub_msg);
    this.lapse(made);
    if (made.state === 'CLOSED') return refuse(409, 'ACQ.TRADE_HAS_CLOSE');
    this.settle(made);
    res.status(200).json({ resultStatus: '9000', outTradeNo: made.outTradeNo, tradeNo: made.transactionId });
  }

  /**
   * The buyer's Alipay paying a created trade with my.tradePay({ tradeNO }) (or AlipayJSBridge tradePay): only the
   * buyer it was created for (buyer_id or open_id) can pay it.
   */
  @Post('/sandbox/alipay/in-app/pay')
  @HttpCode(200)
  inAppPay(@Body() body: { tradeNo?: unknown; buyerId?: unknown }, @Res() res: Response): void {
    const refuse = (status: number, error: string) => void res.status(status).json({ resultCode: '4000', error });
    const trade = [...this.trades.all()].find(
      (t) => t.channel === 'alipay' && t.alipayFlow?.kind === 'jsapi' && t.transactionId === body.tradeNo,
    );
    if (!trade) return refuse(404, 'ACQ.TRADE_NOT_EXIST');
    if (body.buyerId !== trade.alipayFlow?.buyer) return refuse(400, 'BUYER_MISMATCH');
    this.lapse(trade);
    if (trade.state === 'CLOSED') return refuse(409, 'ACQ.TRADE_HAS_CLOSE');
    if (trade.state === 'SUCCESS') return refuse(409, 'ACQ.TRADE_HAS_SUCCESS');
    this.settle(trade);
    res.status(200).json({ resultCode: '9000', outTradeNo: trade.outTradeNo, tradeNo: trade.transactionId });
  }

  /** The buyer pays an unpaid trade: the money is taken and the merchant notified. */
  private settle(trade: SandboxTrade): void {
    if (trade.state !== 'NOTPAY') return;
    trade.state = 'SUCCESS';
    trade.paidAt = new Date().toISOString();
    trade.transactionId ??= newTradeNo();
    trade.successTime = beijingTimestamp(new Date());
    if (trade.barcode) trade.barcode.waiting = false;
    if (trade.alipayFlow?.returnUrl) trade.returnTo = this.returnLink(trade, trade.alipayFlow.returnUrl);
    // notify_url is optional on alipay.trade.pay: without it Alipay has nowhere to notify.
    if (trade.notifyUrl) this.notify(trade);
  }

  /** An unpaid QR code past its time_expire can no longer be paid. */
  private lapse(trade: SandboxTrade): void {
    if (trade.state === 'NOTPAY' && trade.payTimeout && trade.payTimeout.getTime() < Date.now()) {
      trade.state = 'CLOSED';
    }
  }

  /** The bill's download: a zip of GBK CSV files, as Alipay serves it. */
  @Get('/sandbox/alipay/bills/:token')
  bill(@Param('token') token: string, @Res() res: Response): void {
    const zip = this.bills.get(token);
    if (!zip) {
      res.status(404).send('no such bill');
      return;
    }
    res.status(200).type('application/zip').send(Buffer.from(zip));
  }

  /** The bill of the seller the request acts for: its trades only. */
  private billUrl(actor: AlipayActor, billDate: string, origin: string): Reply {
    const rows: string[] = [];
    const yuan = (fen: number) => fenToYuan(fen);
    for (const trade of this.trades.of([tradeOwner.alipay(actor.sellerId)])) {
      if (trade.channel !== 'alipay' || !trade.transactionId || !trade.paidAt) continue;
      // A cancelled (撤销) barcode trade never shows in the bill: closed, or paid and refunded by the cancel itself.
      if (trade.barcode?.reversed) continue;
      const faults = this.trades.faultsFor(trade.outTradeNo);
      const row = (values: Partial<Record<(typeof BILL_HEADER)[number], string>>) =>
        BILL_HEADER.map((name) => values[name] ?? '').join(',');
      if (beijingDate(new Date(trade.paidAt)) === billDate && !faults.statementOmit) {
        const amount = yuan(faults.statementAmountFen ?? trade.amountFen);
        rows.push(
          row({
            支付宝交易号: `${trade.transactionId}\t`,
            商户订单号: `${trade.outTradeNo}\t`,
            业务类型: '交易',
            商品名称: trade.description,
            创建时间: trade.successTime ?? '',
            完成时间: trade.successTime ?? '',
            '订单金额（元）': amount,
            '商家实收（元）': amount,
            '服务费（元）': '0.00',
          }),
        );
      }
      for (const refund of trade.refunds ?? []) {
        if (beijingDate(new Date(refund.at)) !== billDate) continue;
        rows.push(
          row({
            支付宝交易号: `${trade.transactionId}\t`,
            商户订单号: `${trade.outTradeNo}\t`,
            业务类型: '退款',
            商品名称: trade.description,
            创建时间: trade.successTime ?? '',
            完成时间: beijingTimestamp(new Date(refund.at)),
            '订单金额（元）': `-${yuan(refund.amountFen)}`,
            '商家实收（元）': `-${yuan(refund.amountFen)}`,
            '退款批次号/请求号': `${refund.refundNo}\t`,
            '服务费（元）': '0.00',
          }),
        );
      }
    }
    if (rows.length === 0) return fail('40004', 'isp.bill_not_exist', 'bill does not exist');
    const day = billDate.replaceAll('-', '');
    const pid = actor.sellerId;
    const detail = [
      '#支付宝业务明细查询',
      `#账号：[${pid}]`,
      `#起始日期：[${billDate.replace(/(\d+)-(\d+)-(\d+)/, '$1年$2月$3日')} 00:00:00]`,
      '#-----------------------------------------业务明细列表----------------------------------------',
      BILL_HEADER.join(','),
      ...rows,
      '#-----------------------------------------业务明细列表结束------------------------------------',
      `#交易合计：${rows.length}笔`,
      `#导出时间：[${beijingTimestamp(new Date())}]`,
    ].join('\r\n');
    const zip = zipSync({
      [`${pid}0156_${day}_业务明细.csv`]: new Uint8Array(iconv.encode(detail, 'gbk')),
      [`${pid}0156_${day}_业务明细(汇总).csv`]: new Uint8Array(iconv.encode('#支付宝业务汇总查询\r\n', 'gbk')),
    });
    const token = randomBytes(12).toString('hex');
    this.bills.set(token, zip);
    return { code: '10000', msg: 'Success', bill_download_url: `${origin}/sandbox/alipay/bills/${token}` };
  }

  /**
   * alipay.trade.page.pay / wap.pay, brought by the buyer's browser: records the trade with the merchant's return_url
   * and shows the cashier. Alipay makes the trade only when the buyer pays on its page ("订单创建实际创建时间也为用户支付
   * 时间"): until then its query and close answer ACQ.TRADE_NOT_EXIST, as for an unscanned QR code. Opening the page
   * again shows the same unpaid trade. Answers the refusal, or undefined when the cashier is to be shown.
   */
  private openPage(
    actor: AlipayActor,
    biz: Record<string, string>,
    params: Record<string, string>,
    page: (typeof PAGE_PRODUCTS)[string],
  ): Reply | undefined {
    if (biz.product_code !== page.productCode) {
      return fail('40004', 'ACQ.INVALID_PARAMETER', `product_code must be ${page.productCode}`);
    }
    const { trade: made, refusal } = this.tradeOfBuyerSide(actor, biz, params.notify_url, {
      kind: page.kind,
      ...(params.return_url ? { returnUrl: params.return_url } : {}),
    });
    if (!made) return refusal;
    this.lapse(made);
    return made.state === 'CLOSED' ? fail('40004', 'ACQ.TRADE_HAS_CLOSE', 'trade closed') : undefined;
  }

  /**
   * The trade a request from the buyer's side (a page link, an app order string) names: made on first sight, the
   * same unpaid one again (the buyer may open the page twice). A paid number, or a number of another kind of trade,
   * is refused.
   */
  private tradeOfBuyerSide(
    actor: AlipayActor,
    biz: Record<string, string>,
    notifyUrl: string | undefined,
    flow: NonNullable<SandboxTrade['alipayFlow']>,
  ): { trade: SandboxTrade; refusal?: undefined } | { trade?: undefined; refusal: Reply } {
    const refuse = (subCode: string, subMsg: string) => ({ refusal: fail('40004', subCode, subMsg) });
    const amountFen = yuanToFen(biz.total_amount ?? '');
    if (!biz.out_trade_no || !biz.subject || amountFen === undefined || amountFen <= 0) {
      return refuse('ACQ.INVALID_PARAMETER', 'out_trade_no, subject and total_amount are required');
    }
    const owner = tradeOwner.alipay(actor.sellerId);
    const existing = this.trades.find(owner, biz.out_trade_no);
    if (existing?.state === 'SUCCESS') return refuse('ACQ.TRADE_HAS_SUCCESS', 'trade already paid');
    if (existing && (existing.alipayFlow?.kind !== flow.kind || existing.amountFen !== amountFen)) {
      return refuse('ACQ.CONTEXT_INCONSISTENT', 'a different trade of this out_trade_no exists');
    }
    if (existing) {
      if (flow.returnUrl) existing.alipayFlow = flow;
      return { trade: existing };
    }
    const trade: SandboxTrade = {
      ...this.newTrade(actor, biz, amountFen, notifyUrl),
      payTimeout: fromBeijingTimestamp(biz.time_expire),
      alipayFlow: flow,
      notifications: [],
    };
    this.trades.put(trade);
    return { trade };
  }

  /**
   * alipay.trade.create (JSAPI_PAY): a trade for one buyer, named by buyer_id (2088…) or buyer_open_id, in the app
   * itself or, as op_app_id, one of the merchant's mini-programs. Alipay makes it at once (the query shows
   * WAIT_BUYER_PAY) and answers its trade_no, which my.tradePay pays.
   */
  private createForBuyer(actor: AlipayActor, biz: Record<string, string>, notifyUrl: string | undefined): Reply {
    const amountFen = yuanToFen(biz.total_amount ?? '');
    if (!biz.out_trade_no || !biz.subject || amountFen === undefined || amountFen <= 0) {
      return fail('40004', 'ACQ.INVALID_PARAMETER', 'out_trade_no, subject and total_amount are required');
    }
    const buyer = biz.buyer_id ?? biz.buyer_open_id;
    if (biz.buyer_id !== undefined && biz.buyer_open_id !== undefined) {
      return fail('40004', 'ACQ.INVALID_PARAMETER', 'buyer_id and buyer_open_id: one or the other');
    }
    if (!buyer || (biz.buyer_id !== undefined && !USER_ID.test(biz.buyer_id))) {
      return fail('40004', 'ACQ.INVALID_PARAMETER', 'buyer_id (2088 and 12 digits) or buyer_open_id is required');
    }
    if (biz.product_code !== 'JSAPI_PAY')
      return fail('40004', 'ACQ.INVALID_PARAMETER', 'product_code must be JSAPI_PAY');
    // The app itself, or a mini-program bound to the merchant (the one the sandbox derives for each app).
    const apps = [actor.app.record.appId, alipayMiniProgramAppIdOf(actor.app.record.appId)];
    if (actor.authAppId !== actor.app.record.appId) apps.push(alipayMiniProgramAppIdOf(actor.authAppId));
    if (biz.op_app_id !== undefined && !apps.includes(biz.op_app_id)) {
      return fail('40004', 'ACQ.INVALID_PARAMETER', `op_app_id ${biz.op_app_id} is not bound to this merchant`);
    }
    const owner = tradeOwner.alipay(actor.sellerId);
    const existing = this.trades.find(owner, biz.out_trade_no);
    if (existing?.state === 'SUCCESS') return fail('40004', 'ACQ.TRADE_HAS_SUCCESS', 'trade already paid');
    if (existing?.state === 'CLOSED') return fail('40004', 'ACQ.TRADE_HAS_CLOSE', 'trade closed');
    if (existing && (existing.alipayFlow?.buyer !== buyer || existing.amountFen !== amountFen)) {
      return fail('40004', 'ACQ.CONTEXT_INCONSISTENT', 'a different trade of this out_trade_no exists');
    }
    const trade: SandboxTrade = existing ?? {
      ...this.newTrade(actor, biz, amountFen, notifyUrl),
      payTimeout: fromBeijingTimestamp(biz.time_expire),
      // Alipay knows a created trade from the create on, with its trade_no.
      scanned: true,
      transactionId: newTradeNo(),
      alipayFlow: { kind: 'jsapi', buyer },
      notifications: [],
    };
    if (!existing) this.trades.put(trade);
    return { code: '10000', msg: 'Success', out_trade_no: trade.outTradeNo, trade_no: trade.transactionId };
  }

  /**
   * return_url with Alipay's synchronous return parameters (同步跳转), signed with Alipay's key like a notification.
   * Only a hint for the merchant's page: the payment's truth is the notification and the query.
   */
  private returnLink(trade: SandboxTrade, returnUrl: string): string | undefined {
    const app = this.merchants.alipay(trade.appid) ?? this.defaultApp();
    const method = trade.alipayFlow?.kind === 'wap' ? 'alipay.trade.wap.pay.return' : 'alipay.trade.page.pay.return';
    const fields: Record<string, string> = {
      charset: 'utf-8',
      out_trade_no: trade.outTradeNo,
      method,
      total_amount: fenToYuan(trade.amountFen),
      trade_no: trade.transactionId ?? '',
      auth_app_id: trade.alipay?.authAppId ?? trade.appid,
      version: '1.0',
      app_id: trade.appid,
      sign_type: 'RSA2',
      seller_id: trade.alipay?.sellerId ?? app.record.sellerId,
      timestamp: beijingTimestamp(new Date()),
    };
    fields.sign = rsa2Sign(alipaySignContent(fields, ['sign', 'sign_type']), app.alipayPrivateKey);
    const url = URL.canParse(returnUrl) ? new URL(returnUrl) : undefined;
    // Only a web page is a place to send the buyer back to (never a javascript: or data: URL).
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return undefined;
    for (const [key, value] of Object.entries(fields)) url.searchParams.set(key, value);
    return url.toString();
  }

  /** A page request Alipay refuses: the buyer sees why, with Alipay's code. */
  private refusalPage(res: Response, node: Reply): void {
    const text = `${node.sub_code ?? node.code ?? ''}: ${node.sub_msg ?? node.msg ?? ''}`;
    res.status(400).type('html').send(messagePage('Alipay cannot take this payment', text));
  }

  /** A trade of this app (or of the merchant it acts for) as every Alipay method that makes one records it. */
  private newTrade(
    actor: AlipayActor,
    biz: Record<string, string | undefined>,
    amountFen: number,
    notifyUrl: string | undefined,
  ) {
    return {
      channel: 'alipay' as const,
      outTradeNo: biz.out_trade_no ?? '',
      owner: tradeOwner.alipay(actor.sellerId),
      mchid: '',
      appid: actor.app.record.appId,
      alipay: { authAppId: actor.authAppId, sellerId: actor.sellerId },
      description: biz.subject ?? '',
      amountFen,
      notifyUrl: notifyUrl ?? '',
      state: 'NOTPAY' as const,
    };
  }

  private precreate(actor: AlipayActor, biz: Record<string, string>, notifyUrl: string | undefined): Reply {
    const amountFen = yuanToFen(biz.total_amount ?? '');
    if (!biz.out_trade_no || !notifyUrl || amountFen === undefined || amountFen <= 0) {
      return fail('40004', 'ACQ.INVALID_PARAMETER', 'out_trade_no, total_amount and notify_url are required');
    }
    const owner = tradeOwner.alipay(actor.sellerId);
    const existing = this.trades.find(owner, biz.out_trade_no);
    if (existing?.state === 'SUCCESS') return fail('40004', 'ACQ.TRADE_HAS_SUCCESS', 'trade already paid');
    if (existing?.state === 'CLOSED') return fail('40004', 'ACQ.TRADE_HAS_CLOSE', 'trade closed');
    const qrCode = `https://qr.alipay.com/sandbox${biz.out_trade_no}`;
    if (!existing) {
      this.trades.put({
        ...this.newTrade(actor, biz, amountFen, notifyUrl),
        payTimeout: fromBeijingTimestamp(biz.time_expire),
        codeUrl: qrCode,
        notifications: [],
      });
    }
    return { code: '10000', msg: 'Success', out_trade_no: biz.out_trade_no, qr_code: qrCode };
  }

  /**
   * alipay.trade.pay, scene bar_code (当面付 条码支付): the buyer's code decides the scenario (barcode-scenarios.ts).
   * Alipay makes the trade at once (so the query knows it, WAIT_BUYER_PAY while the buyer enters a password) and
   * answers 10000 paid, 10003 waiting for the buyer, 40004 with the refusal's sub_code, or 20000 when it has no
   * answer. A missing field or a code not in Alipay's format is ACQ.INVALID_PARAMETER and makes nothing.
   */
  private barcodePay(actor: AlipayActor, biz: Record<string, string>, notifyUrl: string | undefined): Reply {
    const amountFen = yuanToFen(biz.total_amount ?? '');
    if (!biz.out_trade_no || !biz.subject || amountFen === undefined || amountFen <= 0) {
      return fail('40004', 'ACQ.INVALID_PARAMETER', 'out_trade_no, subject and total_amount are required');
    }
    // Alipay also takes wave_code (sound waves); the sandbox has only codes to scan.
    if (biz.scene !== 'bar_code') return fail('40004', 'ACQ.INVALID_PARAMETER', 'scene must be bar_code');
    if (!AUTH_CODE.test(biz.auth_code ?? '')) {
      return fail('40004', 'ACQ.INVALID_PARAMETER', 'auth_code: 16 to 24 digits beginning 25 to 30');
    }
    const owner = tradeOwner.alipay(actor.sellerId);
    const existing = this.trades.find(owner, biz.out_trade_no);
    if (existing?.state === 'SUCCESS') return fail('40004', 'ACQ.TRADE_HAS_SUCCESS', 'trade already paid');
    if (existing?.state === 'CLOSED') return fail('40004', 'ACQ.TRADE_HAS_CLOSE', 'trade closed');
    if (existing) return fail('40004', 'ACQ.CONTEXT_INCONSISTENT', 'a trade of this out_trade_no exists');
    const trade: SandboxTrade = {
      ...this.newTrade(actor, biz, amountFen, notifyUrl),
      // Alipay knows a barcode trade from the pay call on, with its trade_no.
      scanned: true,
      transactionId: newTradeNo(),
      notifications: [],
    };
    this.trades.put(trade);
    const outcome: BarcodePayOutcome = startBarcode(trade, biz.auth_code, () => this.settle(trade));
    const details = {
      trade_no: trade.transactionId,
      out_trade_no: trade.outTradeNo,
      buyer_logon_id: 'buy***@sandbox.example',
      total_amount: fenToYuan(amountFen),
    };
    switch (outcome) {
      case 'paid':
        return {
          code: '10000',
          msg: 'Success',
          ...details,
          receipt_amount: fenToYuan(amountFen),
          gmt_payment: trade.successTime,
        };
      case 'paying':
        return { code: '10003', msg: 'order success pay inprocess', ...details };
      case 'insufficient_funds':
        return fail('40004', 'ACQ.BUYER_BALANCE_NOT_ENOUGH', '买家余额不足');
      case 'invalid_code':
        return fail(
          '40004',
          'ACQ.PAYMENT_AUTH_CODE_INVALID',
          '支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款',
        );
      case 'unknown':
        return fail('20000', 'isp.unknown-error', 'system busy');
    }
  }

  /**
   * alipay.trade.cancel (撤销), by out_trade_no or trade_no: closes an unpaid trade (`action` close), refunds a
   * paid one in full (`action` refund); `retry_flag` Y asks the merchant to cancel again. A trade Alipay does
   * not have is a success without `action` ("returned when the call succeeds and the trade exists").
   */
  private cancel(owner: string, biz: Record<string, string>): Reply {
    if (!biz.out_trade_no && !biz.trade_no) {
      return fail('40004', 'ACQ.INVALID_PARAMETER', 'out_trade_no or trade_no is required');
    }
    // With both given, Alipay goes by trade_no.
    const trade = biz.trade_no
      ? [...this.trades.of([owner])].find((t) => t.channel === 'alipay' && t.transactionId === biz.trade_no)
      : this.trades.find(owner, biz.out_trade_no);
    if (!trade) return { code: '10000', msg: 'Success', out_trade_no: biz.out_trade_no, retry_flag: 'N' };
    const ids = { out_trade_no: trade.outTradeNo, trade_no: trade.transactionId };
    switch (reverseBarcode(trade, () => this.settle(trade))) {
      case 'again':
        return { ...fail('40004', 'ACQ.SYSTEM_ERROR', 'system error, cancel again'), ...ids, retry_flag: 'Y' };
      case 'unknown':
        return fail('20000', 'isp.unknown-error', 'system busy');
      case 'closed':
        return { code: '10000', msg: 'Success', ...ids, retry_flag: 'N', action: 'close' };
      case 'refunded':
        return {
          code: '10000',
          msg: 'Success',
          ...ids,
          retry_flag: 'N',
          action: 'refund',
          gmt_refund_pay: beijingTimestamp(new Date()),
        };
    }
  }

  private query(trade: SandboxTrade | undefined): Reply {
    // Until the buyer scans, Alipay does not know the trade.
    if (!trade || (trade.state === 'NOTPAY' && !trade.scanned)) {
      return fail('40004', 'ACQ.TRADE_NOT_EXIST', 'trade does not exist');
    }
    const status = { NOTPAY: 'WAIT_BUYER_PAY', SUCCESS: 'TRADE_SUCCESS', CLOSED: 'TRADE_CLOSED' }[trade.state];
    return {
      code: '10000',
      msg: 'Success',
      out_trade_no: trade.outTradeNo,
      trade_no: trade.transactionId,
      trade_status: status,
      total_amount: fenToYuan(trade.amountFen),
      send_pay_date: trade.successTime,
    };
  }

  private close(trade: SandboxTrade | undefined): Reply {
    // Until the buyer scans, Alipay does not know the trade: there is nothing to close.
    if (!trade || (trade.state === 'NOTPAY' && !trade.scanned)) {
      return fail('40004', 'ACQ.TRADE_NOT_EXIST', 'trade does not exist');
    }
    // Only a trade waiting for the buyer's payment can be closed (a paid or closed one cannot).
    if (trade.state !== 'NOTPAY') return fail('40004', 'ACQ.TRADE_STATUS_ERROR', 'trade status error');
    trade.state = 'CLOSED';
    return { code: '10000', msg: 'Success', out_trade_no: trade.outTradeNo };
  }

  private refund(trade: SandboxTrade | undefined, biz: Record<string, string>): Reply {
    if (!trade || trade.state !== 'SUCCESS') return fail('40004', 'ACQ.TRADE_STATUS_ERROR', 'trade is not paid');
    const existing = trade.refunds?.find((r) => r.refundNo === biz.out_request_no);
    if (existing)
      return {
        code: '10000',
        msg: 'Success',
        trade_no: trade.transactionId,
        fund_change: 'N',
        refund_fee: fenToYuan(existing.amountFen),
      };
    const amount = yuanToFen(biz.refund_amount ?? '');
    const refunded = (trade.refunds ?? []).reduce((sum, r) => sum + r.amountFen, 0);
    if (amount === undefined || amount <= 0 || refunded + amount > trade.amountFen) {
      return fail('40004', 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', 'refund amount exceeds what is left');
    }
    (trade.refunds ??= []).push({
      refundNo: biz.out_request_no ?? '',
      refundId: trade.transactionId ?? '',
      amountFen: amount,
      at: new Date().toISOString(),
    });
    return {
      code: '10000',
      msg: 'Success',
      trade_no: trade.transactionId,
      fund_change: 'Y',
      refund_fee: fenToYuan(refunded + amount),
    };
  }

  private refundQuery(trade: SandboxTrade | undefined, biz: Record<string, string>): Reply {
    const refund = trade?.refunds?.find((r) => r.refundNo === biz.out_request_no);
    if (!trade || !refund) return { code: '10000', msg: 'Success' }; // Alipay answers an empty success
    return {
      code: '10000',
      msg: 'Success',
      trade_no: trade.transactionId,
      out_trade_no: trade.outTradeNo,
      out_request_no: refund.refundNo,
      refund_amount: fenToYuan(refund.amountFen),
      refund_status: 'REFUND_SUCCESS',
    };
  }

  /** Signed with Alipay's key for the app that asked (the default app's when the app_id is unknown). */
  private reply(res: Response, app: AlipayApp | undefined, responseKey: string, node: Reply): void {
    const json = JSON.stringify(node);
    const sign = rsa2Sign(json, (app ?? this.defaultApp()).alipayPrivateKey);
    res.status(200).type('application/json').send(`{"${responseKey}":${json},"sign":"${sign}"}`);
  }

  private defaultApp(): AlipayApp {
    return this.merchants.alipay(this.settings.alipay.appId) as AlipayApp;
  }

  /** Sends the notification and resends on Alipay's schedule until the merchant answers exactly `success`. */
  private notify(trade: SandboxTrade): void {
    const notifyId = randomBytes(16).toString('hex'); // the same on every resend
    this.notifier.notify(trade, {
      resendScheduleMs: ALIPAY_RESEND_SCHEDULE_MS,
      send: (faults) => this.sendOnce(trade, notifyId, faults),
      acknowledged: (reply) => reply.reply === 'success',
    });
  }

  /**
   * One notification, signed with Alipay's key for the app that made the trade: `app_id` is that app,
   * `auth_app_id` the merchant it acted for (the same app unless a third-party app used an app_auth_token).
   */
  private sendOnce(trade: SandboxTrade, notifyId: string, faults: SandboxFaults): Promise<MerchantReply> {
    const app = this.merchants.alipay(trade.appid) ?? this.defaultApp();
    const amount = fenToYuan(faults.wrongAmountFen ?? trade.amountFen);
    const fields: Record<string, string> = {
      notify_time: beijingTimestamp(new Date()),
      notify_type: 'trade_status_sync',
      notify_id: notifyId,
      app_id: trade.appid,
      auth_app_id: trade.alipay?.authAppId ?? trade.appid,
      seller_id: trade.alipay?.sellerId ?? app.record.sellerId,
      charset: 'utf-8',
      version: '1.0',
      sign_type: 'RSA2',
      trade_no: trade.transactionId ?? '',
      out_trade_no: trade.outTradeNo,
      trade_status: 'TRADE_SUCCESS',
      total_amount: amount,
      receipt_amount: amount,
      buyer_pay_amount: amount,
      subject: trade.description,
      gmt_create: trade.successTime ?? '',
      gmt_payment: trade.successTime ?? '',
    };
    const key = faults.badSignature ? this.settings.alipay.strangerPrivateKey : app.alipayPrivateKey;
    fields.sign = rsa2Sign(alipaySignContent(fields, ['sign', 'sign_type']), key);
    return postNotification(trade.notifyUrl, {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: new URLSearchParams(fields).toString(),
      timeoutMs: 10_000,
    });
  }
}

const MESSAGES: Record<string, string> = {
  '20000': 'Service Currently Unavailable',
  '20001': 'Insufficient Token Permissions',
};

function fail(code: string, subCode: string, subMsg: string): Reply {
  return {
    code,
    msg: MESSAGES[code] ?? 'Business Failed',
    sub_code: subCode,
    sub_msg: subMsg,
  };
}

/**
 * The parameters of an app order string (`k=v&…`, each value URI-encoded, as the app SDK receives it), or undefined
 * when it is not one: a parameter twice, a bad escape.
 */
function parseOrderString(orderString: unknown): Record<string, string> | undefined {
  if (typeof orderString !== 'string' || orderString.length === 0 || orderString.length > 16_384) return undefined;
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const pair of orderString.split('&')) {
    const at = pair.indexOf('=');
    if (at <= 0) return undefined;
    const key = pair.slice(0, at);
    if (key in params) return undefined;
    try {
      params[key] = decodeURIComponent(pair.slice(at + 1));
    } catch {
      return undefined;
    }
  }
  return params;
}
