import { Logger } from '@nestjs/common';
import { unzipSync } from 'fflate';
import { inflateSync } from 'node:zlib';
import type { KeyObject } from 'node:crypto';
import type {
  BarcodePayRequest,
  BarcodePayResult,
  CloseResult,
  CreatePaymentRequest,
  CreatePaymentResult,
  GatewayAck,
  GatewayNotification,
  GatewayResult,
  PayWay,
  RawNotification,
  RefundRequest,
  RefundResult,
  ReverseResult,
  StatementLine,
  StatementResult,
} from '../gateway.types';
import { timeOfNumber } from '../../common/ids';
import { NotificationRejected } from '../notification-rejected';
import { PaymentGateway } from '../payment-gateway';
import {
  parseForm,
  parseZmLine,
  signFields,
  type TrustAnchors,
  trustedSigningKey,
  UNIONPAY_DEFINITE_REFUSALS,
  UNIONPAY_IN_PROGRESS,
  UNIONPAY_VERSION,
  unionpayTime,
  verifyFields,
  ZM,
} from '../wire/unionpay.protocol';

export interface UnionPaySettings {
  /** https://gateway.95516.com, or the sandbox's address. */
  baseUrl: string;
  /** The file download service (https://filedownload.95516.com/), or the sandbox's. */
  fileUrl: string;
  merId: string;
  merchantPrivateKey: KeyObject;
  /** Serial of the merchant signing certificate, in decimal. */
  merchantCertId: string;
  anchors: TrustAnchors;
  notifyUrl: string;
  timeoutMs: number;
  now?: () => Date;
}

/**
 * UnionPay online gateway 5.1.0 with node:crypto: the front-end consume form (the buyer's browser posts it: PC page
 * 07, phone page 08), the app control's consume (appTransReq, a `tn` for UnionPay's app SDK), the
 * QR-code consume of a buyer's payment code (二维码支付 被扫) and its reversal (冲正), query through queryTrans,
 * refunds through backTransReq, and verified notifications of both. Every answer is checked against the certificate
 * it carries, after that certificate is checked against the configured root and middle certificates.
 */
export class UnionPayGateway extends PaymentGateway {
  readonly channel = 'unionpay' as const;
  private readonly logger = new Logger(UnionPayGateway.name);

  constructor(private readonly settings: UnionPaySettings) {
    super();
  }

  /**
   * The 5.1.0 gateway's consume products besides the standard PC page: the same front-end form for a PC browser
   * (pc_web, channelType 07) and a phone browser (mobile_web, 08: 手机网页支付), and the app control's consume
   * (app: 手机控件支付, appTransReq). UnionPay's in-app payments (云闪付 JSAPI, mini-programs) are another product
   * (UPSDK on open.95516.com, its own app id and signatures), not this gateway.
   */
  override payModeUnsupported(way: PayWay): string | undefined {
    if (way.mode === 'standard' || UNIONPAY_MODES.includes(way.mode)) return undefined;
    return (
      `UnionPay ${way.mode} payments are not offered: UnionPay's in-app payments (云闪付 JSAPI and mini-programs) ` +
      `are a separate product from its online gateway; use mobile_web, pc_web or app`
    );
  }

  /** UnionPay's app control pays a `tn` with no app of the merchant's registered: an appId would be ignored. */
  override payWayInvalid(way: PayWay): { field: keyof PayWay; message: string } | undefined {
    if (way.appId !== undefined) {
      return { field: 'appId', message: "UnionPay's app payments take no appId: its app SDK pays the tn alone" };
    }
    return undefined;
  }

  createPayment(request: CreatePaymentRequest): Promise<CreatePaymentResult> {
    const way = request.way ?? { mode: 'standard' };
    switch (way.mode) {
      case 'standard':
        return Promise.resolve(this.frontForm(request, '07'));
      case 'pc_web':
        return Promise.resolve(this.frontForm(request, '07', way.returnUrl));
      case 'mobile_web':
        return Promise.resolve(this.frontForm(request, '08', way.returnUrl));
      case 'app':
        return this.createApp(request);
      case 'in_app':
      case 'mini_program':
        return Promise.resolve({
          kind: 'rejected',
          code: 'MODE_UNSUPPORTED',
          message: this.payModeUnsupported(way) ?? way.mode,
        });
    }
  }

