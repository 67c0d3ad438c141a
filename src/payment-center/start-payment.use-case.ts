import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { Clock } from '../common/clock';
import { addLogContext } from '../common/logging/log-context';
import { newPaymentNo } from '../common/ids';
import type { Fen } from '../common/money';
import { inTransaction } from '../database/transaction';
import { AccountSelection } from '../gateways/accounts/account-selection';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { RequestValidationFailed } from '../common/errors/domain-error';
import { type Channel, type CreatePaymentResult, PAGE_MODES, type PayWay } from '../gateways/gateway.types';
import type { PaymentGateway } from '../gateways/payment-gateway';
import {
  GatewayRejected,
  GatewayUnavailable,
  PaymentAlreadyPaid,
  PaymentRequestExpired,
  PaymentRequestMismatch,
  PaymentStarting,
  PayModeUnsupported,
} from './payment-errors';
import { newPaymentDraft, type Payment, type PaymentIntent } from './payment.entity';
import { PaymentStateService } from './payment-state.service';
import { PaymentsRepository } from './payments.repository';
import { returnPageOf } from './return-page';
import { callBounded } from './recovery/ask-gateway';
import { createCallWindowEnds, firstQueryAt } from './recovery/recovery-schedule';

export interface StartPaymentCommand {
  orderNo: string;
  /** The application the order belongs to; every payment of the order belongs to it too. */
  applicationId: string | null;
  amountFen: Fen;
  currency: 'CNY';
  channel: Channel;
  /** The channel account the caller named, if any (see AccountSelection: it must be one the application is bound to). */
  accountId?: string;
  /** How the buyer pays (the mode and its inputs); `returnUrl` is the merchant's page, already allow-listed. */
  way: Omit<PayWay, 'returnUrl'>;
  /** Page modes: the merchant's page our return page links back to (checked against the application's list). */
  returnUrl?: string;
  description: string;
  expiresAt: Date;
}

type Plan =
  | { kind: 'ready'; payment: Payment }
  | { kind: 'call_gateway'; payment: Payment; description: string; resumed: boolean };

/**
 * A pay request must describe the order its intent was made for (amount, currency, application), before the
 * order's expiry: checked under the intent lock by every start.
 */
export function assertIntentMatches(
  intent: Pick<PaymentIntent, 'amountFen' | 'currency' | 'applicationId' | 'expiresAt'>,
  command: Pick<StartPaymentCommand, 'orderNo' | 'amountFen' | 'currency' | 'applicationId'>,
  now: Date,
): void {
  if (
    intent.amountFen !== command.amountFen ||
    intent.currency !== command.currency ||
    intent.applicationId !== command.applicationId
  ) {
    throw new PaymentRequestMismatch(command.orderNo);
  }
  if (now >= intent.expiresAt) throw new PaymentRequestExpired(command.orderNo);
}

/** How many times a pay request makes its plan again when the payment it would resume changed under it. */
const MAX_PLAN_ATTEMPTS = 3;

/** The payment a plan would resume changed after the plan read it: the plan's transaction is rolled back. */
class StalePlan extends Error {
  constructor(readonly paymentNo: string) {
    super(`payment ${paymentNo} changed while the pay request planned`);
  }
}

/**
 * Starts, or resumes, paying an order through a channel.
 *
 * 1. Short transaction under the order's intent lock: decide. Same channel with an open payment → resume
 *    it (never a second vendor order); otherwise insert a new payment and move it to PAYING. Commit.
 * 2. Outside any transaction: ask the vendor to create the trade, with a timeout.
 * 3. Record the vendor's answer under the payment's row lock: a code URL or form in one compare-and-set
 *    statement, a refusal or no answer in a second short transaction.
 *
 * A crash between 1 and 3 leaves a PAYING payment with a next query time and no credential: recovery
 * queries the vendor for it, and the next `pay` for the same channel calls the vendor again with the same
 * payment number (vendors deduplicate by merchant order number) once the first call's time is up.
 *
 * Paying with another channel while one is open is allowed (buyers switch from WeChat to Alipay): the
 * earlier payment is closed at its vendor (CLOSING, recovery closes it), and keeping at most one paid
 * payment per order is still enforced when results arrive (a second paid payment is refunded).
 */
@Injectable()
export class StartPaymentUseCase {
  private readonly logger = new Logger(StartPaymentUseCase.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(PaymentsRepository) private readonly payments: PaymentsRepository,
    @Inject(PaymentStateService) private readonly state: PaymentStateService,
    @Inject(GatewayRegistry) private readonly gateways: GatewayRegistry,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(AccountSelection) private readonly selection: AccountSelection,
  ) {}

