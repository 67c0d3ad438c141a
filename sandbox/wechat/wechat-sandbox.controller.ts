import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import type { Request, Response } from 'express';
import { isIP } from 'node:net';
import { cashierPath } from '../cashier/cashier.page';
import { type WechatMerchant, SandboxMerchants } from '../merchants/sandbox-merchants';
import { type SandboxTrade, SandboxTrades, tradeOwner } from '../sandbox-trades';
import { appPayMessage, inAppPayMessage, rsaVerify } from '../../src/gateways/wire/wechatpay.protocol';
import {
  miniProgramAppIdOf,
  mobileAppIdOf,
  type NativeOrder,
  WECHAT_AUTH_CODE,
  WechatSandboxVendor,
} from './wechat-sandbox-vendor';

export { WECHAT_RESEND_SCHEDULE_MS } from './wechat-sandbox-vendor';

interface NativeOrderBody {
  appid?: string;
  mchid?: string;
  description?: string;
  out_trade_no?: string;
  notify_url?: string;
  time_expire?: string;
  amount?: { total?: number; currency?: string };
}

interface CodePayBody {
  appid?: string;
  mchid?: string;
  description?: string;
  out_trade_no?: string;
  payer?: { auth_code?: string };
  amount?: { total?: number; currency?: string };
  scene_info?: { device_id?: string; device_ip?: string; store_info?: { id?: string; out_id?: string } };
}

interface RefundBody {
  sub_mchid?: string;
  out_trade_no?: string;
  out_refund_no?: string;
  notify_url?: string;
  amount?: { refund?: number; total?: number };
}

/**
 * WeChat Pay API v3 as the sandbox vendor, the direct-merchant APIs and those a service provider shares with
 * them (refunds, bills, by `sub_mchid`); the partner transaction APIs are in WechatPartnerSandboxController.
 * Plus the buyer's side: pay a trade, see it, and the fault switches.
 */
@Controller()
export class WechatSandboxController {
  constructor(
    @Inject(SandboxTrades) private readonly trades: SandboxTrades,
    @Inject(SandboxMerchants) private readonly merchants: SandboxMerchants,
    @Inject(WechatSandboxVendor) private readonly vendor: WechatSandboxVendor,
  ) {}

  @Post('/v3/pay/transactions/native')
  async native(@Req() req: RawBodyRequest<Request>, @Res() res: Response) {
    const order = await this.directOrder<NativeOrderBody>(req, res, (appid) => [appid]);
    if (!order) return;
    return this.vendor.placeNative(res, order.merchant, nativeOrderOf(order.merchant, order.body));
  }

  /**
   * 付款码支付 (APIv3, direct merchants): appid, mchid, description, out_trade_no, payer.auth_code, amount.total and
   * scene_info.store_info are required; a missing or malformed one (a code that is not WeChat's 18 digits) is
   * 400 PARAM_ERROR and makes no trade.
   */
  @Post('/v3/pay/transactions/codepay')
  async codePay(@Req() req: RawBodyRequest<Request>, @Res() res: Response) {
    const order = await this.directOrder<CodePayBody>(req, res, (appid) => [appid]);
    if (!order) return;
    const { merchant, body } = order;
    const problem = codePayProblem(body);
    if (problem) {
      return this.vendor.reply(res, merchant, 400, {
        code: 'PARAM_ERROR',
        message: `参数错误: ${problem}`,
        detail: { location: 'body', value: problem },
      });
    }
    return this.vendor.codePay(res, merchant, {
      owner: tradeOwner.wechat(merchant.record.mchid),
      mchid: merchant.record.mchid,
      appid: merchant.record.appid,
      outTradeNo: body.out_trade_no as string,
      description: body.description as string,
      total: body.amount?.total as number,
      authCode: body.payer?.auth_code as string,
    });
  }

  /** 撤销 a code payment (APIv3, direct merchants): the body names appid and mchid. */
  @Post('/v3/pay/transactions/out-trade-no/:outTradeNo/reverse')
  async reverse(@Req() req: RawBodyRequest<Request>, @Res() res: Response, @Param('outTradeNo') outTradeNo: string) {
    const merchant = this.vendor.authenticate(req, res);
    if (!merchant) return;
    if (await this.vendor.injectedApiFault(res, merchant, outTradeNo)) return;
    const body = JSON.parse(req.rawBody?.toString('utf8') || '{}') as { appid?: string; mchid?: string };
    if (this.refusedServiceProvider(res, merchant)) return;
    if (body.mchid !== merchant.record.mchid || body.appid !== merchant.record.appid) {
      return this.vendor.reply(res, merchant, 400, { code: 'PARAM_ERROR', message: 'appid and mchid do not match' });
    }
    return this.vendor.reverse(res, merchant, this.trades.find(tradeOwner.wechat(merchant.record.mchid), outTradeNo));
  }

