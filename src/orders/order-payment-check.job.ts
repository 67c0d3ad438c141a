import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Cron, CronExpression, SchedulerRegistry } from '@nestjs/schedule';
import { startConfiguredCron, stopConfiguredCron } from '../common/configured-cron';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { type DataSource, In } from 'typeorm';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { inTransaction } from '../database/transaction';
import { eventPayment, type PaymentEventType } from '../notifications/payment-event';
import type { OrderPaymentEvent } from './order-payment-events.service';
import { PaymentCenter } from '../payment-center/payment-center.service';
import type { PaymentView } from '../payment-center/payment.view';
import { mayStillBePaid } from '../payment-center/payment-state-machine';
import { Order } from './order.entity';
import { ORDER_TRANSITIONS } from './order-state';
import { OrderPaymentEvents } from './order-payment-events.service';
import { OrdersRepository } from './orders.repository';

const JOB = 'orders-payment-check';
const BATCH = 50;

/**
 * Orders' own timer, as a business application must have one: events can be lost or late. Every
 * ORDERS_CHECK_CRON it claims orders whose check is due (SKIP LOCKED, then pushed a period ahead), asks the
 * PaymentCenter about their payments — which queries the gateway for a payment whose query is overdue —
 * and feeds what it learns through the same idempotent path as the consumer, as events with ids derived
 * from payment and version. An expired order that no payment can still pay is closed.
 */
@Injectable()
export class OrderPaymentCheck implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OrderPaymentCheck.name);
  private running?: Promise<number>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(OrdersRepository) private readonly orders: OrdersRepository,
    @Inject(PaymentCenter) private readonly paymentCenter: PaymentCenter,
    @Inject(OrderPaymentEvents) private readonly events: OrderPaymentEvents,
    @Inject(SchedulerRegistry) private readonly scheduler: SchedulerRegistry,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    startConfiguredCron(this.scheduler, JOB, this.config.orders.check);
  }

  async onApplicationShutdown(): Promise<void> {
    await stopConfiguredCron(this.scheduler, JOB);
    await this.running;
  }

  /** The schedule is set from ORDERS_CHECK_CRON at bootstrap; started only when ORDERS_CHECK_ENABLED. */
  @Cron(CronExpression.EVERY_10_SECONDS, { name: JOB, disabled: true, waitForCompletion: true })
  async tick(): Promise<void> {
    try {
      await this.sweep();
    } catch (error) {
      this.logger.warn(`order check failed: ${(error as Error).message}`);
    }
  }

  /** One pass over the due orders; returns how many were checked. */
  sweep(): Promise<number> {
    this.running ??= this.checkDue().finally(() => (this.running = undefined));
    return this.running;
  }

  private async checkDue(): Promise<number> {
    const now = this.clock.now();
    const due = await inTransaction(this.dataSource, async (manager) => {
      const rows = await manager
        .getRepository(Order)
        .createQueryBuilder('o')
        .setLock('pessimistic_write')
        .setOnLocked('skip_locked')
        .where('o.nextCheckAt <= :now', { now })
        .andWhere('o.status IN (:...open)', { open: ['CREATED', 'PAYING'] })
        .orderBy('o.nextCheckAt', 'ASC')
        .limit(BATCH)
        .getMany();
      if (rows.length > 0) {
        await manager
          .getRepository(Order)
          .update(
            { id: In(rows.map((o) => o.id)) },
            { nextCheckAt: new Date(now.getTime() + this.config.orders.check.afterMs) },
          );
      }
      return rows;
    });
    for (const order of due) {
      try {
        await this.check(order);
      } catch (error) {
        this.logger.warn(`order ${order.orderNo} not checked: ${(error as Error).message}`);
      }
    }
    return due.length;
  }

  private async check(order: Order): Promise<void> {
    const payments = await this.paymentCenter.checkPayments(order.orderNo);
    for (const payment of [...payments].sort((a, b) => a.version - b.version)) {
      const type = eventTypeFor(payment);
      if (type) await this.events.apply(checkedEvent(payment, type, this.clock.now()));
    }
    if (this.clock.now() >= order.expiresAt && payments.every((p) => !mayStillBePaid(p.status))) {
      await inTransaction(this.dataSource, async (manager) => {
        const locked = await this.orders.lockByOrderNo(manager, order.orderNo);
        if (!locked) return;
        const next = ORDER_TRANSITIONS[locked.status].CLOSED;
        if (next === 'ignore') return;
        locked.status = next;
        locked.nextCheckAt = null;
        locked.version += 1;
        locked.updatedAt = this.clock.now();
        await this.orders.save(manager, locked);
      });
    }
  }
}

/** What the payment's current state would have told the order, had its event arrived. */
function eventTypeFor(payment: PaymentView & { returned: boolean }): PaymentEventType | undefined {
  switch (payment.status) {
    case 'PAID':
      return payment.returned ? undefined : 'payment.succeeded';
    case 'CLOSED':
      return 'payment.closed';
    case 'FAILED':
      return 'payment.failed';
    case 'NEEDS_REVIEW':
      return 'payment.needs_review';
    case 'CREATED':
    case 'PAYING':
    case 'CLOSING':
      return undefined;
  }
}

/** An event built from the payment as it is now; its id is derived, so checking twice applies it once. */
function checkedEvent(payment: PaymentView, type: PaymentEventType, now: Date): OrderPaymentEvent {
  const hex = createHash('sha256').update(`order-check:${payment.paymentNo}:${payment.version}:${type}`).digest('hex');
  return {
    id: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`,
    type,
    occurredAt: now.toISOString(),
    version: payment.version,
    payment: eventPayment(payment),
  };
}
