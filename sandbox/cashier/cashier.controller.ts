import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import QRCode from 'qrcode';
import { SandboxTrades } from '../sandbox-trades';
import { CASHIER_CSS, CASHIER_JS } from './cashier.assets';
import { cashierPage, messagePage } from './cashier.page';
import {
  DEFAULT_SECONDS,
  isPaymentCodeChannel,
  parseScenario,
  paymentCode,
  PAYMENT_CODE_CHANNELS,
} from './payment-code';
import { paymentCodePage } from './payment-code.page';

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
  async cashier(
    @Param('outTradeNo') outTradeNo: string,
    @Query('redirect_url') redirectUrl: unknown,
    @Res() res: Response,
  ): Promise<void> {
    const trade = this.trades.get(outTradeNo);
    if (!trade) {
      const text = `The sandbox holds no trade ${outTradeNo}. It keeps trades in memory: a restart forgets them.`;
      return sendHtml(res, 404, messagePage('No such trade', text));
    }
    // The QR code carries exactly what the vendor gave the merchant (code_url / qr_code), as a real scanner would read.
    const qrSvg = trade.codeUrl ? await qrSvgOf(trade.codeUrl) : undefined;
    const tradeFaults = this.trades.faultsOf(outTradeNo).trade;
    // WeChat H5's way back: the redirect_url the merchant appended to the h5_url (only a single value counts).
    const back = typeof redirectUrl === 'string' ? redirectUrl : undefined;
    sendHtml(res, 200, cashierPage({ trade, tradeFaults, qrSvg, redirectUrl: back }));
  }

  /**
   * The buyer's phone showing a payment code for a barcode demo: `channel` (default wechat), `scenario` by digit
   * or name (default pays), `seconds` 1–9 for password_then_pays. Every load draws a new code.
   */
  @Get('payment-code')
  async paymentCode(
    @Query('channel') channelQuery: unknown,
    @Query('scenario') scenarioQuery: unknown,
    @Query('seconds') secondsQuery: unknown,
    @Res() res: Response,
  ): Promise<void> {
    const channel = channelQuery ?? 'wechat';
    if (!isPaymentCodeChannel(channel)) {
      const text = `channel must be one of ${PAYMENT_CODE_CHANNELS.join(', ')}.`;
      return sendHtml(res, 400, messagePage('Unknown channel', text));
    }
    const scenario = scenarioQuery === undefined ? 'pays' : parseScenario(scenarioQuery);
    if (!scenario) {
      const text = 'scenario must be a digit 0–9 or a scenario name (pays, password_then_pays, … reverse_unknown).';
      return sendHtml(res, 400, messagePage('Unknown scenario', text));
    }
    if (secondsQuery !== undefined && (typeof secondsQuery !== 'string' || !/^[1-9]$/.test(secondsQuery))) {
      return sendHtml(res, 400, messagePage('Bad seconds', 'seconds must be a digit 1–9.'));
    }
    const seconds = secondsQuery === undefined ? DEFAULT_SECONDS : Number(secondsQuery);
    const code = paymentCode(channel, scenario, seconds);
    sendHtml(res, 200, paymentCodePage({ channel, scenario, seconds, code, qrSvg: await qrSvgOf(code) }));
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

/** Text drawn as a QR code in SVG, the same look for a trade's code URL and a buyer's payment code. */
function qrSvgOf(text: string): Promise<string> {
  return QRCode.toString(text, {
    type: 'svg',
    errorCorrectionLevel: 'M',
    margin: 2,
    color: { dark: '#111827', light: '#ffffff' },
  });
}

function sendHtml(res: Response, status: number, html: string): void {
  res
    .status(status)
    .type('html')
    .set({ 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'Cache-Control': 'no-store' })
    .send(html);
}
