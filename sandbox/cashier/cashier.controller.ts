import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import QRCode from 'qrcode';
import { SandboxTrades } from '../sandbox-trades';
import { CASHIER_CSS, CASHIER_JS } from './cashier.assets';
import { cashierPage, messagePage } from './cashier.page';

/**
 * Everything the page loads comes from the sandbox itself: no CDN, no inline script, no other origin. The
 * policy makes a stray external resource fail loudly in the browser instead of quietly needing the internet.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The buyer's side of every sandbox vendor: one cashier page per trade (WeChat Pay, Alipay, UnionPay), the
 * channel-neutral trade view it polls, and the faults in force for a trade.
 */
@Controller('sandbox')
export class CashierController {
  constructor(@Inject(SandboxTrades) private readonly trades: SandboxTrades) {}

  @Get('cashier/:outTradeNo')
  async cashier(@Param('outTradeNo') outTradeNo: string, @Res() res: Response): Promise<void> {
    const trade = this.trades.get(outTradeNo);
    if (!trade) {
      const text = `The sandbox holds no trade ${outTradeNo}. It keeps trades in memory: a restart forgets them.`;
      return sendHtml(res, 404, messagePage('No such trade', text));
    }
    // The QR code carries exactly what the vendor gave the merchant (code_url / qr_code), as a real scanner would read.
    const qrSvg = trade.codeUrl
      ? await QRCode.toString(trade.codeUrl, {
          type: 'svg',
          errorCorrectionLevel: 'M',
          margin: 2,
          color: { dark: '#111827', light: '#ffffff' },
        })
      : undefined;
    sendHtml(res, 200, cashierPage({ trade, tradeFaults: this.trades.faultsOf(outTradeNo).trade, qrSvg }));
  }

  @Get('assets/cashier.css')
  stylesheet(@Res() res: Response): void {
    res.status(200).type('text/css').set('Cache-Control', 'no-cache').send(CASHIER_CSS);
  }

  @Get('assets/cashier.js')
  script(@Res() res: Response): void {
    res.status(200).type('text/javascript').set('Cache-Control', 'no-cache').send(CASHIER_JS);
  }

  /** A trade of any channel with every notification attempt (404 when the sandbox does not hold it). */
  @Get('trades/:outTradeNo')
  trade(@Param('outTradeNo') outTradeNo: string, @Res() res: Response): void {
    const trade = this.trades.get(outTradeNo);
    if (!trade) res.status(404).json({ error: 'TRADE_NOT_EXIST' });
    else res.status(200).json(trade);
  }

  /** The faults set for one trade and the global ones (POST /sandbox/faults sets them). */
  @Get('faults')
  faults(@Query('outTradeNo') outTradeNo?: string) {
    return this.trades.faultsOf(outTradeNo);
  }
}

function sendHtml(res: Response, status: number, html: string): void {
  res
    .status(status)
    .type('html')
    .set({ 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'Cache-Control': 'no-store' })
    .send(html);
}