  /**
   * The front-end consume form (frontTransReq): no call to UnionPay, the trade exists once the buyer's browser
   * posts it. channelType 07 is UnionPay's PC page, 08 its phone page; frontUrl is where UnionPay sends the buyer
   * back (it posts its signed front notification there). The standard page sends none, as it always has: the buyer
   * stays on UnionPay's result page.
   */
  private frontForm(request: CreatePaymentRequest, channelType: '07' | '08', frontUrl?: string): CreatePaymentResult {
    const fields = this.signed({
      ...this.consume(request, channelType),
      ...(frontUrl ? { frontUrl } : {}),
    });
    return {
      kind: 'created',
      credential: { type: 'form', action: `${this.settings.baseUrl}/gateway/api/frontTransReq.do`, fields },
    };
  }

  /**
   * The app control's consume (手机控件支付): the same consume fields through appTransReq, a back-end call whose
   * verified answer carries the `tn` the merchant's app hands UnionPay's SDK. Only a definite refusal is
   * rejected; no answer, a 5xx or an answer that does not verify is unknown (the order may exist at UnionPay).
   */
  private async createApp(request: CreatePaymentRequest): Promise<CreatePaymentResult> {
    const answer = await this.call('appTransReq', this.signed(this.consume(request, '08')), request.signal);
    if (typeof answer === 'string') return { kind: 'unknown', reason: answer };
    const code = answer.respCode ?? '';
    if (code === '00') {
      // UnionPay echoes orderId and merId: an answer naming another order's tn would have the buyer pay that trade.
      const ours = (echoed: string | undefined, value: string) => echoed === undefined || echoed === value;
      if (!ours(answer.orderId, request.paymentNo) || !ours(answer.merId, this.settings.merId))
        return { kind: 'unknown', reason: `appTransReq answered for ${answer.merId}/${answer.orderId}` };
      if (!answer.tn) return { kind: 'unknown', reason: 'appTransReq respCode 00 without tn' };
      return { kind: 'created', credential: { type: 'unionpay_tn', tn: answer.tn } };
    }
    if (UNIONPAY_DEFINITE_REFUSALS.has(code)) return { kind: 'rejected', code, message: answer.respMsg ?? '' };
    return { kind: 'unknown', reason: `appTransReq respCode ${code || '-'} ${answer.respMsg ?? ''}` };
  }

  /** The consume (txnType 01, txnSubType 01, bizType 000201) of a payment, as every front and app request sends it. */
  private consume(request: CreatePaymentRequest, channelType: '07' | '08'): Record<string, string> {
    return {
      txnType: '01',
      txnSubType: '01',
      bizType: '000201',
      channelType,
      accessType: '0',
      orderId: request.paymentNo,
      txnTime: txnTimeOf(request.paymentNo),
      txnAmt: String(request.amountFen), // UnionPay amounts are fen already
      currencyCode: '156',
      backUrl: this.settings.notifyUrl,
      // After payTimeout UnionPay refuses to take money for the order: what lets close() call it closed.
      payTimeout: unionpayTime(request.expiresAt),
    };
  }

