import { Logger } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import type {
  CloseResult,
  CreatePaymentRequest,
  CreatePaymentResult,
  GatewayAck,
  GatewayNotification,
  GatewayResult,
  RawNotification,
  RefundResult,
} from '../gateway.types';
import { NotificationRejected } from '../notification-rejected';
import { PaymentGateway } from '../payment-gateway';
import {
  parseForm,
  signFields,
  type TrustAnchors,
  trustedSigningKey,
  UNIONPAY_VERSION,
  unionpayTime,
  verifyFields,
} from './unionpay.protocol';

export interface UnionPaySettings {
  /** https://gateway.95516.com, or the sandbox's address. */
  baseUrl: string;
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
 * UnionPay online gateway 5.1.0 with node:crypto: the front-end consume form (the buyer's browser posts it),
 * query through queryTrans, and verified notifications. Every answer is checked against the certificate
 * it carries, after that certificate is checked against the configured root and middle certificates.
 */
export class UnionPayGateway extends PaymentGateway {
  readonly channel = 'unionpay' as const;
  private readonly logger = new Logger(UnionPayGateway.name);

  constructor(private readonly settings: UnionPaySettings) {
    super();
  }

  /** No call to UnionPay: the trade exists once the buyer's browser posts this form to frontTransReq. */
  createPayment(request: CreatePaymentRequest): Promise<CreatePaymentResult> {
    const fields = this.signed({
      txnType: '01',
      txnSubType: '01',
      bizType: '000201',
      channelType: '07',
      accessType: '0',
      orderId: request.paymentNo,
      txnTime: txnTimeOf(request.paymentNo),
      txnAmt: String(request.amountFen), // UnionPay amounts are fen already
      currencyCode: '156',
      backUrl: this.settings.notifyUrl,
      payTimeout: unionpayTime(request.expiresAt),
    });
    return Promise.resolve({
      kind: 'created',
      credential: { type: 'form', action: `${this.settings.baseUrl}/gateway/api/frontTransReq.do`, fields },
    });
  }

  async query(paymentNo: string): Promise<GatewayResult> {
    const fields = this.signed({
      txnType: '00',
      txnSubType: '00',
      bizType: '000201',
      accessType: '0',
      channelType: '07',
      orderId: paymentNo,
      txnTime: txnTimeOf(paymentNo),
    });
    let answer: Record<string, string>;
    try {
      const response = await fetch(`${this.settings.baseUrl}/gateway/api/queryTrans.do`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: new URLSearchParams(fields).toString(),
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
      if (response.status !== 200) return { kind: 'unknown', reason: `HTTP ${response.status}` };
      answer = parseForm(await response.text());
    } catch (error) {
      return { kind: 'unknown', reason: `queryTrans: ${(error as Error).message}` };
    }
    const problem = this.untrusted(answer);
    if (problem) {
      this.logger.warn(`queryTrans ${paymentNo}: answer not trusted (${problem})`);
      return { kind: 'unknown', reason: `unverified answer: ${problem}` };
    }
    if (answer.respCode === '34') return { kind: 'not_paid' }; // no such order: the buyer never submitted
    if (answer.respCode !== '00')
      return { kind: 'unknown', reason: `respCode ${answer.respCode} ${answer.respMsg ?? ''}` };
    switch (answer.origRespCode) {
      case '00':
        return this.paid(answer);
      case '03':
      case '04':
      case '05':
        return { kind: 'not_paid' }; // in progress
      case 'A6':
        return { kind: 'unknown', reason: 'origRespCode A6 (partial success): needs review' };
      default:
        return { kind: 'failed', code: answer.origRespCode ?? '?', message: answer.origRespMsg ?? '' };
    }
  }

  close(): Promise<CloseResult> {
    // A front-end consume is not closed at UnionPay: it lapses at its payTimeout.
    return Promise.resolve({ kind: 'unknown', reason: 'UnionPay consumes cannot be closed; they lapse at payTimeout' });
  }

  refund(): Promise<RefundResult> {
    return Promise.resolve({ kind: 'unknown', reason: 'UnionPay refunds are not implemented yet' });
  }

  queryRefund(): Promise<RefundResult> {
    return Promise.resolve({ kind: 'unknown', reason: 'UnionPay refunds are not implemented yet' });
  }

  parseNotification(notification: RawNotification): Promise<GatewayNotification> {
    const fields = parseForm(notification.rawBody.toString('utf8'));
    const problem = this.untrusted(fields);
    if (problem) return Promise.reject(new NotificationRejected(problem));
    if (fields.merId !== this.settings.merId) {
      return Promise.reject(new NotificationRejected(`notification for merId ${fields.merId}`));
    }
    if (!fields.orderId) return Promise.reject(new NotificationRejected('notification without orderId'));
    // Only a consume result of ours is a payment result: refunds and cancels notify the same backUrl.
    const isConsume =
      fields.txnType === '01' &&
      fields.txnSubType === '01' &&
      fields.bizType === '000201' &&
      fields.currencyCode === '156';
    if (!isConsume || fields.txnTime !== txnTimeOf(fields.orderId)) {
      return Promise.reject(
        new NotificationRejected(
          `not a consume notification of ours (txnType ${fields.txnType}, txnTime ${fields.txnTime})`,
        ),
      );
    }
    // respCode 00 or A6 is a success; anything else is not a definite failure: the query decides.
    const result: GatewayResult =
      fields.respCode === '00' || fields.respCode === 'A6'
        ? this.paid(fields)
        : { kind: 'unknown', reason: `notification respCode ${fields.respCode ?? '?'} ${fields.respMsg ?? ''}` };
    return Promise.resolve({ kind: 'payment', paymentNo: fields.orderId, result });
  }

  acknowledge(outcome: { accepted: true } | { accepted: false; reason: string }): GatewayAck {
    // HTTP 200 stops UnionPay's resends; anything else gets another.
    return outcome.accepted
      ? { status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' }
      : { status: 400, headers: { 'content-type': 'text/plain' }, body: 'fail' };
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

/** The consume's txnTime, recovered from the payment number (P + UTC yyyyMMddHHmmss + digits). */
export function txnTimeOf(paymentNo: string): string {
  const stamp = /^P(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})/.exec(paymentNo);
  if (!stamp) throw new Error(`payment number ${paymentNo} carries no time`);
  return unionpayTime(new Date(`${stamp[1]}-${stamp[2]}-${stamp[3]}T${stamp[4]}:${stamp[5]}:${stamp[6]}Z`));
}