  /**
   * An in-app order (JSAPI; the same API for a mini-program): for an app the merchant owns (its official account,
   * or its mini-program), for a buyer's openid; answered with the prepay_id the buyer's in-app call pays.
   */
  @Post('/v3/pay/transactions/jsapi')
  async jsapi(@Req() req: RawBodyRequest<Request>, @Res() res: Response) {
    const order = await this.directOrder<NativeOrderBody & { payer?: { openid?: string } }>(req, res, (appid) => [
      appid,
      miniProgramAppIdOf(appid),
    ]);
    if (!order) return;
    const { merchant, body } = order;
    const openid = body.payer?.openid;
    if (typeof openid !== 'string' || !/^[A-Za-z0-9_-]{16,64}$/.test(openid)) {
      return this.vendor.reply(res, merchant, 400, { code: 'PARAM_ERROR', message: 'payer.openid is required' });
    }
    return this.vendor.placeNative(res, merchant, { ...nativeOrderOf(merchant, body), openid });
  }

  /**
   * An H5 order (a phone browser outside WeChat): the buyer's IP and the H5 scene are required, as WeChat requires
   * them; answered with the h5_url the browser opens — here the sandbox cashier, which shows the trade on a phone.
   */
  @Post('/v3/pay/transactions/h5')
  async h5(@Req() req: RawBodyRequest<Request>, @Res() res: Response) {
    const order = await this.directOrder<
      NativeOrderBody & { scene_info?: { payer_client_ip?: string; h5_info?: { type?: string } } }
    >(req, res, (appid) => [appid]);
    if (!order) return;
    const { merchant, body } = order;
    const ip = body.scene_info?.payer_client_ip ?? '';
    if (isIP(ip) === 0 || !['Wap', 'iOS', 'Android'].includes(body.scene_info?.h5_info?.type ?? '')) {
      return this.vendor.reply(res, merchant, 400, {
        code: 'PARAM_ERROR',
        message: 'scene_info.payer_client_ip and scene_info.h5_info.type are required',
      });
    }
    return this.vendor.placeNative(res, merchant, {
      ...nativeOrderOf(merchant, body),
      // Like WeChat's checkmweb?prepay_id=…&package=…: a query the merchant appends its redirect_url to.
      h5Url: `${req.protocol}://${req.get('host')}${cashierPath(body.out_trade_no ?? '')}?scene=h5`,
    });
  }

  /**
   * The buyer's WeChat app paying an in-app order as `wx.requestPayment` / `getBrandWCPayRequest` would: the
   * parameters the merchant handed its page, checked as WeChat checks them — the prepay_id names a trade of that
   * app, the buyer is the one it was made for, and `paySign` is the merchant key's signature over
   * `appId\ntimeStamp\nnonceStr\npackage\n`. Anything else pays nothing.
   */
  @Post('/sandbox/wechat/in-app/pay')
  @HttpCode(200)
  inAppPay(
    @Body()
    call: {
      appId?: string;
      timeStamp?: string;
      nonceStr?: string;
      package?: string;
      signType?: string;
      paySign?: string;
      openid?: string;
    },
    @Res() res: Response,
  ) {
    const prepayId = call.package?.startsWith('prepay_id=') ? call.package.slice('prepay_id='.length) : undefined;
    const trade = [...this.trades.all()].find((t) => t.inApp && t.inApp.prepayId === prepayId);
    const merchant = trade ? this.merchants.wechat(trade.mchid) : undefined;
    const refuse = (error: string) => res.status(400).json({ error });
    if (!trade || !merchant) return refuse('PREPAY_ID_NOT_FOUND');
    if (call.appId !== trade.appid) return refuse('APPID_MISMATCH');
    if (call.openid !== trade.inApp?.openid) return refuse('PAYER_MISMATCH');
    const message = inAppPayMessage(call.appId ?? '', call.timeStamp ?? '', call.nonceStr ?? '', call.package ?? '');
    if (call.signType !== 'RSA' || !call.paySign || !rsaVerify(message, call.paySign, merchant.merchantPublicKey)) {
      return refuse('SIGN_ERROR');
    }
    return this.buyerPays(res, trade);
  }