  async query(paymentNo: string): Promise<GatewayResult> {
    const answer = await this.queryTrans(paymentNo);
    if (typeof answer === 'string') return { kind: 'unknown', reason: answer };
    if (answer.respCode === '34') return { kind: 'not_paid' }; // no such order: the buyer never submitted
    if (answer.respCode !== '00')
      return { kind: 'unknown', reason: `respCode ${answer.respCode} ${answer.respMsg ?? ''}` };
    // A reversed barcode consume: the order's transaction is now the reversal (冲正, same orderId and txnTime).
    if (answer.txnType === REVERSAL) {
      return answer.origRespCode === '00'
        ? { kind: 'closed' }
        : { kind: 'unknown', reason: `reversal not final (origRespCode ${answer.origRespCode ?? '-'})` };
    }
    switch (answer.origRespCode) {
      case '00':
        return this.paid(answer);
      case '03':
      case '04':
      case '05':
        return { kind: 'not_paid' }; // in progress
      case 'A6':
        return { kind: 'unknown', reason: 'origRespCode A6 (partial success): needs review' };
      // Not refusals, in UnionPay's code table: 42 money taken after the pay time (an operator decides), 45 and 46
      // the consume already returned or reversed (nothing kept).
      case '42':
        return { kind: 'unknown', reason: 'origRespCode 42 (paid after the pay time): needs review' };
      case '45':
      case '46':
        return { kind: 'closed' };
      default:
        return { kind: 'failed', code: answer.origRespCode ?? '?', message: answer.origRespMsg ?? '' };
    }
  }

  /**
   * A front-end consume cannot be closed at UnionPay: it lapses at its payTimeout (our expiry). So "close"
   * waits for that moment, then asks: not found or failed is closed, paid is paid, in progress is not yet.
   */
  async close(payment: { paymentNo: string; expiresAt: Date }): Promise<CloseResult> {
    const answer = await this.queryTrans(payment.paymentNo);
    if (typeof answer === 'string') return { kind: 'unknown', reason: answer };
    const lapsed = this.now() >= payment.expiresAt;
    if (answer.respCode === '34' && lapsed) return { kind: 'closed' }; // never completed, and now it cannot be
    if (answer.respCode === '00') {
      if (answer.origRespCode === '00')
        return this.paid(answer).kind === 'paid'
          ? { kind: 'paid' }
          : { kind: 'unknown', reason: 'paid answer without queryId' };
      const inProgress = ['03', '04', '05', 'A6'].includes(answer.origRespCode ?? '');
      if (!inProgress && lapsed) return { kind: 'closed' }; // the consume failed at UnionPay
    }
    return {
      kind: 'unknown',
      reason: lapsed
        ? `consume not final at UnionPay (respCode ${answer.respCode}, origRespCode ${answer.origRespCode ?? '-'})`
        : 'a UnionPay consume can be paid until its payTimeout',
    };
  }

  override barcodeUnsupported(): string | undefined {
    return undefined;
  }

  /**
   * The QR-code consume (二维码支付 被扫: txnType 01, txnSubType 06, bizType 000000) through backTransReq, with the
   * buyer's code as qrNo. UnionPay answers at once and goes on processing (the buyer may be asked for a password):
   * respCode 00 only means accepted, so one query tells paid from still paying. 03/04 are "ask again"; anything
   * not known to be a definite refusal is unknown, never refused.
   */
  override async payByCode(request: BarcodePayRequest): Promise<BarcodePayResult> {
    const fields = this.signed({
      txnType: '01',
      txnSubType: '06',
      bizType: '000000',
      channelType: '07',
      accessType: '0',
      orderId: request.paymentNo,
      txnTime: txnTimeOf(request.paymentNo),
      txnAmt: String(request.amountFen), // UnionPay amounts are fen already
      currencyCode: '156',
      qrNo: request.authCode,
      backUrl: this.settings.notifyUrl,
      // The counter's terminal, for UnionPay's risk checks and the merchant's bill. UnionPay's termId is exactly
      // 8 letters or digits and optional: another device id is left out rather than have the consume refused.
      ...(/^[0-9A-Za-z]{8}$/.test(request.terminal?.deviceId ?? '') ? { termId: request.terminal?.deviceId } : {}),
    });
    const answer = await this.call('backTransReq', fields, request.signal);
    if (typeof answer === 'string') return { kind: 'unknown', reason: answer };
    const code = answer.respCode ?? '';
    if (code === '00' || code === '05') return this.afterAccepted(request.paymentNo, code);
    if (UNIONPAY_DEFINITE_REFUSALS.has(code)) return { kind: 'refused', code, message: answer.respMsg ?? '' };
    return { kind: 'unknown', reason: `consume respCode ${code || '-'} ${answer.respMsg ?? ''}` };
  }

