import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { RequestValidationFailed } from '../common/errors/domain-error';
import { type Channel, type CreateMode, PAGE_MODES, PAYER_MODES } from '../gateways/gateway.types';
import { barcodeChannel } from './barcode/auth-code';
import { AppConfig } from '../config/app-config';
import { isFinal } from './payment-state-machine';
import { PaymentWaits } from './payment-waits';
import { StartBarcodeUseCase } from './barcode/start-barcode.use-case';
import { PaymentNotFound } from './payment-errors';
import type { Payment } from './payment.entity';
import { toPaymentView, type PaymentView } from './payment.view';
import { PaymentsRepository } from './payments.repository';
import { RECOVERABLE } from './recovery/payment-recovery.handler';
import { FreshAnswer, SyncTooSoon } from './recovery/fresh-answer';
import { RecoveryEngine } from './recovery/recovery-engine';
import type { Refund } from './refunds/refund.entity';
import { RefundsRepository } from './refunds/refunds.repository';
import { type StartPaymentCommand, StartPaymentUseCase } from './start-payment.use-case';

export interface PayCommand extends Omit<StartPaymentCommand, 'channel' | 'way'> {
  channel?: Channel;
  mode?: CreateMode;
  payerId?: string;
  appId?: string;
  clientIp?: string;
  barcode?: { authCode: string; terminal?: { storeId?: string; deviceId?: string } };
}

/** The little a return page shows: enough to tell the buyer where the payment stands and lead it back. */
export interface ReturnPageView {
  paymentNo: string;
  orderNo: string;
  channel: Channel;
  status: Payment['status'];
  amountFen: Payment['amountFen'];
  /** The merchant's page (allow-listed when the payment started), or null. */
  returnUrl: string | null;
}

const toReturnPageView = (p: Payment): ReturnPageView => ({
  paymentNo: p.paymentNo,
  orderNo: p.orderNo,
  channel: p.channel,
  status: p.status,
  amountFen: p.amountFen,
  returnUrl: p.returnUrl,
});

/**
 * An input the mode never takes (a payer for a QR code, a return page for an app): refused rather than ignored,
 * so a caller who meant another mode learns it. Which inputs a mode requires is the adapter's (payWayInvalid).
 */
function misplacedInput(
  mode: CreateMode,
  inputs: { payerId?: string; appId?: string; clientIp?: string; returnUrl?: string },
): { field: string; message: string } | undefined {
  if (inputs.payerId !== undefined && !PAYER_MODES.includes(mode)) {
    return { field: 'payerId', message: `payerId is for the ${PAYER_MODES.join(' and ')} modes` };
  }
  if (inputs.appId !== undefined && !PAYER_MODES.includes(mode) && mode !== 'app') {
    return { field: 'appId', message: `appId is for the ${[...PAYER_MODES, 'app'].join(', ')} modes` };
  }
  if (PAYER_MODES.includes(mode) && inputs.payerId === undefined) {
    return { field: 'payerId', message: `payerId is required for the ${mode} mode` };
  }
  if (inputs.clientIp !== undefined && mode !== 'mobile_web') {
    return { field: 'clientIp', message: 'clientIp is for the mobile_web mode' };
  }
  if (inputs.returnUrl !== undefined && !PAGE_MODES.includes(mode)) {
    return { field: 'returnUrl', message: `returnUrl is for the ${PAGE_MODES.join(' and ')} modes` };
  }
  return undefined;
}

/**
 * The PaymentCenter's public interface for business applications inside this process (our Orders
 * module). Partners outside use the same operations over REST and learn outcomes from events.
 */
