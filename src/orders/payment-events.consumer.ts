import { type BeforeApplicationShutdown, Controller, Inject, Logger } from '@nestjs/common';
import { Ctx, EventPattern, RmqContext } from '@nestjs/microservices';
import type { Channel, Message } from 'amqplib';
import { Clock } from '../common/clock';
import { withLogContext } from '../common/logging/log-context';
import { AppConfig } from '../config/app-config';
import {
  PAYMENT_EVENT_TYPES,
  type PaymentEventBody,
  SIGNATURE_HEADER,
  verifySignature,
} from '../notifications/payment-event';
import { OrderPaymentEvents } from './order-payment-events.service';
import { PAYMENT_EVENT_PATTERN } from './payment-events.deserializer';

/**
 * Orders learns payment outcomes like any partner: from its queue, through Nest's RabbitMQ transport,
 * with manual acks. OrderPaymentEvents applies each one once (by id) and ignores stale versions.
 *
 * - A forged or unreadable message is rejected without requeue: it is dead-lettered, never applied.
 * - A failure (database down...) is requeued after a growing wait (CONSUMER_RETRY_DELAY_MS, doubling); the
 *   quorum queue's delivery limit dead-letters it after PARTNER_DELIVERY_LIMIT attempts, so it is neither
 *   lost nor retried forever.
 */
@Controller()
export class PaymentEventsConsumer implements BeforeApplicationShutdown {
  private readonly logger = new Logger(PaymentEventsConsumer.name);
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;

  constructor(
    @Inject(OrderPaymentEvents) private readonly events: OrderPaymentEvents,
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
    if (this.stopping) {
      channel.nack(message, false, true); // shutting down: back to the queue for another instance
      return;
    }
    const fields = { eventId: event.id, orderNo: event.payment.orderNo, paymentNo: event.payment.paymentNo };
    const work = withLogContext(fields, () => this.apply(event, channel, message));
    this.inFlight.add(work);
    try {
      await work;
    } finally {
      this.inFlight.delete(work);
    }
  }

  /**
   * Before the channel closes (which requeues whatever is unacked): deliveries that arrive from now on go
   * straight back to the queue, and the ones being applied finish and are acked.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.inFlight]);
  }

  private async apply(event: PaymentEventBody, channel: Channel, message: Message): Promise<void> {
    try {
      const outcome = await this.events.apply(event);
      this.logger.log(`${event.type} v${event.version}: ${outcome}`);
      channel.ack(message);
    } catch (error) {
      // Not at once: a database restart would spend the queue's delivery limit in milliseconds and
      // dead-letter the event. Wait longer with each redelivery (quorum queues count them), then requeue.
      const redeliveries = Number((message.properties.headers ?? {})['x-delivery-count'] ?? 0);
      const delay = this.config.consumerRetryDelayMs * 2 ** Math.min(redeliveries, 3);
      this.logger.warn(
        `event ${event.id} not applied, redelivered in ${delay} ms: ${(error as Error).message.slice(0, 200)}`,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
      channel.nack(message, false, true);
    }
  }

  private verified(message: Message): PaymentEventBody | undefined {
    const partner = this.config.partners.find((p) => p.name === this.config.ordersPartner);
    const headers: Record<string, unknown> = message.properties.headers ?? {};
    const signature = headers[SIGNATURE_HEADER];
    const header = typeof signature === 'string' ? signature : undefined;
    const now = Math.floor(this.clock.now().getTime() / 1000);
    // Both keys of the entry during a rotation: events signed with the old one may still be queued after the swap.
    const keys = partner ? [partner, ...(partner.secondKey ? [partner.secondKey] : [])] : [];
    if (!verifySignature(header, message.content, keys, now)) {
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
}