  async execute(command: StartPaymentCommand): Promise<Payment> {
    // Unknown channel, an account the application may not use, or a disabled one: refused before writing anything.
    const accountId = await this.selection.accountFor(command.applicationId, command.channel, command.accountId);
    const gateway = await this.gateways.forNewPayment(command.channel, accountId);
    const unsupported = gateway.payModeUnsupported(command.way);
    if (unsupported) throw new PayModeUnsupported(unsupported);
    const invalid = gateway.payWayInvalid(command.way);
    if (invalid) throw new RequestValidationFailed([{ field: invalid.field, messages: [invalid.message] }]);
    const now = this.clock.now();
    if (now >= command.expiresAt) throw new PaymentRequestExpired(command.orderNo);
    await this.payments.ensureIntent({
      orderNo: command.orderNo,
      applicationId: command.applicationId,
      amountFen: command.amountFen,
      currency: command.currency,
      description: command.description.slice(0, 128),
      expiresAt: command.expiresAt,
      createdAt: now,
    });

    addLogContext({ orderNo: command.orderNo });
    const plan = await this.decide(command, accountId);
    addLogContext({ paymentNo: plan.payment.paymentNo });
    if (plan.kind === 'ready') return plan.payment;
    this.logger.log(
      `${plan.resumed ? 'resuming' : 'starting'} ${command.channel} payment of ${command.amountFen} fen at the gateway`,
    );
    const { answer, timedOut } = await this.createAtGateway(gateway, plan.payment, plan.description, command.way);
    return this.record(plan.payment, answer, { resumed: plan.resumed, timedOut });
  }

