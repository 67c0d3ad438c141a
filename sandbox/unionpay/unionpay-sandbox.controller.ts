import { Body, Controller, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { zipSync } from 'fflate';
import iconv from 'iconv-lite';
import { randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import {
  formatZmLine,
  signFields,
  UNIONPAY_VERSION,
  unionpayTime,
  verifyFields,
  ZM,
} from '../../src/gateways/wire/unionpay.protocol';
import { type BarcodePayOutcome, reverseBarcode, startBarcode } from '../barcode-scenarios';
import { cashierPath, messagePage } from '../cashier/cashier.page';
import { SandboxMerchants } from '../merchants/sandbox-merchants';
import { SANDBOX_SETTINGS, type SandboxSettings } from '../sandbox.settings';
import { postNotification, SandboxNotifier, sleep } from '../sandbox-notifier';
import { beijingDate, type SandboxFaults, type SandboxTrade, SandboxTrades, tradeOwner } from '../sandbox-trades';

/** UnionPay's resends of an unacknowledged notification: about 10 s first, up to 5 sends (intervals not published). */
export const UNIONPAY_RESEND_SCHEDULE_MS = [10, 30, 90, 270].map((s) => s * 1000);

/** What a back-end answer starts with: the protocol's fields, and the request's own fields it echoes back. */
function answerBase(fields: Record<string, string>, echoed: readonly string[]): Record<string, string> {
  return {
    version: UNIONPAY_VERSION,
    encoding: 'UTF-8',
    signMethod: '01',
    ...Object.fromEntries(echoed.map((name) => [name, fields[name] ?? ''])),
  };
}

/**
 * UnionPay online gateway 5.1.0 as the sandbox: the front-end consume (the buyer's browser posts the
 * merchant's signed form and gets a cashier page, a phone's for channelType 08), the app control's consume
 * (appTransReq: a tn, and a buyer client paying it as UnionPay's app SDK would), the QR-code consume of a buyer's payment code and its reversal
 * (冲正) through backTransReq, queryTrans, refunds through backTransReq, and signed notifications to backUrl. Every merchant it knows (by merId) signs with its own certificate (certId); a
 * merchant sees only its own orders. Every answer carries the sandbox's UnionPay signing certificate in
 * signPubKeyCert: UnionPay's own, the same for all merchants.
 */
@Controller()
export class UnionpaySandboxController {
  constructor(
    @Inject(SANDBOX_SETTINGS) private readonly settings: SandboxSettings,
    @Inject(SandboxTrades) private readonly trades: SandboxTrades,
    @Inject(SandboxNotifier) private readonly notifier: SandboxNotifier,
    @Inject(SandboxMerchants) private readonly merchants: SandboxMerchants,
  ) {}

  /**
   * The buyer's browser posts the merchant's signed form here: channelType 07 (a PC page) or 08 (a phone page). A
   * valid one goes on to the cashier (post/redirect/get), shown as a phone for 08, which links back to frontUrl.
   */
  @Post('/gateway/api/frontTransReq.do')
  front(@Req() req: Request, @Res() res: Response): void {
    const fields = req.body as Record<string, string>;
    let problem = this.checkRequest(fields);
    const amountFen = Number(fields.txnAmt);
    if (!problem && (!fields.orderId || !fields.backUrl || !Number.isSafeInteger(amountFen) || amountFen <= 0)) {
      problem = 'orderId, txnAmt and backUrl are required';
    }
    if (!problem && fields.channelType !== '07' && fields.channelType !== '08') {
      problem = 'channelType must be 07 (PC) or 08 (phone)';
    }
    if (!problem && fields.frontUrl !== undefined && !isWebUrl(fields.frontUrl)) problem = 'frontUrl is not a web URL';
    if (problem) {
      res.status(400).type('html').send(messagePage('UnionPay sandbox refused the request', problem));
      return;
    }
    const owner = tradeOwner.unionpay(fields.merId);
    if (!this.trades.find(owner, fields.orderId)) {
      this.trades.put({
        channel: 'unionpay',
        outTradeNo: fields.orderId,
        owner,
        mchid: fields.merId,
        appid: '',
        description: '',
        amountFen,
        notifyUrl: fields.backUrl,
        state: 'NOTPAY',
        txnTime: fields.txnTime,
        payTimeout: fromUnionpayTime(fields.payTimeout),
        ...(fields.channelType === '08' ? { phone: true } : {}),
        ...(fields.frontUrl ? { returnUrl: fields.frontUrl } : {}),
        notifications: [],
      });
    }
    res.redirect(303, cashierPath(fields.orderId));
  }

  /**
   * The app control's consume (手机控件支付): the merchant's server asks for a tn, signed as every back-end request
   * is; the trade is recorded and the signed answer carries the tn its app hands UnionPay's SDK. The same order asked
   * again while unpaid, for the same amount and txnTime, gets its tn again; any other reuse of the orderId is 12.
   */
  @Post('/gateway/api/appTransReq.do')
  async app(@Req() req: Request, @Res() res: Response): Promise<void> {
    const fields = req.body as Record<string, string>;
    const problem = this.checkRequest(fields);
    const base = answerBase(fields, ['txnType', 'txnSubType', 'bizType', 'accessType', 'merId', 'orderId', 'txnTime']);
    if (problem) return this.reply(res, { ...base, respCode: '11', respMsg: problem });
    const faults = this.trades.faultsFor(fields.orderId);
    if (faults.apiDelayMs) await sleep(faults.apiDelayMs);
    if (faults.apiError) {
      res.status(500).send('system busy');
      return;
    }
    const missing = ['orderId', 'txnTime', 'txnAmt', 'currencyCode', 'backUrl'].filter((key) => !fields[key]);
    if (missing.length) return this.reply(res, { ...base, respCode: '13', respMsg: `missing ${missing.join(', ')}` });
    const amountFen = Number(fields.txnAmt);
    let format: string | undefined;
    if (fields.txnType !== '01' || fields.txnSubType !== '01' || fields.bizType !== '000201')
      format = 'an app consume is txnType 01, txnSubType 01, bizType 000201';
    else if (fields.channelType !== '08') format = 'channelType must be 08 for the app control';
    else if (fields.accessType !== '0') format = 'accessType must be 0 (merchant)';
    else if (fields.currencyCode !== '156') format = 'currencyCode must be 156';
    else if (!/^\d+$/.test(fields.txnAmt) || !Number.isSafeInteger(amountFen) || amountFen <= 0) format = 'bad txnAmt';
    if (format) return this.reply(res, { ...base, respCode: '10', respMsg: format });
    const owner = tradeOwner.unionpay(fields.merId);
    const known = this.trades.find(owner, fields.orderId);
    if (known) {
      this.lapse(known);
      const same = known.amountFen === amountFen && known.txnTime === fields.txnTime && known.state === 'NOTPAY';
      if (!known.unionpayTn || !same) return this.reply(res, { ...base, respCode: '12', respMsg: 'duplicate order' });
      return this.reply(res, { ...base, respCode: '00', respMsg: 'success', tn: known.unionpayTn });
    }
    const tn = newQueryId();
    this.trades.put({
      channel: 'unionpay',
      outTradeNo: fields.orderId,
      owner,
      mchid: fields.merId,
      appid: '',
      description: '',
      amountFen,
      notifyUrl: fields.backUrl,
      state: 'NOTPAY',
      txnTime: fields.txnTime,
      payTimeout: fromUnionpayTime(fields.payTimeout),
      phone: true,
      unionpayTn: tn,
      notifications: [],
    });
    this.reply(res, { ...base, respCode: '00', respMsg: 'success', tn });
  }

  /**
   * The buyer's phone paying through UnionPay's app SDK, which the merchant's app starts with the tn: the tn must be
   * one UnionPay gave out, for a trade still payable. Paid, the merchant is notified as for every consume.
   */
  @Post('/sandbox/unionpay/app/pay')
  @HttpCode(200)
  appPay(@Body() call: { tn?: unknown } | undefined, @Res() res: Response): void {
    const tn = typeof call?.tn === 'string' ? call.tn : '';
    const trade = tn ? [...this.trades.all()].find((t) => t.channel === 'unionpay' && t.unionpayTn === tn) : undefined;
    if (!trade) {
      res.status(400).json({ error: 'TN_NOT_FOUND' });
      return;
    }
    this.lapse(trade);
    if (trade.state !== 'NOTPAY') {
      res.status(409).json({ error: trade.state === 'SUCCESS' ? 'ALREADY_PAID' : 'PAY_TIMEOUT' });
      return;
    }
    this.complete(trade);
    res.status(200).json({ paid: true, orderId: trade.outTradeNo });
  }

  @Post('/gateway/api/queryTrans.do')
  async query(@Req() req: Request, @Res() res: Response): Promise<void> {
    const fields = req.body as Record<string, string>;
    const problem = this.checkRequest(fields);
    const faults = this.trades.faultsFor(fields.orderId);
    if (faults.apiDelayMs) await sleep(faults.apiDelayMs);
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
    const owner = tradeOwner.unionpay(fields.merId);
    const refund = this.trades.findRefund(owner, fields.orderId);
    if (refund?.trade.channel === 'unionpay') {
      return this.reply(res, {
        ...base,
        respCode: '00',
        respMsg: 'success',
        origRespCode: '00',
        origRespMsg: 'success',
        txnAmt: String(refund.refund.amountFen),
        queryId: refund.refund.refundId,
      });
    }
    const trade = this.trades.find(owner, fields.orderId);
    if (trade?.channel === 'unionpay' && trade.barcode) return this.reply(res, { ...base, ...barcodeQuery(trade) });
    if (trade) this.lapse(trade);
    // An unpaid consume past its payTimeout was never completed: UnionPay does not find it.
    if (!trade || trade.channel !== 'unionpay' || trade.state === 'CLOSED')
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

  /**
   * Refund (txnType 04) of a paid consume named by origQryId. Accepted at once (respCode 00), completed at
   * once, and the result notified to the request's backUrl. The same orderId again is a duplicate (12).
   */
  @Post('/gateway/api/backTransReq.do')
  async back(@Req() req: Request, @Res() res: Response): Promise<void> {
    const fields = req.body as Record<string, string>;
    const problem = this.checkRequest(fields);
    const base = answerBase(fields, ['txnType', 'txnSubType', 'merId', 'orderId', 'txnTime']);
    if (problem) return this.reply(res, { ...base, respCode: '11', respMsg: problem });
    if (fields.txnType === '01' && fields.txnSubType === '06') return this.barcodeConsume(fields, base, res);
    if (fields.txnType === REVERSAL) return this.reversal(fields, base, res);
    if (fields.txnType !== '04') return this.reply(res, { ...base, respCode: '12', respMsg: 'unsupported txnType' });
    const owner = tradeOwner.unionpay(fields.merId);
    const trade = [...this.trades.of([owner])].find((t) => t.transactionId === fields.origQryId);
    const faults = this.trades.faultsFor(trade?.outTradeNo);
    if (faults.apiDelayMs) await sleep(faults.apiDelayMs);
    if (faults.apiError) {
      res.status(500).send('system busy');
      return;
    }
    if (!trade || trade.state !== 'SUCCESS')
      return this.reply(res, { ...base, respCode: '35', respMsg: 'original transaction not found or not paid' });
    if (faults.refundRefusal)
      return this.reply(res, { ...base, respCode: faults.refundRefusal, respMsg: 'in process' });
    if (this.trades.findRefund(owner, fields.orderId))
      return this.reply(res, { ...base, respCode: '12', respMsg: 'duplicate transaction' });
    const amount = Number(fields.txnAmt);
    const refunded = (trade.refunds ?? []).reduce((sum, r) => sum + r.amountFen, 0);
    if (!Number.isSafeInteger(amount) || amount <= 0 || refunded + amount > trade.amountFen)
      return this.reply(res, { ...base, respCode: '30', respMsg: 'refund amount exceeds the original' });
    const refund = {
      refundNo: fields.orderId,
      refundId: newQueryId(),
      amountFen: amount,
      at: new Date().toISOString(),
    };
    (trade.refunds ??= []).push(refund);
    this.reply(res, { ...base, respCode: '00', respMsg: 'accepted', queryId: refund.refundId, txnAmt: fields.txnAmt });
    this.notify(trade, fields.backUrl || trade.notifyUrl, {
      txnType: '04',
      txnSubType: '00',
      orderId: refund.refundNo,
      origQryId: trade.transactionId ?? '',
      txnTime: fields.txnTime ?? '',
      txnAmt: String(amount),
      queryId: refund.refundId,
    });
  }

  /**
   * The file download service (txnType 76): the day's reconciliation file for `settleDate` (MMDD, this
   * year), as fileContent = base64 of a zlib-deflated zip holding the `ZM_` detail file.
   */
  @Post('/filedownload')
  files(@Req() req: Request, @Res() res: Response): void {
    const fields = req.body as Record<string, string>;
    const problem = this.checkRequest(fields);
    const base = {
      version: UNIONPAY_VERSION,
      encoding: 'UTF-8',
      signMethod: '01',
      txnType: '76',
      txnSubType: fields.txnSubType ?? '',
      merId: fields.merId ?? '',
      settleDate: fields.settleDate ?? '',
    };
    if (problem) return this.reply(res, { ...base, respCode: '11', respMsg: problem });
    if (fields.txnType !== '76' || !/^\d{4}$/.test(fields.settleDate ?? '')) {
      return this.reply(res, { ...base, respCode: '12', respMsg: 'txnType 76 and settleDate MMDD are required' });
    }
    const day = `${new Date().getUTCFullYear()}-${fields.settleDate.slice(0, 2)}-${fields.settleDate.slice(2)}`;
    const lines: string[] = [];
    for (const trade of this.trades.of([tradeOwner.unionpay(fields.merId)])) {
      if (trade.channel !== 'unionpay' || !trade.transactionId || !trade.paidAt) continue;
      // A reversed consume (冲正) is undone the same day: neither it nor the reversal is in the file.
      if (trade.barcode?.reversed) continue;
      const faults = this.trades.faultsFor(trade.outTradeNo);
      if (beijingDate(new Date(trade.paidAt)) === day && !faults.statementOmit) {
        lines.push(
          formatZmLine({
            [ZM.transactionCode]: 'S22',
            [ZM.transmittedAt]: unionpayTime(new Date(trade.paidAt)).slice(4),
            [ZM.amountFen]: String(faults.statementAmountFen ?? trade.amountFen),
            [ZM.queryId]: trade.transactionId,
            [ZM.orderId]: trade.outTradeNo,
            [ZM.txnType]: '01',
            [ZM.txnSubType]: trade.barcode ? '06' : '01',
            [ZM.bizType]: trade.barcode ? '000000' : '000201',
            [ZM.merId]: trade.mchid,
          }),
        );
      }
      for (const refund of trade.refunds ?? []) {
        if (beijingDate(new Date(refund.at)) !== day) continue;
        lines.push(
          formatZmLine({
            [ZM.transactionCode]: 'S30',
            [ZM.transmittedAt]: unionpayTime(new Date(refund.at)).slice(4),
            [ZM.amountFen]: String(refund.amountFen),
            [ZM.queryId]: refund.refundId,
            [ZM.orderId]: refund.refundNo,
            [ZM.txnType]: '04',
            [ZM.txnSubType]: '00',
            [ZM.bizType]: '000201',
            [ZM.origQueryId]: trade.transactionId,
            [ZM.merId]: trade.mchid,
          }),
        );
      }
    }
    if (lines.length === 0) return this.reply(res, { ...base, respCode: '98', respMsg: 'file does not exist' });
    const stamp = fields.settleDate;
    const zip = zipSync({
      [`INN${stamp}88ZM_${fields.merId}`]: new Uint8Array(iconv.encode(`${lines.join('\r\n')}\r\n`, 'gbk')),
    });
    this.reply(res, {
      ...base,
      respCode: '00',
      respMsg: 'success',
      fileName: `${fields.merId}_${stamp}.zip`,
      fileContent: deflateSync(zip).toString('base64'),
    });
  }

  /**
   * The buyer pays on the cashier page, for an order of any merchant; the sandbox then notifies backUrl. A
   * form post goes back to the cashier.
   */
  @Post('/sandbox/unionpay/trades/:orderId/pay')
  pay(@Param('orderId') orderId: string, @Req() req: Request, @Res() res: Response): void {
    const trade = this.trades.get(orderId);
    if (!trade || trade.channel !== 'unionpay') {
      res.status(404).json({ ok: false, error: 'order does not exist' });
      return;
    }
    this.lapse(trade);
    if (trade.state === 'CLOSED') {
      res.status(409).json({ ok: false, error: 'payTimeout has passed', trade });
      return;
    }
    // A barcode consume waiting for the buyer's password is paid in the buyer's app, not on a cashier page.
    if (trade.state === 'NOTPAY' && !trade.barcode) this.complete(trade);
    if (req.is('application/x-www-form-urlencoded')) {
      res.redirect(303, cashierPath(orderId));
      return;
    }
    res.json({ ok: true, trade });
  }

  /** The buyer paid (cashier page or payment code): SUCCESS with a queryId, and the consume notification to backUrl. */
  private complete(trade: SandboxTrade): void {
    if (trade.state !== 'NOTPAY') return;
    trade.state = 'SUCCESS';
    trade.paidAt = new Date().toISOString();
    trade.transactionId = newQueryId();
    const faults = this.trades.faultsFor(trade.outTradeNo);
    this.notify(trade, trade.notifyUrl, {
      txnType: '01',
      txnSubType: trade.barcode ? '06' : '01',
      orderId: trade.outTradeNo,
      txnTime: trade.txnTime ?? '',
      txnAmt: String(faults.wrongAmountFen ?? trade.amountFen),
      queryId: trade.transactionId,
      settleAmt: String(trade.amountFen),
    });
  }

  /**
   * The QR-code consume of a buyer's payment code (txnType 01, txnSubType 06, bizType 000000, qrNo). UnionPay
   * answers at once (00 accepted) and goes on; the buyer's code picks the scenario (barcode-scenarios.ts).
   */
  private async barcodeConsume(fields: Record<string, string>, base: Record<string, string>, res: Response) {
    const faults = this.trades.faultsFor(fields.orderId);
    if (faults.apiDelayMs) await sleep(faults.apiDelayMs);
    if (faults.apiError) {
      res.status(500).send('system busy');
      return;
    }
    const amountFen = Number(fields.txnAmt);
    const missing = ['orderId', 'txnTime', 'txnAmt', 'currencyCode', 'qrNo', 'backUrl', 'accessType'].filter(
      (key) => !fields[key],
    );
    if (missing.length) return this.reply(res, { ...base, respCode: '13', respMsg: `missing ${missing.join(', ')}` });
    let format: string | undefined;
    if (fields.bizType !== '000000') format = 'bizType must be 000000 for a QR-code consume';
    else if (fields.currencyCode !== '156') format = 'currencyCode must be 156';
    else if (!Number.isSafeInteger(amountFen) || amountFen <= 0 || !/^\d+$/.test(fields.txnAmt)) format = 'bad txnAmt';
    else if (!UNIONPAY_CODE.test(fields.qrNo)) format = 'qrNo is not a UnionPay payment code';
    else if (fields.termId !== undefined && !/^[0-9A-Za-z]{8}$/.test(fields.termId)) format = 'termId is 8 characters';
    if (format) return this.reply(res, { ...base, respCode: '10', respMsg: format });
    const owner = tradeOwner.unionpay(fields.merId);
    if (this.trades.find(owner, fields.orderId))
      return this.reply(res, { ...base, respCode: '12', respMsg: 'duplicate transaction' });
    const trade: SandboxTrade = {
      channel: 'unionpay',
      outTradeNo: fields.orderId,
      owner,
      mchid: fields.merId,
      appid: '',
      description: '',
      amountFen,
      notifyUrl: fields.backUrl,
      state: 'NOTPAY',
      txnTime: fields.txnTime,
      notifications: [],
    };
    this.trades.put(trade);
    const outcome = startBarcode(trade, fields.qrNo, () => this.complete(trade));
    this.reply(res, { ...base, txnAmt: fields.txnAmt, ...CONSUME_ANSWERS[outcome] });
  }

  /**
   * 冲正 (txnType 99) of a QR-code consume named by its orderId and txnTime. 00: reversed, whether or not the
   * buyer had paid; 05: accepted, not applied yet (the scenario asks to be called again); 03: no result known.
   */
  private async reversal(fields: Record<string, string>, base: Record<string, string>, res: Response) {
    const faults = this.trades.faultsFor(fields.orderId);
    if (faults.apiDelayMs) await sleep(faults.apiDelayMs);
    if (faults.apiError) {
      res.status(500).send('system busy');
      return;
    }
    if (!fields.orderId || !fields.txnTime)
      return this.reply(res, { ...base, respCode: '13', respMsg: 'orderId and txnTime of the consume are required' });
    const trade = this.trades.find(tradeOwner.unionpay(fields.merId), fields.orderId);
    if (trade?.channel !== 'unionpay' || !trade.barcode || trade.txnTime !== fields.txnTime)
      return this.reply(res, { ...base, respCode: '35', respMsg: 'original transaction not found' });
    switch (reverseBarcode(trade, () => this.complete(trade))) {
      case 'again':
        return this.reply(res, { ...base, respCode: '05', respMsg: 'accepted, query later' });
      case 'unknown':
        return this.reply(res, { ...base, respCode: '03', respMsg: 'transaction timed out, query' });
      case 'closed':
      case 'refunded':
        return this.reply(res, { ...base, respCode: '00', respMsg: 'success' });
    }
  }

  private lapse(trade: SandboxTrade): void {
    if (trade.state === 'NOTPAY' && trade.payTimeout && trade.payTimeout.getTime() < Date.now()) trade.state = 'CLOSED';
  }

  /** The request is its merId's: signed with the certificate registered for that merchant (certId). */
  private checkRequest(fields: Record<string, string>): string | undefined {
    const merchant = this.merchants.unionpay(fields.merId);
    if (!merchant) return `unknown merId ${fields.merId}`;
    if (fields.certId !== merchant.certId) return `unknown certId ${fields.certId}`;
    if (!verifyFields(fields, merchant.merchantPublicKey)) return 'signature verification failed';
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

  /** Notifies backUrl of a consume or refund result; resends until HTTP 200. */
  private notify(trade: SandboxTrade, backUrl: string, result: Record<string, string>): void {
    this.notifier.notify(trade, {
      resendScheduleMs: UNIONPAY_RESEND_SCHEDULE_MS,
      send: (faults) => {
        const fields = this.signedByUs(
          {
            version: UNIONPAY_VERSION,
            encoding: 'UTF-8',
            signMethod: '01',
            bizType: trade.barcode ? '000000' : '000201',
            accessType: '0',
            merId: trade.mchid,
            currencyCode: '156',
            respCode: '00',
            respMsg: 'success',
            ...result,
          },
          faults,
        );
        return postNotification(backUrl, {
          headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
          body: new URLSearchParams(fields).toString(),
          timeoutMs: 10_000,
        });
      },
      acknowledged: (reply) => reply.status === 200,
    });
  }
}

/** 冲正: undoes a consume named by its orderId and txnTime. */
const REVERSAL = '99';

/** A UnionPay payment code as the sandbox takes it: 19 digits from 62 (UnionPay itself says only "1–20 digits"). */
const UNIONPAY_CODE = /^62\d{17}$/;

/**
 * What the QR-code consume answers at once. 00 only means accepted (paid or still waiting for the buyer: the
 * query tells); 64 and 88 are UnionPay's answers for a short balance and an unknown code; 03 asks for a query.
 */
const CONSUME_ANSWERS: Record<BarcodePayOutcome, { respCode: string; respMsg: string }> = {
  paid: { respCode: '00', respMsg: 'success' },
  paying: { respCode: '00', respMsg: 'success' },
  insufficient_funds: { respCode: '64', respMsg: 'insufficient balance' },
  invalid_code: { respCode: '88', respMsg: 'no such QR code' },
  unknown: { respCode: '03', respMsg: 'transaction timed out, query' },
};

/**
 * A barcode consume as queryTrans shows it. A reversed one: the query of its orderId and txnTime finds the
 * reversal (txnType 99, 00), naming the consume it undid in origQryId when the buyer had paid. A refused one:
 * the consume with its refusal. Otherwise the consume: 00 paid, 05 still waiting for the buyer.
 */
function barcodeQuery(trade: SandboxTrade): Record<string, string> {
  const amount = { txnAmt: String(trade.amountFen), respCode: '00', respMsg: 'success' };
  const state = trade.barcode;
  if (state?.reversed) {
    return {
      ...amount,
      txnType: REVERSAL,
      origRespCode: '00',
      origRespMsg: 'success',
      ...(state.reversed === 'refunded' && trade.transactionId ? { origQryId: trade.transactionId } : {}),
    };
  }
  if (state?.scenario === 'insufficient_funds' || state?.scenario === 'invalid_code') {
    const refusal = CONSUME_ANSWERS[state.scenario];
    return { ...amount, origRespCode: refusal.respCode, origRespMsg: refusal.respMsg };
  }
  if (trade.state === 'SUCCESS')
    return { ...amount, origRespCode: '00', origRespMsg: 'success', queryId: trade.transactionId ?? '' };
  return { ...amount, origRespCode: '05', origRespMsg: 'in progress' };
}

/** Beijing yyyyMMddHHmmss → Date. */
function fromUnionpayTime(time: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(time ?? '');
  return m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}+08:00`) : undefined;
}

/** A page address the buyer's browser may be sent to: http or https, nothing else (no javascript: URL). */
function isWebUrl(text: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

/** UnionPay's queryId (and the sandbox's tn): 21 digits. */
function newQueryId(): string {
  return `${Date.now()}${randomBytes(4).readUInt32BE().toString().padStart(10, '0')}`.slice(0, 21);
}