@Injectable()
export class PaymentCenter {
  constructor(
    @Inject(StartPaymentUseCase) private readonly startPaymentUseCase: StartPaymentUseCase,
    @Inject(StartBarcodeUseCase) private readonly startBarcodeUseCase: StartBarcodeUseCase,
    @Inject(PaymentsRepository) private readonly payments: PaymentsRepository,
    @Inject(RecoveryEngine) private readonly recovery: RecoveryEngine,
    @Inject(RefundsRepository) private readonly refunds: RefundsRepository,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(FreshAnswer) private readonly fresh: FreshAnswer,
    @Inject(PaymentWaits) private readonly waits: PaymentWaits,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  /**
   * A QR code or page payment on `channel`, or, with `barcode`, a counter's charge of the buyer's payment code
   * on the channel the code belongs to (auth-code.ts; a named channel must be the code's).
   */
  async startPayment(command: PayCommand): Promise<PaymentView> {
    const { barcode, channel, mode = 'standard', payerId, appId, clientIp, ...rest } = command;
    const wayInputs = { payerId, appId, clientIp, returnUrl: rest.returnUrl };
    if (barcode && (command.mode !== undefined || Object.values(wayInputs).some((v) => v !== undefined))) {
      const problem =
        'a payment code (authCode) is its own mode: leave out mode, payerId, appId, clientIp and returnUrl';
      throw new RequestValidationFailed([{ field: 'mode', messages: [problem] }]);
    }
    if (barcode) {
      const resolved = barcodeChannel(barcode.authCode, channel);
      if (typeof resolved !== 'string') {
        throw new RequestValidationFailed([{ field: 'authCode', messages: [resolved.refused] }]);
      }
      return toPaymentView(await this.startBarcodeUseCase.execute({ ...rest, channel: resolved, ...barcode }));
    }
    if (!channel) throw new RequestValidationFailed([{ field: 'channel', messages: ['channel is required'] }]);
    const misplaced = misplacedInput(mode, wayInputs);
    if (misplaced) throw new RequestValidationFailed([{ field: misplaced.field, messages: [misplaced.message] }]);
    const way = {
      mode,
      ...(payerId ? { payerId } : {}),
      ...(appId ? { appId } : {}),
      ...(clientIp ? { clientIp } : {}),
    };
    return toPaymentView(await this.startPaymentUseCase.execute({ ...rest, channel, way }));
  }

  /** The payment if it belongs to `applicationId`; another application's is PAYMENT_NOT_FOUND, like none. */
  async getPaymentOf(applicationId: string, paymentNo: string, waitSeconds = 0): Promise<PaymentView> {
    await this.assertOwner(applicationId, paymentNo);
    if (waitSeconds <= 0) return this.getPayment(paymentNo);
    // A long poll: the status the payment has now is the one waited away from (a final one answers at once).
    const seconds = Math.min(waitSeconds, this.config.barcode.waitMaxSeconds);
    const read = async () => {
      const payment = await this.payments.findByPaymentNo(paymentNo);
      if (!payment) throw new PaymentNotFound(paymentNo);
      return payment;
    };
    const first = await read();
    if (isFinal(first.status)) return toPaymentView(first);
    const changed = await this.waits.until(paymentNo, read, (now) => now.status !== first.status, seconds * 1000);
    return toPaymentView(changed);
  }

  /**
   * Refuses a payment number the application does not own, exactly as one that does not exist: a caller
   * must not learn that another application's payment exists.
   */
  async assertOwner(applicationId: string, paymentNo: string): Promise<void> {
    if ((await this.payments.ownerOf(paymentNo)) !== applicationId) throw new PaymentNotFound(paymentNo);
  }

  /**
   * `applicationId`'s payment after asking the vendor about it now (FreshAnswer): a query, or the close of a
   * payment being closed, applied like a notification. A settled payment is returned as it is, unasked.
   */
  async syncPaymentOf(applicationId: string, paymentNo: string): Promise<PaymentView> {
    await this.assertOwner(applicationId, paymentNo);
    const payment = await this.payments.findByPaymentNo(paymentNo);
    if (!payment) throw new PaymentNotFound(paymentNo);
    if (RECOVERABLE.includes(payment.status)) await this.fresh.ask('payment', paymentNo);
    return this.getPayment(paymentNo);
  }

  /**
   * What a buyer sent back from the vendor's page sees (the return page): the payment as our server holds it,
   * asked of the vendor first while it may still be paid (at most once per PAYMENT_SYNC_INTERVAL, as a sync).
   * Nothing the redirect carried is read: only the payment number in its path, which the vendor was given by us.
   */
  async paymentForReturnPage(paymentNo: string): Promise<ReturnPageView | undefined> {
    const payment = await this.payments.findByPaymentNo(paymentNo);
    if (!payment) return undefined;
    if (!RECOVERABLE.includes(payment.status)) return toReturnPageView(payment);
    try {
      await this.fresh.ask('payment', paymentNo);
    } catch (error) {
      // Asked a moment ago: what we hold is as fresh as a query would make it.
      if (!(error instanceof SyncTooSoon)) throw error;
    }
    const now = await this.payments.findByPaymentNo(paymentNo);
    return toReturnPageView(now ?? payment);
  }

  async getPayment(paymentNo: string): Promise<PaymentView> {
    const payment = await this.payments.findByPaymentNo(paymentNo);
    if (!payment) throw new PaymentNotFound(paymentNo);
    return toPaymentView(payment);
  }

  /**
   * A business application that has not heard about its order asks here. A payment whose next gateway
   * query is overdue (the slot job is not running, the reconciler is behind) is asked about now, through the same
   * single-flight claim; then the current payments are returned. `returned` marks a paid payment whose
   * money goes back automatically (paid after close, or a second payment): it does not pay the order.
   */
  async checkPayments(orderNo: string): Promise<(PaymentView & { returned: boolean })[]> {
    const now = this.clock.now();
    for (const payment of await this.payments.findByOrderNo(undefined, orderNo)) {
      if (RECOVERABLE.includes(payment.status) && payment.nextQueryAt && payment.nextQueryAt <= now) {
        await this.recovery.run('payment', payment.paymentNo, payment.queryAttempts);
      }
    }
    const payments = await this.payments.findByOrderNo(undefined, orderNo);
    return Promise.all(
      payments.map(async (payment) => ({
        ...toPaymentView(payment),
        returned: (await this.refunds.findByPaymentNo(payment.paymentNo)).some((r) => r.kind !== 'REQUESTED'),
      })),
    );
  }

  async listPaymentsOfOrder(orderNo: string): Promise<PaymentView[]> {
    return (await this.payments.findByOrderNo(undefined, orderNo)).map(toPaymentView);
  }

  async historyOf(
    paymentNo: string,
  ): Promise<{ event: string; from: string; to: string; version: number; detail: string | null; at: string }[]> {
    const transitions = await this.payments.transitionsOf(paymentNo);
    return transitions.map((t) => ({
      event: t.event,
      from: t.fromStatus,
      to: t.toStatus,
      version: t.version,
      detail: t.detail,
      at: t.createdAt.toISOString(),
    }));
  }

  /**
   * Statement reconciliation's side of a day of one channel account (bills are per merchant): what was
   * settled in [start, end) (payments paid, refunds refunded) and the payments and refunds of that account a
   * statement names, read in chunks.
   */
  async ledgerOf(
    channel: Channel,
    accountId: string,
    day: { start: Date; end: Date },
    named: { paymentNos: readonly string[]; refundNos: readonly string[] },
  ): Promise<{ paidThatDay: Payment[]; refundedThatDay: Refund[]; payments: Payment[]; refunds: Refund[] }> {
    const paidThatDay = await this.payments.paidBetween(channel, accountId, day.start, day.end);
    const refundedThatDay = await this.refunds.refundedBetween(channel, accountId, day.start, day.end);
    const payments: Payment[] = [];
    for (const chunk of chunks(named.paymentNos))
      payments.push(...(await this.payments.findByPaymentNos(channel, accountId, chunk)));
    const refunds: Refund[] = [];
    for (const chunk of chunks(named.refundNos))
      refunds.push(...(await this.refunds.findByRefundNos(channel, accountId, chunk)));
    return { paidThatDay, refundedThatDay, payments, refunds };
  }

  /** A refund as it is now (statement reconciliation reads back one it could not settle). */
  findRefund(refundNo: string): Promise<Refund | null> {
    return this.refunds.findByRefundNo(refundNo);
  }

  /** Every gateway call recovery made for the payment: what an operator reads to see why it is stuck. */
  async attemptsOf(
    paymentNo: string,
  ): Promise<
    { action: string; attempt: number; outcome: string; detail: string | null; refundNo: string | null; at: string }[]
  > {
    const attempts = await this.payments.attemptsOf(paymentNo);
    return attempts.map((a) => ({
      action: a.action,
      attempt: a.attempt,
      outcome: a.outcome,
      detail: a.detail,
      refundNo: a.refundNo,
      at: a.createdAt.toISOString(),
    }));
  }
}

/** Numbers per IN list: a statement names thousands of trades, a statement of ours stays small. */
const CHUNK = 500;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}