  /**
   * An APP order: made under one of the merchant's mobile apps (its Open Platform app, bound to its mchid — not
   * the official account's appid); answered with the prepay_id the merchant's app hands WeChat's app SDK.
   */
  @Post('/v3/pay/transactions/app')
  async app(@Req() req: RawBodyRequest<Request>, @Res() res: Response) {
    const order = await this.directOrder<NativeOrderBody>(req, res, (appid) => [mobileAppIdOf(appid)]);
    if (!order) return;
    return this.vendor.placeNative(res, order.merchant, { ...nativeOrderOf(order.merchant, order.body), app: true });
  }

  /**
   * WeChat's app SDK paying an APP order (`PayReq` sent by the merchant's app): the parameters the merchant's
   * server handed its app, checked as WeChat checks them — the prepay_id names a trade of that mobile app and
   * merchant (`partnerId`), `package` is `Sign=WXPay`, and `sign` is the merchant key's signature over
   * `appId\ntimeStamp\nnonceStr\nprepayId\n`. Anything else pays nothing.
   */
  @Post('/sandbox/wechat/app/pay')
  @HttpCode(200)
  appPay(
    @Body()
    call: {
      appId?: string;
      partnerId?: string;
      prepayId?: string;
      package?: string;
      nonceStr?: string;
      timeStamp?: string;
      sign?: string;
    },
    @Res() res: Response,
  ) {
    const trade = call.prepayId ? [...this.trades.all()].find((t) => t.app?.prepayId === call.prepayId) : undefined;
    const merchant = trade ? this.merchants.wechat(trade.mchid) : undefined;
    const refuse = (error: string) => res.status(400).json({ error });
    if (!trade || !merchant) return refuse('PREPAY_ID_NOT_FOUND');
    if (call.appId !== trade.appid) return refuse('APPID_MISMATCH');
    if (call.partnerId !== trade.mchid) return refuse('PARTNERID_MISMATCH');
    const message = appPayMessage(call.appId ?? '', call.timeStamp ?? '', call.nonceStr ?? '', call.prepayId ?? '');
    if (call.package !== 'Sign=WXPay' || !call.sign || !rsaVerify(message, call.sign, merchant.merchantPublicKey)) {
      return refuse('SIGN_ERROR');
    }
    return this.buyerPays(res, trade);
  }

  /** The buyer's client passed WeChat's checks: an unpaid trade is paid (and notified); another one is refused. */
  private buyerPays(res: Response, trade: SandboxTrade) {
    if (trade.state !== 'NOTPAY') {
      return res.status(400).json({ error: trade.state === 'SUCCESS' ? 'ORDERPAID' : 'ORDERCLOSED' });
    }
    this.vendor.pay(trade);
    return res.status(200).json({ paid: true, outTradeNo: trade.outTradeNo });
  }

  @Get('/v3/pay/transactions/out-trade-no/:outTradeNo')
  async query(
    @Req() req: RawBodyRequest<Request>,
    @Res() res: Response,
    @Param('outTradeNo') outTradeNo: string,
    @Query('mchid') mchid?: string,
  ) {
    const merchant = this.vendor.authenticate(req, res);
    if (!merchant) return;
    if (await this.vendor.injectedApiFault(res, merchant, outTradeNo)) return;
    if (this.refusedServiceProvider(res, merchant) || this.otherMchid(res, merchant, mchid)) return;
    const trade = this.trades.find(tradeOwner.wechat(merchant.record.mchid), outTradeNo);
    if (!trade)
      return this.vendor.reply(res, merchant, 404, { code: 'ORDER_NOT_EXIST', message: 'order does not exist' });
    return this.vendor.reply(res, merchant, 200, this.vendor.transactionOf(trade));
  }

  @Post('/v3/pay/transactions/out-trade-no/:outTradeNo/close')
  async close(@Req() req: RawBodyRequest<Request>, @Res() res: Response, @Param('outTradeNo') outTradeNo: string) {
    const merchant = this.vendor.authenticate(req, res);
    if (!merchant) return;
    if (await this.vendor.injectedApiFault(res, merchant, outTradeNo)) return;
    const body = JSON.parse(req.rawBody?.toString('utf8') || '{}') as { mchid?: string };
    if (this.refusedServiceProvider(res, merchant) || this.otherMchid(res, merchant, body.mchid)) return;
    return this.vendor.close(res, merchant, this.trades.find(tradeOwner.wechat(merchant.record.mchid), outTradeNo));
  }