  /**
   * Reverses a barcode consume with 冲正 (txnType 99, txnSubType 01), which names the consume by its own orderId
   * and txnTime: UnionPay's tool for a consume whose result is unknown (timeout, no answer), the same day (23:00
   * to 23:00), undoing it whether or not the buyer paid; sent again, it is the same reversal. 00 is final, and the
   * query after it tells whether money had been taken (the reversal names the consume it undid, origQryId) or
   * not. 05 means accepted but not applied yet: call again.
   */
  /** A query after a 冲正 may still show the consume itself as paid (see `reverse`): it cannot tell. */
  override readonly queryShowsReversal = false;

  override async reverse(payment: { paymentNo: string; gatewayTradeNo: string | null }): Promise<ReverseResult> {
    const fields = this.signed({
      txnType: REVERSAL,
      txnSubType: '01',
      bizType: '000000',
      channelType: '07',
      accessType: '0',
      orderId: payment.paymentNo,
      txnTime: txnTimeOf(payment.paymentNo),
    });
    const answer = await this.call('backTransReq', fields);
    if (typeof answer === 'string') return { kind: 'unknown', reason: answer };
    const code = answer.respCode ?? '';
    const said = `reversal respCode ${code || '-'} ${answer.respMsg ?? ''}`;
    if (code === '05') return { kind: 'again', reason: said };
    // 12 (duplicate) and 35 (no such consume, or not in a state to reverse): the query says whether it is undone.
    if (code !== '00' && code !== '12' && code !== '35') return { kind: 'unknown', reason: said };
    const state = await this.queryTrans(payment.paymentNo);
    if (typeof state === 'string') return { kind: 'unknown', reason: `${said}; then ${state}` };
    // No such consume (35) and none found (34): the PaymentCenter reverses only once the consume call's own window
    // is over (createCallWindowEnds), so a consume UnionPay does not know then was never made and never will be.
    if (code === '35' && state.respCode === '34') return { kind: 'absent' };
    if (state.respCode === '00' && state.txnType === REVERSAL && state.origRespCode === '00') {
      return state.origQryId ? { kind: 'refunded', gatewayTradeNo: state.origQryId } : { kind: 'closed' };
    }
    const consume = state.respCode === '00' && state.txnType !== REVERSAL ? state.origRespCode : undefined;
    // A consume that failed took nothing and can no longer take anything.
    // (42 took money after the pay time: not a failure, left to the answers below and to review.)
    if (consume && consume !== '00' && consume !== 'A6' && consume !== '42' && !UNIONPAY_IN_PROGRESS.has(consume))
      return { kind: 'closed' };
    if (code === '00') {
      // UnionPay reversed it; the query still shows the consume itself.
      if (consume === '00') return { kind: 'refunded', gatewayTradeNo: state.queryId };
      if (consume && UNIONPAY_IN_PROGRESS.has(consume)) return { kind: 'again', reason: `${said}; not applied yet` };
    }
    return {
      kind: 'unknown',
      reason: `${said}; query respCode ${state.respCode ?? '-'} origRespCode ${state.origRespCode ?? '-'}`,
    };
  }

  /** Refund (txnType 04) through backTransReq: our refund number is its orderId, so a retry is the same refund. */
  async refund(request: RefundRequest): Promise<RefundResult> {
    const fields = this.signed({
      txnType: '04',
      txnSubType: '00',
      bizType: '000201',
      channelType: '07',
      accessType: '0',
      orderId: request.refundNo,
      origQryId: request.gatewayTradeNo,
      txnTime: txnTimeOf(request.refundNo),
      txnAmt: String(request.refundFen),
      currencyCode: '156',
      backUrl: this.settings.notifyUrl,
    });
    const answer = await this.call('backTransReq', fields);
    if (typeof answer === 'string') return { kind: 'unknown', reason: answer };
    switch (answer.respCode) {
      case '00':
        // Accepted; the result arrives by notification or query.
        return { kind: 'processing', gatewayRefundNo: answer.queryId };
      case '03':
      case '04':
      case '05':
      case '12': // duplicate request: this refund number was sent before; the query knows its result
        return { kind: 'unknown', reason: `respCode ${answer.respCode} ${answer.respMsg ?? ''}` };
      default:
        return { kind: 'rejected', code: answer.respCode ?? '?', message: answer.respMsg ?? '' };
    }
  }

