import { Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import type { Request, Response } from 'express';
import { type WechatMerchant, SandboxMerchants } from '../merchants/sandbox-merchants';
import { SandboxTrades, tradeOwner } from '../sandbox-trades';
import { WechatSandboxVendor } from './wechat-sandbox-vendor';

interface PartnerNativeBody {
  sp_appid?: string;
  sp_mchid?: string;
  sub_appid?: string;
  sub_mchid?: string;
  description?: string;
  out_trade_no?: string;
  notify_url?: string;
  time_expire?: string;
  amount?: { total?: number; currency?: string };
}

/**
 * WeChat Pay's partner (服务商) transaction APIs, as wechatpay-go's services/partnerpayments/native calls them: a
 * service provider signs with its own key and names the sub-merchant (sub_mchid) it acts for; the trade
 * belongs to that sub-merchant under that service provider. Refunds and bills share the direct paths
 * (WechatSandboxController, with `sub_mchid`).
 */
@Controller('/v3/pay/partner/transactions')
export class WechatPartnerSandboxController {
  constructor(
    @Inject(SandboxTrades) private readonly trades: SandboxTrades,
    @Inject(SandboxMerchants) private readonly merchants: SandboxMerchants,
    @Inject(WechatSandboxVendor) private readonly vendor: WechatSandboxVendor,
  ) {}

  @Post('native')
  async native(@Req() req: RawBodyRequest<Request>, @Res() res: Response) {
    const sp = this.vendor.authenticate(req, res);
    if (!sp) return;
    const body = JSON.parse(req.rawBody?.toString('utf8') ?? '{}') as PartnerNativeBody;
    if (await this.vendor.injectedApiFault(res, sp, body.out_trade_no)) return;
    const owner = this.subMerchantOwner(res, sp, body.sp_mchid, body.sub_mchid);
    if (owner === undefined) return;
    const sub = sp.record.subMerchants.find((s) => s.subMchid === body.sub_mchid);
    // sp_appid is bound to the service provider, sub_appid (optional) to the sub-merchant.
    if (body.sp_appid !== sp.record.appid || (body.sub_appid !== undefined && body.sub_appid !== sub?.subAppid)) {
      return this.vendor.reply(res, sp, 400, { code: 'APPID_MCHID_NOT_MATCH', message: 'AppID和mch_id不匹配' });
    }
    return this.vendor.placeNative(res, sp, {
      owner,
      mchid: sp.record.mchid,
      appid: sp.record.appid,
      wechatPartner: { subMchid: body.sub_mchid as string, ...(body.sub_appid ? { subAppid: body.sub_appid } : {}) },
      outTradeNo: body.out_trade_no,
      description: body.description,
      notifyUrl: body.notify_url,
      timeExpire: body.time_expire,
      total: body.amount?.total,
    });
  }

  @Get('out-trade-no/:outTradeNo')
  async query(
    @Req() req: RawBodyRequest<Request>,
    @Res() res: Response,
    @Param('outTradeNo') outTradeNo: string,
    @Query('sp_mchid') spMchid?: string,
    @Query('sub_mchid') subMchid?: string,
  ) {
    const sp = this.vendor.authenticate(req, res);
    if (!sp) return;
    if (await this.vendor.injectedApiFault(res, sp, outTradeNo)) return;
    const owner = this.subMerchantOwner(res, sp, spMchid, subMchid);
    if (owner === undefined) return;
    const trade = this.trades.find(owner, outTradeNo);
    if (!trade) return this.vendor.reply(res, sp, 404, { code: 'ORDER_NOT_EXIST', message: 'order does not exist' });
    return this.vendor.reply(res, sp, 200, this.vendor.transactionOf(trade));
  }

  @Post('out-trade-no/:outTradeNo/close')
  async close(@Req() req: RawBodyRequest<Request>, @Res() res: Response, @Param('outTradeNo') outTradeNo: string) {
    const sp = this.vendor.authenticate(req, res);
    if (!sp) return;
    if (await this.vendor.injectedApiFault(res, sp, outTradeNo)) return;
    const body = JSON.parse(req.rawBody?.toString('utf8') || '{}') as { sp_mchid?: string; sub_mchid?: string };
    const owner = this.subMerchantOwner(res, sp, body.sp_mchid, body.sub_mchid);
    if (owner === undefined) return;
    return this.vendor.close(res, sp, this.trades.find(owner, outTradeNo));
  }

  /**
   * The owner of the trades a partner call reaches: the caller must be a service provider (403 NO_AUTH
   * otherwise), name itself as sp_mchid, and name one of its own sub-merchants. Answers the refusal and
   * returns undefined.
   */
  private subMerchantOwner(
    res: Response,
    sp: WechatMerchant,
    spMchid: string | undefined,
    subMchid: string | undefined,
  ): string | undefined {
    if (sp.record.kind !== 'service_provider') {
      this.vendor.reply(res, sp, 403, { code: 'NO_AUTH', message: '商户无权限: 非服务商商户号' });
      return undefined;
    }
    if (spMchid !== sp.record.mchid) {
      this.vendor.reply(res, sp, 400, { code: 'PARAM_ERROR', message: 'http header中的mchid与请求中的sp_mchid不匹配' });
      return undefined;
    }
    const check = this.merchants.checkSubMerchant(sp, subMchid);
    if (check.ok) return tradeOwner.wechatPartner(sp.record.mchid, check.sub.subMchid);
    this.vendor.reply(res, sp, check.status, { code: check.code, message: check.message });
    return undefined;
  }
}
