import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { AmqpConnection } from './amqp.connection';
import { OutboxRepository } from './outbox.repository';
import { DEAD_LETTER_QUEUE } from './payment-event';

/**
 * Watches the dead-letter queue: a message a partner rejected, or kept failing on past the delivery
 * limit, lands there. Its delivery is marked FAILED with the reason, where the admin API lists it for a
 * retry. The event itself stays in the outbox, so acking the dead letter loses nothing.
 */
@Injectable()
export class DeadLetterConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DeadLetterConsumer.name);
  private channel?: ChannelWrapper;

  constructor(
    @Inject(OutboxRepository) private readonly outbox: OutboxRepository,
    @Inject(AmqpConnection) private readonly amqp: AmqpConnection,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(MetricsService) private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.consumersEnabled) return;
    this.channel = this.amqp.consumerChannel(async (channel: ConfirmChannel) => {
      await this.amqp.declareTopology(channel);
      await channel.prefetch(20);
      await channel.consume(DEAD_LETTER_QUEUE, (message) => {
        if (message) void this.handle(channel, message);
      });
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.channel?.close().catch(() => undefined);
  }

  private async handle(channel: ConfirmChannel, message: ConsumeMessage): Promise<void> {
    try {
      const eventId = message.properties.messageId as string | undefined;
      const headers = (message.properties.headers ?? {}) as Record<string, string | undefined>;
      const queue = headers['x-first-death-queue'] ?? '';
      const reason = headers['x-first-death-reason'] ?? 'dead-lettered';
      const partner = queue.startsWith('partner.') ? queue.slice('partner.'.length) : undefined;
      if (eventId && partner) {
        const now = this.clock.now();
        const marked = await this.outbox.markDeadLettered(
          eventId,
          partner,
          `dead-lettered from ${queue}: ${reason}`,
          now,
        );
        if (marked > 0) this.metrics.deliveryFailed(partner);
        this.logger.warn(`event ${eventId} dead-lettered by partner ${partner} (${reason})`);
      } else {
        this.logger.warn(`dead letter without an event id or partner queue (queue=${queue})`);
      }
      channel.ack(message);
    } catch (error) {
      // Database down: put it back and try again later; the message must not be lost.
      this.logger.warn(`could not record dead letter: ${(error as Error).message}`);
      setTimeout(() => channel.nack(message, false, true), 1000);
    }
  }
}