  /** A direct merchant's refund, or a service provider's for one of its sub-merchants (`sub_mchid`, required then). */
  @Post('/v3/refund/domestic/refunds')
  async refund(@Req() req: RawBodyRequest<Request>, @Res() res: Response) {
    const merchant = this.vendor.authenticate(req, res);
    if (!merchant) return;
    const body = JSON.parse(req.rawBody?.toString('utf8') ?? '{}') as RefundBody;
    if (await this.vendor.injectedApiFault(res, merchant, body.out_trade_no)) return;
    const faults = this.trades.faultsFor(body.out_trade_no);
    const refusal = faults.refundRefusal ?? (faults.balanceShort ? 'NOT_ENOUGH' : undefined);
    if (refusal) {
      const status = { NOT_ENOUGH: 403, FREQUENCY_LIMITED: 429, SYSTEM_ERROR: 500 }[refusal] ?? 400;
      return this.vendor.reply(res, merchant, status, { code: refusal, message: `refund refused: ${refusal}` });
    }
    const owner = this.ownerOf(res, merchant, body.sub_mchid);
    if (owner === undefined) return;
    return this.vendor.refund(res, merchant, this.trades.find(owner, body.out_trade_no), body);
  }

  @Get('/v3/refund/domestic/refunds/:outRefundNo')
  async refundQuery(
    @Req() req: RawBodyRequest<Request>,
    @Res() res: Response,
    @Param('outRefundNo') outRefundNo: string,
    @Query('sub_mchid') subMchid?: string,
  ) {
    const merchant = this.vendor.authenticate(req, res);
    if (!merchant) return;
    if (await this.vendor.injectedApiFault(res, merchant, undefined)) return;
    const owner = this.ownerOf(res, merchant, subMchid);
    if (owner === undefined) return;
    const found = this.trades.findRefund(owner, outRefundNo);
    if (!found || found.trade.channel !== 'wechat')
      return this.vendor.reply(res, merchant, 404, { code: 'RESOURCE_NOT_EXISTS', message: 'refund does not exist' });
    return this.vendor.reply(res, merchant, 200, this.vendor.refundOf(found.trade, found.refund));
  }

  /**
   * The trade bill's download link for a day (bill_type ALL): a merchant's own trades; a service provider's
   * for one sub-merchant (`sub_mchid`) or, without it, for all of them ("不填则返回服务商下所有子商户的全量账单").
   */
  @Get('/v3/bill/tradebill')
  tradeBill(
    @Req() req: RawBodyRequest<Request>,
    @Res() res: Response,
    @Query('bill_date') billDate: string,
    @Query('sub_mchid') subMchid?: string,
  ) {
    const merchant = this.vendor.authenticate(req, res);
    if (!merchant) return;
    const { record } = merchant;
    let owners: string[];
    if (record.kind === 'service_provider' && subMchid === undefined) {
      owners = record.subMerchants.map((sub) => tradeOwner.wechatPartner(record.mchid, sub.subMchid));
    } else {
      const owner = this.ownerOf(res, merchant, subMchid);
      if (owner === undefined) return;
      owners = [owner];
    }
    return this.vendor.tradeBill(req, res, merchant, this.trades.of(owners), billDate);
  }

  /** The file itself: the request is signed, the answer is not (the merchant checks the SHA-1). */
  @Get('/v3/billdownload/file')
  billFile(@Req() req: RawBodyRequest<Request>, @Res() res: Response, @Query('token') token: string) {
    const merchant = this.vendor.authenticate(req, res);
    if (!merchant) return;
    this.vendor.billFile(res, merchant, token);
  }

