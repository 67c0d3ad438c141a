import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { Clock } from '../common/clock';
import { newPaymentNo } from '../common/ids';
import type { Fen } from '../common/money';
import { inTransaction } from '../database/transaction';
import { GatewayRegistry } from '../gateways/gateway-registry';
import type { Channel, CreatePaymentResult } from '../gateways/gateway.types';
import type { PaymentGateway } from '../gateways/payment-gateway';
import {
  GatewayRejected,
  GatewayUnavailable,
  PaymentAlreadyPaid,
  PaymentRequestExpired,
  PaymentRequestMismatch,
  PaymentStarting,
} from './payment-errors';
import type { Payment } from './payment.entity';
import { PaymentStateService } from './payment-state.service';
import { PaymentsRepository } from './payments.repository';

export interface StartPaymentCommand {
  orderNo: string;
  amountFen: Fen;
  currency: 'CNY';
  channel: Channel;
  description: string;
  expiresAt: Date;
}

type Plan = { kind: 'ready'; payment: Payment } | { kind: 'call_gateway'; payment: Payment; description: string };

/**
 * Starts, or resumes, paying an order through a channel.
 *
 * 1. Short transaction under the order's intent lock: decide. Same channel with an open payment → resume
 *    it (never a second vendor order); otherwise insert a new payment and move it to PAYING. Commit.
 * 2. Outside any transaction: ask the vendor to create the trade, with a timeout.
 * 3. Second short transaction: record the vendor's answer.
 *
 * A crash between 1 and 3 leaves a PAYING payment with a next query time and no credential: recovery
 * queries the vendor for it, and the next `pay` for the same channel calls the vendor again with the same
 * payment number (vendors deduplicate by merchant order number) once the first call's time is up.
 *
 * Paying with another channel while one is open is allowed (buyers switch from WeChat to Alipay); the
 * earlier payment stays open until it expires, and keeping at most one paid payment per order is enforced
 * when results arrive (a second paid payment is refunded).
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
  ) {}

  async execute(command: StartPaymentCommand): Promise<Payment> {
    const gateway = this.gateways.get(command.channel); // unknown channel: refuse before writing anything
    const now = this.clock.now();
    if (now >= command.expiresAt) throw new PaymentRequestExpired(command.orderNo);
    await this.payments.ensureIntent({
      orderNo: command.orderNo,
      amountFen: command.amountFen,
      currency: command.currency,
      description: command.description.slice(0, 128),
      expiresAt: command.expiresAt,
      createdAt: now,
    });

    const plan = await inTransaction(this.dataSource, (manager) => this.plan(manager, command));
    if (plan.kind === 'ready') return plan.payment;

    const answer = await this.createAtGateway(gateway, plan.payment, plan.description);
    return this.record(plan.payment.paymentNo, answer);
  }

  private async plan(manager: EntityManager, command: StartPaymentCommand): Promise<Plan> {
    const intent = await this.payments.lockIntent(manager, command.orderNo);
    if (intent.amountFen !== command.amountFen || intent.currency !== command.currency) {
      throw new PaymentRequestMismatch(command.orderNo);
    }
    const now = this.clock.now();
    if (now >= intent.expiresAt) throw new PaymentRequestExpired(command.orderNo);

    const existing = await this.payments.findByOrderNo(manager, command.orderNo);
    const paid = existing.find((p) => p.status === 'PAID');
    if (paid) throw new PaymentAlreadyPaid(command.orderNo, paid.paymentNo);

    const open = existing.find((p) => p.channel === command.channel && p.status === 'PAYING');
    if (open) {
      if (open.payCredential) return { kind: 'ready', payment: open };
      const callStillRunning =
        open.gatewayRequestedAt !== null &&
        now.getTime() - open.gatewayRequestedAt.getTime() < this.config.gateways.timeoutMs;
      if (callStillRunning) throw new PaymentStarting(open.paymentNo);
      // The earlier vendor call timed out or its process died: call again with the same payment number.
      open.gatewayRequestedAt = now;
      open.updatedAt = now;
      await this.payments.save(manager, open);
      return { kind: 'call_gateway', payment: open, description: intent.description };
    }

    const payment = await this.payments.insert(manager, {
      paymentNo: newPaymentNo(now),
      orderNo: command.orderNo,
      channel: command.channel,
      amountFen: command.amountFen,
      currency: command.currency,
      status: 'CREATED',
      gatewayTradeNo: null,
      payCredential: null,
      gatewayRequestedAt: now,
      queryAttempts: 0,
      nextQueryAt: null,
      paidAmountFen: null,
      paidAt: null,
      closedAt: null,
      expiresAt: intent.expiresAt,
      statusReason: null,
      version: 0,
      createdAt: now,
      updatedAt: now,
    });
    const firstQueryDelay = this.config.paymentQueryScheduleMs[0] ?? 30_000;
    const started = await this.state.apply(
      payment.paymentNo,
      { type: 'START', nextQueryAt: new Date(now.getTime() + firstQueryDelay) },
      manager,
    );
    return { kind: 'call_gateway', payment: started.payment, description: intent.description };
  }

  private async createAtGateway(
    gateway: PaymentGateway,
    payment: Payment,
    description: string,
  ): Promise<CreatePaymentResult> {
    const timeoutMs = this.config.gateways.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<CreatePaymentResult>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'unknown', reason: `no answer within ${timeoutMs} ms` }), timeoutMs);
    });
    try {
      return await Promise.race([
        gateway
          .createPayment({
            paymentNo: payment.paymentNo,
            amountFen: payment.amountFen,
            currency: payment.currency,
            description,
            expiresAt: payment.expiresAt,
          })
          .catch((error: unknown): CreatePaymentResult => ({ kind: 'unknown', reason: String(error) })),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async record(paymentNo: string, answer: CreatePaymentResult): Promise<Payment> {
    switch (answer.kind) {
      case 'created':
        return inTransaction(this.dataSource, async (manager) => {
          const payment = await this.payments.lockByPaymentNo(manager, paymentNo);
          if (!payment) throw new Error(`payment ${paymentNo} vanished`);
          payment.payCredential = answer.credential;
          if (answer.gatewayTradeNo && !payment.gatewayTradeNo) payment.gatewayTradeNo = answer.gatewayTradeNo;
          payment.statusReason = null;
          payment.updatedAt = this.clock.now();
          await this.payments.save(manager, payment);
          return payment;
        });
      case 'rejected':
        await this.state.apply(paymentNo, { type: 'FAILED_CONFIRMED', reason: `${answer.code}: ${answer.message}` });
        throw new GatewayRejected(paymentNo, answer.code, answer.message);
      case 'unknown':
        this.logger.warn(`create payment ${paymentNo}: gateway answer unknown (${answer.reason}); left PAYING`);
        await inTransaction(this.dataSource, async (manager) => {
          const payment = await this.payments.lockByPaymentNo(manager, paymentNo);
          if (!payment || payment.payCredential) return;
          payment.statusReason = `create payment: ${answer.reason}`.slice(0, 512);
          payment.updatedAt = this.clock.now();
          await this.payments.save(manager, payment);
        });
        throw new GatewayUnavailable(paymentNo, answer.reason);
    }
  }
}