  async queryRefund(refund: { paymentNo: string; refundNo: string }): Promise<RefundResult> {
    const answer = await this.queryTrans(refund.refundNo);
    if (typeof answer === 'string') return { kind: 'unknown', reason: answer };
    if (answer.respCode === '34') return { kind: 'not_found' };
    if (answer.respCode !== '00')
      return { kind: 'unknown', reason: `respCode ${answer.respCode} ${answer.respMsg ?? ''}` };
    switch (answer.origRespCode) {
      case '00':
        return { kind: 'succeeded', gatewayRefundNo: answer.queryId ?? '' };
      case '03':
      case '04':
      case '05':
        return { kind: 'processing', gatewayRefundNo: answer.queryId };
      default:
        return { kind: 'rejected', code: answer.origRespCode ?? '?', message: answer.origRespMsg ?? '' };
    }
  }

  /**
   * The day's reconciliation file: a signed file-transfer request (txnType 76, settleDate MMDD) to the file
   * service; the verified answer carries `fileContent`, base64 of a zlib-deflated zip whose `ZM_` file
   * lists the day's consumes (txnType 01) and refunds (04) in fixed-width lines.
   */
  async fetchStatement(billDate: string): Promise<StatementResult> {
    const fields = this.signed({
      txnType: '76',
      txnSubType: '01',
      bizType: '000000',
      accessType: '0',
      txnTime: unionpayTime(this.now()),
      settleDate: billDate.slice(5, 7) + billDate.slice(8, 10),
      fileType: '00',
    });
    let answer: Record<string, string>;
    try {
      const response = await fetch(this.settings.fileUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: new URLSearchParams(fields).toString(),
        signal: AbortSignal.timeout(this.settings.timeoutMs * 3),
      });
      if (response.status !== 200) return { kind: 'unknown', reason: `file transfer: HTTP ${response.status}` };
      answer = parseForm(await response.text());
    } catch (error) {
      return { kind: 'unknown', reason: `file transfer: ${(error as Error).message}` };
    }
    const problem = this.untrusted(answer);
    if (problem) return { kind: 'unknown', reason: `file transfer: unverified answer (${problem})` };
    // The file-interface codes for "no file (yet)" are not in what we could verify: report, retry later.
    if (answer.respCode !== '00' || !answer.fileContent) {
      return { kind: 'not_ready', reason: `file transfer: respCode ${answer.respCode} ${answer.respMsg ?? ''}` };
    }
    let files: Record<string, Uint8Array>;
    try {
      files = unzipSync(new Uint8Array(inflateSync(Buffer.from(answer.fileContent, 'base64'))));
    } catch (error) {
      return { kind: 'unknown', reason: `file transfer: unreadable file (${(error as Error).message})` };
    }
    const detail = Object.entries(files).find(([name]) => name.includes('ZM_'))?.[1];
    if (!detail) return { kind: 'unknown', reason: 'file transfer: no ZM_ detail file in the zip' };
    const lines: StatementLine[] = [];
    for (const raw of splitLines(detail)) {
      const values = parseZmLine(raw);
      if (values[ZM.merId] && values[ZM.merId] !== this.settings.merId) continue;
      const amountFen = Number(values[ZM.amountFen]);
      const orderId = values[ZM.orderId] ?? '';
      if (!Number.isSafeInteger(amountFen)) return { kind: 'unknown', reason: `file line ${orderId}: no amount` };
      if (values[ZM.txnType] === '01') {
        lines.push({ kind: 'payment', paymentNo: orderId, gatewayTradeNo: values[ZM.queryId] ?? '', amountFen });
      } else if (values[ZM.txnType] === '04') {
        // A refund line names our refund number; its payment is found by the refund.
        lines.push({
          kind: 'refund',
          paymentNo: '',
          refundNo: orderId,
          gatewayRefundNo: values[ZM.queryId] ?? '',
          amountFen,
        });
      }
    }
    return { kind: 'statement', lines };
  }

  parseNotification(notification: RawNotification): Promise<GatewayNotification> {
    const fields = parseForm(notification.rawBody.toString('utf8'));
    const problem = this.untrusted(fields);
    if (problem) return Promise.reject(new NotificationRejected(problem, 'signature'));
    if (fields.merId !== this.settings.merId) {
      return Promise.reject(new NotificationRejected(`notification for merId ${fields.merId}`, 'merchant'));
    }
    if (!fields.orderId) return Promise.reject(new NotificationRejected('notification without orderId', 'malformed'));
    const time = timeOfNumber(fields.orderId);
    if (!time || fields.txnTime !== unionpayTime(time)) {
      return Promise.reject(new NotificationRejected(`not an order of ours (orderId ${fields.orderId})`, 'not_ours'));
    }
    const succeeded = fields.respCode === '00' || fields.respCode === 'A6';
    const reason = `notification respCode ${fields.respCode ?? '?'} ${fields.respMsg ?? ''}`;
    // Consumes and refunds notify the same backUrl; txnType tells them apart.
    const frontConsume = fields.txnSubType === '01' && fields.bizType === '000201';
    const qrConsume = fields.txnSubType === '06' && fields.bizType === '000000'; // a buyer's payment code
    if (fields.txnType === '01' && (frontConsume || qrConsume)) {
      if (fields.currencyCode !== '156')
        return Promise.reject(new NotificationRejected('not a CNY consume', 'unsupported'));
      // respCode 00 or A6 is a success; anything else is not a definite failure: the query decides.
      const result: GatewayResult = succeeded ? this.paid(fields) : { kind: 'unknown', reason };
      return Promise.resolve({ kind: 'payment', paymentNo: fields.orderId, result });
    }
    if (fields.txnType === '04') {
      // txnAmt is the refund's amount in fen; origQryId names the consume it refunds.
      const refundFen = /^\d{1,12}$/.test(fields.txnAmt ?? '') ? Number(fields.txnAmt) : undefined;
      let result: RefundResult =
        fields.respCode === '00'
          ? { kind: 'succeeded', gatewayRefundNo: fields.queryId ?? '' }
          : { kind: 'unknown', reason };
      // A success is believed only with the amount to compare it with.
      if (result.kind === 'succeeded' && refundFen === undefined)
        result = { kind: 'unknown', reason: 'refund notification without txnAmt' };
      return Promise.resolve({
        kind: 'refund',
        refundNo: fields.orderId,
        result,
        facts: { refundFen, gatewayTradeNo: fields.origQryId || undefined },
      });
    }
    return Promise.reject(
      new NotificationRejected(`txnType ${fields.txnType} is not a consume or a refund`, 'unsupported'),
    );
  }

  acknowledge(outcome: { accepted: true } | { accepted: false; reason: string }): GatewayAck {
    // HTTP 200 stops UnionPay's resends; anything else gets another.
    return outcome.accepted
      ? { status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' }
      : { status: 400, headers: { 'content-type': 'text/plain' }, body: 'fail' };
  }

  private queryTrans(orderId: string): Promise<Record<string, string> | string> {
    return this.call(
      'queryTrans',
      this.signed({
        txnType: '00',
        txnSubType: '00',
        bizType: '000201',
        accessType: '0',
        channelType: '07',
        orderId,
        txnTime: txnTimeOf(orderId),
      }),
    );
  }

  /** A barcode consume UnionPay accepted: one query says whether it is paid already or the buyer is still at it. */
  private async afterAccepted(paymentNo: string, respCode: string): Promise<BarcodePayResult> {
    const accepted = `consume accepted (respCode ${respCode})`;
    const state = await this.queryTrans(paymentNo);
    // Accepted means UnionPay holds the trade: a failed look at it is still "paying" (query, then reverse).
    if (typeof state === 'string') return { kind: 'paying', reason: `${accepted}; ${state}` };
    if (state.respCode === '34') return { kind: 'paying', reason: `${accepted}; not found by the query yet` };
    if (state.respCode !== '00' || state.txnType === REVERSAL)
      return { kind: 'unknown', reason: `${accepted}; query respCode ${state.respCode} ${state.respMsg ?? ''}` };
    const orig = state.origRespCode ?? '';
    if (orig === '00') {
      const paid = this.paid(state);
      return paid.kind === 'paid' ? paid : { kind: 'unknown', reason: `${accepted}; paid answer without queryId` };
    }
    if (UNIONPAY_IN_PROGRESS.has(orig)) return { kind: 'paying', reason: `${accepted}; origRespCode ${orig}` };
    if (UNIONPAY_DEFINITE_REFUSALS.has(orig)) return { kind: 'refused', code: orig, message: state.origRespMsg ?? '' };
    return { kind: 'unknown', reason: `${accepted}; origRespCode ${orig || '-'} ${state.origRespMsg ?? ''}` };
  }

  /** POSTs a signed form; answers the verified reply, or why there is no trustworthy one. */
  private async call(
    api: 'queryTrans' | 'backTransReq' | 'appTransReq',
    fields: Record<string, string>,
    signal?: AbortSignal,
  ) {
    let answer: Record<string, string>;
    try {
      const response = await fetch(`${this.settings.baseUrl}/gateway/api/${api}.do`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: new URLSearchParams(fields).toString(),
        signal: signal
          ? AbortSignal.any([signal, AbortSignal.timeout(this.settings.timeoutMs)])
          : AbortSignal.timeout(this.settings.timeoutMs),
      });
      if (response.status !== 200) return `${api}: HTTP ${response.status}`;
      answer = parseForm(await response.text());
    } catch (error) {
      return `${api}: ${(error as Error).message}`;
    }
    const problem = this.untrusted(answer);
    if (problem) {
      this.logger.warn(`${api} ${fields.orderId}: answer not trusted (${problem})`);
      return `${api}: unverified answer (${problem})`;
    }
    return answer;
  }

  private paid(fields: Record<string, string>): GatewayResult {
    const amount = Number(fields.txnAmt);
    if (!fields.queryId || !Number.isSafeInteger(amount))
      return { kind: 'unknown', reason: 'paid without queryId or txnAmt' };
    return { kind: 'paid', gatewayTradeNo: fields.queryId, paidAmountFen: amount, paidAt: this.now() };
  }

  private untrusted(fields: Record<string, string>): string | undefined {
    const key = trustedSigningKey(fields.signPubKeyCert, this.settings.anchors, this.now());
    if (typeof key === 'string') return key;
    return verifyFields(fields, key) ? undefined : 'bad signature';
  }

  private signed(fields: Record<string, string>): Record<string, string> {
    const all: Record<string, string> = {
      version: UNIONPAY_VERSION,
      encoding: 'UTF-8',
      signMethod: '01',
      certId: this.settings.merchantCertId,
      merId: this.settings.merId,
      ...fields,
    };
    return { ...all, signature: signFields(all, this.settings.merchantPrivateKey) };
  }

  private now(): Date {
    return this.settings.now?.() ?? new Date();
  }
}

/** The create modes UnionPay's online gateway offers beside the standard PC page. */
const UNIONPAY_MODES: readonly PayWay['mode'][] = ['mobile_web', 'pc_web', 'app'];

/** 冲正: undoes a consume named by its orderId and txnTime; a query of that order then finds the reversal. */
const REVERSAL = '99';

/** The txnTime of a consume or refund, recovered from our number (P/R + UTC yyyyMMddHHmmss + digits). */
export function txnTimeOf(no: string): string {
  const time = timeOfNumber(no);
  if (!time) throw new Error(`${no} carries no time`);
  return unionpayTime(time);
}

/** The lines of a file, as bytes (fields are counted in bytes, and the file is GBK). */
function splitLines(file: Uint8Array): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= file.length; i++) {
    if (i === file.length || file[i] === 0x0a) {
      const end = i > start && file[i - 1] === 0x0d ? i - 1 : i;
      if (end > start) lines.push(file.subarray(start, end));
      start = i + 1;
    }
  }
  return lines;
}
