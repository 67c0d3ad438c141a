import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../../common/clock';
import { addLogContext } from '../../common/logging/log-context';
import { newPaymentNo } from '../../common/ids';
import { AppConfig } from '../../config/app-config';
import { inTransaction } from '../../database/transaction';
import { AccountSelection } from '../../gateways/accounts/account-selection';
import { GatewayRegistry } from '../../gateways/gateway-registry';
import type { BarcodePayResult } from '../../gateways/gateway.types';
import type { PaymentGateway } from '../../gateways/payment-gateway';
import { BarcodeInProgress, BarcodeUnsupported, PaymentAlreadyPaid, PaymentRequestExpired } from '../payment-errors';
import { newPaymentDraft, type Payment } from '../payment.entity';
import { PaymentStateService } from '../payment-state.service';
import { mayStillBePaid } from '../payment-state-machine';
import { PaymentWaits } from '../payment-waits';
import { PaymentsRepository } from '../payments.repository';
import { PaymentRecovery } from '../recovery/payment-recovery.handler';
import { callBounded } from '../recovery/ask-gateway';
import { assertIntentMatches, type StartPaymentCommand } from '../start-payment.use-case';

export interface StartBarcodeCommand extends Omit<StartPaymentCommand, 'way' | 'returnUrl'> {
  /** The buyer's payment code, already matched to `channel` (auth-code.ts). Sent once; never stored. */
  authCode: string;
  terminal?: { storeId?: string; deviceId?: string };
}

/**
 * A payment at a counter: the buyer's payment code charged once, its answer read through BARCODE_PROTOCOL.
 *
 * 1. Short transaction under the order's intent lock: an order with a barcode payment still undecided takes no
 *    second code (the buyer could be charged twice); otherwise a new `barcode` payment, PAYING, its first query
 *    scheduled. Commit: from here on recovery owns it, even if this process dies before the call.
 * 2. Outside any transaction: the pay call, with the gateway timeout.
 * 3. The answer recorded as the `pay` attempt (PaymentRecovery.recordPay): paid → PAID, a definite refusal →
 *    FAILED, anything else → the query window, then the reverse.
 * 4. The counter waits up to BARCODE_ANSWER_WAIT for a definite result, then gets the payment as it is.
 *
 * The code itself is never retried: a lost answer is found by the queries, and an undecided trade is reversed.
 */
@Injectable()
export class StartBarcodeUseCase {
  private readonly logger = new Logger(StartBarcodeUseCase.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(PaymentsRepository) private readonly payments: PaymentsRepository,
    @Inject(PaymentStateService) private readonly state: PaymentStateService,
    @Inject(GatewayRegistry) private readonly gateways: GatewayRegistry,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(AccountSelection) private readonly selection: AccountSelection,
    @Inject(PaymentRecovery) private readonly recovery: PaymentRecovery,
    @Inject(PaymentWaits) private readonly waits: PaymentWaits,
  ) {}

  async execute(command: StartBarcodeCommand): Promise<Payment> {
    const accountId = await this.selection.accountFor(command.applicationId, command.channel, command.accountId);
    const gateway = await this.gateways.forNewPayment(command.channel, accountId);
    const unsupported = gateway.barcodeUnsupported();
    if (unsupported) throw new BarcodeUnsupported(unsupported);
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
    const payment = await inTransaction(this.dataSource, (manager) => this.start(manager, command, accountId));
    addLogContext({ paymentNo: payment.paymentNo });
    this.logger.log(`charging a ${command.channel} payment code for ${command.amountFen} fen`);
    const result = await this.pay(gateway, payment, command);
    await this.recovery.recordPay(payment, result);
    return this.waits.until(
      payment.paymentNo,
      async () => (await this.payments.findByPaymentNo(payment.paymentNo)) ?? payment,
      (current) => current.status !== 'PAYING',
      this.config.barcode.answerWaitMs,
    );
  }

  private async start(manager: EntityManager, command: StartBarcodeCommand, accountId: string): Promise<Payment> {
    const intent = await this.payments.lockIntent(manager, command.orderNo);
    const now = this.clock.now();
    assertIntentMatches(intent, command, now);
    const existing = await this.payments.findByOrderNo(manager, command.orderNo);
    const paid = existing.find((p) => p.status === 'PAID');
    if (paid) throw new PaymentAlreadyPaid(command.orderNo, paid.paymentNo);
    const undecided = existing.find((p) => p.mode === 'barcode' && mayStillBePaid(p.status));
    if (undecided) throw new BarcodeInProgress(command.orderNo, undecided.paymentNo);

    const firstQuery = new Date(now.getTime() + this.config.barcode.queryEveryMs);
    const started = await this.state.insertStarted(
      manager,
      newPaymentDraft(
        {
          paymentNo: newPaymentNo(now),
          orderNo: command.orderNo,
          channel: command.channel,
          accountId,
          mode: 'barcode',
          returnUrl: null,
          payerId: null,
          appId: null,
          applicationId: command.applicationId,
          amountFen: command.amountFen,
          currency: command.currency,
          expiresAt: intent.expiresAt,
        },
        now,
      ),
      { type: 'START', nextQueryAt: firstQuery },
    );
    // The buyer pays at the counter instead: the order's open QR or page payments are closed.
    if (existing.some((p) => p.status === 'PAYING')) await this.state.supersede(manager, started.payment);
    return started.payment;
  }

  /** The one pay call, bounded by the gateway timeout; no answer in time is `unknown` (the queries find out). */
  private async pay(
    gateway: PaymentGateway,
    payment: Payment,
    command: StartBarcodeCommand,
  ): Promise<BarcodePayResult> {
    const request = {
      paymentNo: payment.paymentNo,
      amountFen: payment.amountFen,
      currency: payment.currency,
      description: command.description,
      authCode: command.authCode,
      terminal: command.terminal,
    };
    const { answer } = await callBounded(
      (signal) => gateway.payByCode({ ...request, signal }),
      this.config.gateways.timeoutMs,
    );
    return answer;
  }
}
