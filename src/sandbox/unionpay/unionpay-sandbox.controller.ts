import { Controller, Header, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { randomBytes } from 'node:crypto';
import { signFields, UNIONPAY_VERSION, verifyFields } from '../../gateways/unionpay/unionpay.protocol';
import { SANDBOX_SETTINGS, type SandboxSettings } from '../sandbox.settings';
import { type SandboxFaults, type SandboxTrade, SandboxTrades } from '../sandbox-trades';

/** UnionPay's resends of an unacknowledged notification: about 10 s first, up to 5 sends (intervals not published). */
export const UNIONPAY_RESEND_SCHEDULE_MS = [10, 30, 90, 270].map((s) => s * 1000);

/**
 * UnionPay online gateway 5.1.0 as the sandbox: the front-end consume (the buyer's browser posts the
 * merchant's signed form and gets a cashier page), queryTrans, and signed notifications to backUrl.
 * Every answer carries the sandbox signing certificate in signPubKeyCert.
 */
@Controller()
export class UnionpaySandboxController {
  constructor(
    @Inject(SANDBOX_SETTINGS) private readonly settings: SandboxSettings,
    @Inject(SandboxTrades) private readonly trades: SandboxTrades,
  ) {}

  @Post('/gateway/api/frontTransReq.do')
  @Header('Content-Type', 'text/html; charset=utf-8')
  front(@Req() req: Request): string {
    const fields = req.body as Record<string, string>;
    const problem = this.checkRequest(fields);
    if (problem) return page(`<p>UnionPay sandbox refused the request: ${escape(problem)}</p>`);
    const amountFen = Number(fields.txnAmt);
    if (!fields.orderId || !fields.backUrl || !Number.isSafeInteger(amountFen) || amountFen <= 0) {
      return page('<p>orderId, txnAmt and backUrl are required</p>');
    }
    if (!this.trades.get(fields.orderId)) {
      this.trades.put({
        channel: 'unionpay',
        outTradeNo: fields.orderId,
        mchid: fields.merId,
        appid: '',
        description: '',
        amountFen,
        notifyUrl: fields.backUrl,
        state: 'NOTPAY',
        txnTime: fields.txnTime,
        notifications: [],
      });
    }
    return this.cashier(fields.orderId);
  }

  @Post('/gateway/api/queryTrans.do')
  async query(@Req() req: Request, @Res() res: Response): Promise<void> {
    const fields = req.body as Record<string, string>;
    const problem = this.checkRequest(fields);
    const faults = this.trades.faultsFor(fields.orderId);
    if (faults.apiDelayMs) await new Promise((resolve) => setTimeout(resolve, faults.apiDelayMs));
    if (faults.apiError) {
      res.status(500).send('system busy');
      return;
    }
    const base = {
      version: UNIONPAY_VERSION,
      encoding: 'UTF-8',
      signMethod: '01',
      txnType: '00',
      merId: fields.merId ?? '',
      orderId: fields.orderId ?? '',
    };
    if (problem) return this.reply(res, { ...base, respCode: '11', respMsg: problem });
    const trade = this.trades.get(fields.orderId);
    if (!trade || trade.channel !== 'unionpay')
      return this.reply(res, { ...base, respCode: '34', respMsg: 'order does not exist' });
    const paid = trade.state === 'SUCCESS';
    this.reply(res, {
      ...base,
      respCode: '00',
      respMsg: 'success',
      origRespCode: paid ? '00' : '05',
      origRespMsg: paid ? 'success' : 'in progress',
      txnAmt: String(trade.amountFen),
      ...(paid ? { queryId: trade.transactionId ?? '' } : {}),
    });
  }

  /** The buyer pays on the cashier page; the sandbox then notifies backUrl. */
  @Post('/sandbox/unionpay/trades/:orderId/pay')
  pay(@Param('orderId') orderId: string, @Req() req: Request, @Res() res: Response): void {
    const trade = this.trades.get(orderId);
    if (!trade || trade.channel !== 'unionpay') {
      res.status(404).json({ ok: false, error: 'order does not exist' });
      return;
    }
    if (trade.state === 'NOTPAY') {
      trade.state = 'SUCCESS';
      trade.transactionId = `${Date.now()}${randomBytes(4).readUInt32BE().toString().padStart(10, '0')}`.slice(0, 21);
      void this.notify(trade);
    }
    if (req.is('application/x-www-form-urlencoded')) {
      res.type('html').send(this.cashier(orderId));
      return;
    }
    res.json({ ok: true, trade });
  }

  private cashier(orderId: string): string {
    const trade = this.trades.get(orderId);
    if (!trade) return page('<p>No such order.</p>');
    const yuan = `${Math.floor(trade.amountFen / 100)}.${String(trade.amountFen % 100).padStart(2, '0')}`;
    const action = `/sandbox/unionpay/trades/${encodeURIComponent(orderId)}/pay`;
    return page(
      `<h1>¥${yuan}</h1><p>Order <code>${escape(orderId)}</code>: <strong id="state">${trade.state}</strong></p>` +
        (trade.state === 'NOTPAY'
          ? `<form method="post" action="${action}"><button id="pay">Pay ¥${yuan}</button></form>`
          : ''),
    );
  }

  private checkRequest(fields: Record<string, string>): string | undefined {
    const { unionpay } = this.settings;
    if (fields.merId !== unionpay.merId) return `unknown merId ${fields.merId}`;
    if (fields.certId !== unionpay.merchantCertId) return `unknown certId ${fields.certId}`;
    if (!verifyFields(fields, unionpay.merchantPublicKey)) return 'signature verification failed';
    return undefined;
  }

  private signedByUs(fields: Record<string, string>, faults: SandboxFaults = {}): Record<string, string> {
    const { unionpay } = this.settings;
    const cert = faults.badSignature ? unionpay.strangerCertPem : unionpay.signCertPem;
    const key = faults.badSignature ? unionpay.strangerPrivateKey : unionpay.signPrivateKey;
    const all = { ...fields, signPubKeyCert: cert };
    return { ...all, signature: signFields(all, key) };
  }

  private reply(res: Response, fields: Record<string, string>): void {
    res
      .status(200)
      .type('text/plain')
      .send(new URLSearchParams(this.signedByUs(fields)).toString());
  }

  private async notify(trade: SandboxTrade): Promise<void> {
    const faults = this.trades.faultsFor(trade.outTradeNo);
    if (faults.dropNotifications) return;
    if (faults.delayNotificationMs) await new Promise((resolve) => setTimeout(resolve, faults.delayNotificationMs));
    const fields = this.signedByUs(
      {
        version: UNIONPAY_VERSION,
        encoding: 'UTF-8',
        signMethod: '01',
        txnType: '01',
        txnSubType: '01',
        bizType: '000201',
        accessType: '0',
        merId: trade.mchid,
        orderId: trade.outTradeNo,
        txnTime: trade.txnTime ?? '',
        txnAmt: String(faults.wrongAmountFen ?? trade.amountFen),
        currencyCode: '156',
        queryId: trade.transactionId ?? '',
        respCode: '00',
        respMsg: 'success',
        settleAmt: String(trade.amountFen),
      },
      faults,
    );
    for (const [attempt, delay] of [0, ...UNIONPAY_RESEND_SCHEDULE_MS].entries()) {
      await new Promise((resolve) => setTimeout(resolve, delay * this.settings.timeScale));
      const copies = Math.max(1, faults.duplicateNotifications ?? 1);
      const statuses = await Promise.all(
        Array.from({ length: copies }, async () => {
          try {
            const response = await fetch(trade.notifyUrl, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
              body: new URLSearchParams(fields).toString(),
              signal: AbortSignal.timeout(10_000),
            });
            await response.arrayBuffer();
            return response.status;
          } catch {
            return 'error' as const;
          }
        }),
      );
      for (const status of statuses)
        trade.notifications.push({ attempt: attempt + 1, status, at: new Date().toISOString() });
      if (statuses.includes(200)) return;
    }
  }
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>UnionPay sandbox</title>
<style>body{font-family:sans-serif;max-width:28rem;margin:3rem auto;text-align:center}
h1{color:#d7000f}button{background:#d7000f;color:#fff;border:0;padding:.8rem 2rem;font-size:1.1rem;border-radius:.4rem}</style>
</head><body>${body}</body></html>`;
}