  /**
   * Buyer simulation, for a trade of any merchant: the buyer scans and pays; the vendor then notifies the
   * merchant. Answers JSON, or sends a form post (the cashier without script) back to the cashier page.
   */
  @Post('/sandbox/wechat/trades/:outTradeNo/pay')
  pay(@Param('outTradeNo') outTradeNo: string, @Req() req: Request, @Res() res: Response) {
    const trade = this.trades.get(outTradeNo);
    let result: { ok: boolean; error?: string; trade?: unknown };
    if (!trade) result = { ok: false, error: 'ORDER_NOT_EXIST' };
    else if (trade.state === 'CLOSED') result = { ok: false, error: 'ORDERCLOSED' };
    else {
      this.vendor.pay(trade);
      result = { ok: true, trade: this.vendor.transactionOf(trade) };
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

  /** Every trade the sandbox holds, of any channel and merchant (what the vendor knows: checkers compare it with the books). */
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

  /**
   * The checks WeChat makes on every direct merchant's order (Native, JSAPI, H5, APP, code-pay) before the mode's
   * own: the request is signed by the merchant its Authorization names (else 401), the fault switches, a service
   * provider is refused (it has the partner APIs), and the body names that merchant's mchid and one of `apps`
   * (given the merchant's official-account appid: the apps it may order under in this mode). Answers the refusal
   * and returns undefined.
   */
  private async directOrder<T extends { appid?: string; mchid?: string; out_trade_no?: string }>(
    req: RawBodyRequest<Request>,
    res: Response,
    apps: (appid: string) => string[],
  ): Promise<{ merchant: WechatMerchant; body: T } | undefined> {
    const merchant = this.vendor.authenticate(req, res);
    if (!merchant) return undefined;
    const body = JSON.parse(req.rawBody?.toString('utf8') || '{}') as T;
    if (await this.vendor.injectedApiFault(res, merchant, body.out_trade_no)) return undefined;
    if (this.refusedServiceProvider(res, merchant)) return undefined;
    if (body.mchid !== merchant.record.mchid || !apps(merchant.record.appid).includes(body.appid ?? '')) {
      this.vendor.reply(res, merchant, 400, { code: 'PARAM_ERROR', message: 'appid and mchid do not match' });
      return undefined;
    }
    return { merchant, body };
  }

  /**
   * Whose trades a refund or bill request reaches: a direct merchant's own (it may not name a sub_mchid), or
   * one sub-merchant of a service provider (which must name it). Answers the refusal and returns undefined.
   */
  private ownerOf(res: Response, merchant: WechatMerchant, subMchid: string | undefined): string | undefined {
    const { record } = merchant;
    if (record.kind === 'direct') {
      if (subMchid === undefined) return tradeOwner.wechat(record.mchid);
      this.vendor.reply(res, merchant, 400, { code: 'PARAM_ERROR', message: '普通商户不允许传入sub_mchid' });
      return undefined;
    }
    const check = this.merchants.checkSubMerchant(merchant, subMchid);
    if (check.ok) return tradeOwner.wechatPartner(record.mchid, check.sub.subMchid);
    this.vendor.reply(res, merchant, check.status, { code: check.code, message: check.message });
    return undefined;
  }

  /** A service provider cannot use the direct transaction APIs: WeChat wants its sub-merchant ("受理机构必须传入sub_mch_id"). */
  private refusedServiceProvider(res: Response, merchant: WechatMerchant): boolean {
    if (merchant.record.kind === 'direct') return false;
    this.vendor.reply(res, merchant, 400, { code: 'PARAM_ERROR', message: '受理机构必须传入sub_mch_id' });
    return true;
  }

  /** The mchid a query or close names must be the one that signed it. */
  private otherMchid(res: Response, merchant: WechatMerchant, mchid: string | undefined): boolean {
    if (mchid === undefined || mchid === merchant.record.mchid) return false;
    this.vendor.reply(res, merchant, 400, {
      code: 'PARAM_ERROR',
      message: 'http header中的mchid与请求中的mchid不匹配',
    });
    return true;
  }
}

/** What an order of a direct merchant says of its trade, checked by directOrder: the fields every mode shares. */
function nativeOrderOf(merchant: WechatMerchant, body: NativeOrderBody): NativeOrder {
  return {
    owner: tradeOwner.wechat(merchant.record.mchid),
    mchid: merchant.record.mchid,
    appid: body.appid ?? '',
    outTradeNo: body.out_trade_no,
    description: body.description,
    notifyUrl: body.notify_url,
    timeExpire: body.time_expire,
    total: body.amount?.total,
  };
}

/** The first required field of a code-pay request that is missing or malformed, or undefined when all are good. */
function codePayProblem(body: CodePayBody): string | undefined {
  const total = body.amount?.total;
  const storeInfo = body.scene_info?.store_info;
  const authCode: unknown = body.payer?.auth_code;
  const checks: [string, boolean][] = [
    ['description', !!body.description && body.description.length <= 127],
    ['out_trade_no', /^[0-9A-Za-z_*|-]{1,32}$/.test(body.out_trade_no ?? '')],
    ['amount.total', typeof total === 'number' && Number.isSafeInteger(total) && total > 0],
    ['amount.currency', body.amount?.currency === undefined || body.amount.currency === 'CNY'],
    ['scene_info.store_info', typeof storeInfo === 'object' && storeInfo !== null],
    ['payer.auth_code', typeof authCode === 'string' && WECHAT_AUTH_CODE.test(authCode)],
  ];
  return checks.find(([, ok]) => !ok)?.[0];
}