  /**
   * The plan, in a transaction of its own. A plan made from a read that changed before its write (see
   * `plan`) is made again in a new transaction, which sees the change; after a few, the buyer is told to retry.
   */
  private async decide(command: StartPaymentCommand, accountId: string): Promise<Plan> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await inTransaction(this.dataSource, (manager) => this.plan(manager, command, accountId));
      } catch (error) {
        if (!(error instanceof StalePlan)) throw error;
        if (attempt === MAX_PLAN_ATTEMPTS) throw new PaymentStarting(error.paymentNo);
      }
    }
  }

  private async plan(manager: EntityManager, command: StartPaymentCommand, accountId: string): Promise<Plan> {
    const intent = await this.payments.lockIntent(manager, command.orderNo);
    const now = this.clock.now();
    assertIntentMatches(intent, command, now);

    const existing = await this.payments.findByOrderNo(manager, command.orderNo);
    const paid = existing.find((p) => p.status === 'PAID');
    if (paid) throw new PaymentAlreadyPaid(command.orderNo, paid.paymentNo);

    // Resumed only on the same account and way to pay: a trade is the account's at the vendor, made for one mode,
    // and an in-app one for one buyer in one app (another buyer's client could not pay it).
    const open = existing.find(
      (p) =>
        p.channel === command.channel &&
        p.accountId === accountId &&
        p.mode === command.way.mode &&
        p.payerId === (command.way.payerId ?? null) &&
        p.appId === (command.way.appId ?? null) &&
        p.status === 'PAYING',
    );
    if (open) {
      if (open.payCredential) return { kind: 'ready', payment: open };
      // gatewayRequestedAt is cleared when a call came back without an answer; while it is set, a call may
      // still be running (its own timeout, plus a margin for the time between commit and the call).
      const callStillRunning =
        open.gatewayRequestedAt !== null &&
        now < createCallWindowEnds(open.gatewayRequestedAt, this.config.gateways.timeoutMs);
      if (callStillRunning) throw new PaymentStarting(open.paymentNo);
      // The earlier vendor call failed, timed out or its process died: call again with the same payment
      // number, which every vendor deduplicates.
      // The payments were read from the transaction's snapshot: a callback (PAID) or expiry may have committed
      // since. Marking the call checks the row as it is now, so such a payment is never sent to the vendor again.
      if (!(await this.payments.markGatewayRequested(manager, open, now))) throw new StalePlan(open.paymentNo);
      return { kind: 'call_gateway', payment: open, description: intent.description, resumed: true };
    }

    const firstQuery = firstQueryAt(now, this.config.recovery);
    const started = await this.state.insertStarted(
      manager,
      newPaymentDraft(
        {
          paymentNo: newPaymentNo(now),
          orderNo: command.orderNo,
          channel: command.channel,
          accountId,
          mode: command.way.mode,
          returnUrl: command.returnUrl ?? null,
          payerId: command.way.payerId ?? null,
          appId: command.way.appId ?? null,
          applicationId: command.applicationId,
          amountFen: command.amountFen,
          currency: command.currency,
          expiresAt: intent.expiresAt,
        },
        now,
      ),
      { type: 'START', nextQueryAt: firstQuery },
    );
    // Committed as PAYING with its first query time: from here on recovery owns it, even if this process dies
    // before the vendor call (the recovery slot after that time finds it).
    // The buyer moved on: the order's earlier trades on other channels or accounts are closed.
    if (existing.some((p) => p.status === 'PAYING')) await this.state.supersede(manager, started.payment);
    return { kind: 'call_gateway', payment: started.payment, description: intent.description, resumed: false };
  }

  private createAtGateway(
    gateway: PaymentGateway,
    payment: Payment,
    description: string,
    way: StartPaymentCommand['way'],
  ): Promise<{ answer: CreatePaymentResult; timedOut: boolean }> {
    // A buyer sent to the vendor's page comes back to our return page, which shows what our server holds.
    const returnUrl = PAGE_MODES.includes(way.mode) ? returnPageOf(this.config, payment.paymentNo) : undefined;
    const request = {
      paymentNo: payment.paymentNo,
      amountFen: payment.amountFen,
      currency: payment.currency,
      description,
      expiresAt: payment.expiresAt,
      way: { ...way, ...(returnUrl ? { returnUrl } : {}) },
    };
    return callBounded((signal) => gateway.createPayment({ ...request, signal }), this.config.gateways.timeoutMs);
  }

  /**
   * Records the vendor's answer under the payment's row lock, and only while it still means something: a
   * payment that a callback already moved on is returned as it is.
   */
  private async record(
    ours: Payment,
    answer: CreatePaymentResult,
    call: { resumed: boolean; timedOut: boolean },
  ): Promise<Payment> {
    const paymentNo = ours.paymentNo;
    if (answer.kind === 'created') {
      const now = this.clock.now();
      const gatewayTradeNo = answer.gatewayTradeNo || null;
      // The common case: the row is still as this request left it, so one compare-and-set and no read back.
      if (await this.payments.recordCredential(paymentNo, answer.credential, gatewayTradeNo, now, ours)) {
        return {
          ...ours,
          payCredential: answer.credential,
          gatewayTradeNo: ours.gatewayTradeNo ?? gatewayTradeNo,
          gatewayRequestedAt: null,
          statusReason: null,
          updatedAt: now,
        };
      }
      // Something wrote it meanwhile (recovery asked, a callback applied): kept only while still PAYING,
      // then the payment as it is now.
      await this.payments.recordCredential(paymentNo, answer.credential, gatewayTradeNo, now);
      const current = await this.payments.findByPaymentNo(paymentNo);
      if (!current) throw new Error(`payment ${paymentNo} vanished`);
      return current;
    }
    const outcome = await inTransaction(this.dataSource, async (manager) => {
      const payment = await this.payments.lockByPaymentNo(manager, paymentNo);
      if (!payment) throw new Error(`payment ${paymentNo} vanished`);
      if (payment.status !== 'PAYING') return { payment, error: undefined };
      const now = this.clock.now();
      switch (answer.kind) {
        case 'rejected': {
          const reason = `${answer.code}: ${answer.message}`;
          if (!call.resumed && !payment.payCredential) {
            // A definite refusal of the first request: nothing can be paid on this payment.
            const failed = await this.state.apply(paymentNo, { type: 'FAILED_CONFIRMED', reason }, manager);
            return { payment: failed.payment, error: new GatewayRejected(paymentNo, answer.code, answer.message) };
          }
          // A repeated request refused (e.g. "order already exists" or "already paid") says nothing about
          // whether the buyer paid: keep it PAYING and let the query schedule find out.
          payment.gatewayRequestedAt = null;
          payment.statusReason = `create payment (repeated): ${reason}`.slice(0, 512);
          payment.updatedAt = now;
          await this.payments.save(manager, payment);
          return { payment, error: new GatewayRejected(paymentNo, answer.code, answer.message) };
        }
        case 'unknown':
          // A call that came back without an answer may be retried at once; a call we timed out keeps the
          // window so that a late vendor answer and a retry do not overlap.
          if (!call.timedOut) payment.gatewayRequestedAt = null;
          payment.statusReason = `create payment: ${answer.reason}`.slice(0, 512);
          payment.updatedAt = now;
          await this.payments.save(manager, payment);
          return { payment, error: new GatewayUnavailable(paymentNo, answer.reason) };
      }
    });
    if (outcome.error) {
      this.logger.warn(`create payment ${paymentNo}: ${outcome.error.message}`);
      throw outcome.error;
    }
    return outcome.payment;
  }
}
