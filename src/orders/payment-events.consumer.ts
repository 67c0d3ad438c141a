import { Controller, Inject, Logger } from '@nestjs/common';
import { Ctx, EventPattern, RmqContext } from '@nestjs/microservices';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Channel, Message } from 'amqplib';
import type { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { ER_DUP_ENTRY, inTransaction, mysqlErrno } from '../database/transaction';
import {
  PAYMENT_EVENT_TYPES,
  type PaymentEventBody,
  SIGNATURE_HEADER,
  verifySignature,
} from '../notifications/payment-event';
import { mayStillBePaid } from '../payment-center/payment-state-machine';
import { PaymentCenter } from '../payment-center/payment-center';
import { ORDER_TRANSITIONS, type OrderEvent } from './order-state';
import { OrdersRepository } from './orders.repository';
import { PAYMENT_EVENT_PATTERN } from './payment-events.deserializer';
import { ProcessedEvent } from './processed-event.entity';

type Outcome = 'applied' | 'duplicate' | 'stale' | 'unrelated';

/**
 * Orders learns payment outcomes like any partner: from its queue, through Nest's RabbitMQ transport,
 * with manual acks.
 *
 * - Each event is applied once: its id is recorded in the same transaction as the order change, so a
 *   redelivery (a crash before the ack, a relay that published twice) is acked and ignored.
 * - An event whose payment version is not above the last one applied for that payment is stale: ignored.
 * - A forged or unreadable message is rejected without requeue: it is dead-lettered, never applied.
 * - A failure (database down...) is nacked with requeue; the quorum queue's delivery limit dead-letters it
 *   after PARTNER_DELIVERY_LIMIT attempts, so it is neither lost nor retried forever.
 */
@Controller()
export class PaymentEventsConsumer {
  private readonly logger = new Logger(PaymentEventsConsumer.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(OrdersRepository) private readonly orders: OrdersRepository,
    @Inject(PaymentCenter) private readonly paymentCenter: PaymentCenter,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  @EventPattern(PAYMENT_EVENT_PATTERN)
  async handle(@Ctx() context: RmqContext): Promise<void> {
    const channel = context.getChannelRef() as Channel;
    const message = context.getMessage() as Message;
    const event = this.verified(message);
    if (!event) {
      channel.nack(message, false, false);
      return;
    }
    try {
      const outcome = await this.apply(event);
      this.logger.debug(`event ${event.id} (${event.type} v${event.version}) for ${event.payment.orderNo}: ${outcome}`);
      channel.ack(message);
    } catch (error) {
      this.logger.warn(`event ${event.id} not applied, will be redelivered: ${(error as Error).message}`);
      channel.nack(message, false, true);
    }
  }

  private verified(message: Message): PaymentEventBody | undefined {
    const partner = this.config.partners.find((p) => p.name === this.config.ordersPartner);
    const headers: Record<string, unknown> = message.properties.headers ?? {};
    const signature = headers[SIGNATURE_HEADER];
    const header = typeof signature === 'string' ? signature : undefined;
    const now = Math.floor(this.clock.now().getTime() / 1000);
    if (!partner || !verifySignature(header, message.content, partner, now)) {
      this.logger.warn(`rejected message ${String(message.properties.messageId)}: bad or missing signature`);
      return undefined;
    }
    try {
      const body = JSON.parse(message.content.toString('utf8')) as PaymentEventBody;
      if (!(PAYMENT_EVENT_TYPES as readonly string[]).includes(body.type) || !body.payment?.orderNo) return undefined;
      return body;
    } catch {
      return undefined;
    }
  }

  private async apply(event: PaymentEventBody): Promise<Outcome> {
    // Read through the PaymentCenter's public interface before locking: can any payment still succeed?
    const openPayments =
      event.type === 'payment.closed'
        ? (await this.paymentCenter.listPaymentsOfOrder(event.payment.orderNo)).filter((p) => mayStillBePaid(p.status))
        : [];
    return inTransaction(this.dataSource, async (manager) => {
      const now = this.clock.now();
      const order = await this.orders.lockByOrderNo(manager, event.payment.orderNo);
      const record = {
        eventId: event.id,
        paymentNo: event.payment.paymentNo,
        version: event.version,
        type: event.type,
      };
      try {
        await manager.getRepository(ProcessedEvent).insert({ ...record, outcome: 'applied', processedAt: now });
      } catch (error) {
        if (mysqlErrno(error) === ER_DUP_ENTRY) return 'duplicate';
        throw error;
      }
      const newest = await manager
        .getRepository(ProcessedEvent)
        .createQueryBuilder('e')
        .select('MAX(e.version)', 'version')
        .where('e.paymentNo = :paymentNo AND e.eventId <> :eventId AND e.outcome = :applied', {
          paymentNo: event.payment.paymentNo,
          eventId: event.id,
          applied: 'applied',
        })
        .getRawOne<{ version: number | null }>();
      const mark = async (outcome: Outcome) => {
        await manager.getRepository(ProcessedEvent).update({ eventId: event.id }, { outcome });
        return outcome;
      };
      if (newest?.version !== null && newest?.version !== undefined && event.version <= newest.version) {
        return mark('stale');
      }
      if (!order) return mark('unrelated');

      let orderEvent: OrderEvent | undefined;
      switch (event.type) {
        case 'payment.succeeded':
          orderEvent = 'PAYMENT_SUCCEEDED';
          break;
        case 'payment.closed':
          // The order closes only when none of its payments can still be paid.
          orderEvent = openPayments.length === 0 ? 'CLOSED' : undefined;
          break;
        case 'payment.failed':
        case 'payment.needs_review':
        case 'payment.refund_started': // money going back (a merchant's refund, a late or second payment)
        case 'payment.refunded':
        case 'payment.refund_failed':
          orderEvent = undefined; // the buyer may pay again; refunds and reviews do not change checkout
          break;
      }
      if (orderEvent) {
        const next = ORDER_TRANSITIONS[order.status][orderEvent];
        if (next !== 'ignore') {
          order.status = next;
          if (orderEvent === 'PAYMENT_SUCCEEDED') {
            order.paymentNo = event.payment.paymentNo;
            order.channel = event.payment.channel;
          }
          order.version += 1;
          order.updatedAt = now;
          await this.orders.save(manager, order);
        }
      }
      return 'applied';
    });
  }
}
