import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import { isWebhookPartner } from '../config/setting-values';
import { AppConfig } from '../config/app-config';
import {
  DEAD_LETTER_EXCHANGE,
  DEAD_LETTER_QUEUE,
  PAYMENT_EVENTS_EXCHANGE,
  partnerExchange,
  partnerQueue,
} from './payment-event';

/**
 * The PaymentCenter's own RabbitMQ link: a confirm channel for publishing (separate from any consumer's
 * channel) that declares the whole topology every time it (re)connects, so no event is ever unroutable:
 * the topic exchange, one durable quorum queue per partner with its bindings and a delivery limit (a
 * partner restricted to some applications: its own exchange instead), and the dead-letter exchange and
 * queue the PaymentCenter watches.
 */
@Injectable()
export class AmqpConnection implements OnApplicationShutdown {
  private readonly logger = new Logger(AmqpConnection.name);
  private connection?: AmqpConnectionManager;
  private channel?: ChannelWrapper;
  /** Why the link last failed or dropped, for /health (shown to the metrics token holder only). */
  private lastFailure = 'not connected yet';
  /**
   * Messages the broker returned as unroutable (mandatory flag), by exchange and messageId, checked after each
   * confirm: one event goes to several exchanges at once (`payment.events` and restricted partners' own), and
   * a return from one must not fail the others.
   */
  private readonly returned = new Set<string>();

  constructor(@Inject(AppConfig) private readonly config: AppConfig) {}

  private connect(): AmqpConnectionManager {
    if (this.connection) return this.connection;
    // Several URLs: the nodes of one cluster, tried in turn (a node that does not answer, or a link that drops,
    // moves on to the next after reconnectTimeInSeconds); the quorum queues live on every node.
    this.connection = amqp.connect([...this.config.rabbitmqUrls], {
      heartbeatIntervalInSeconds: 5,
      reconnectTimeInSeconds: 1,
    });
    this.connection.on('disconnect', ({ err }) => {
      this.lastFailure = err?.message ?? 'closed';
      this.logger.warn(`RabbitMQ disconnected: ${this.lastFailure}`);
    });
    this.connection.on('connectFailed', ({ err }) => {
      this.lastFailure = err.message;
    });
    this.connection.on('connect', () => this.logger.log('RabbitMQ connected'));
    return this.connection;
  }

  /** A channel of its own for a consumer, set up again on every reconnect. */
  consumerChannel(setup: (channel: ConfirmChannel) => Promise<void>): ChannelWrapper {
    return this.watched(this.connect().createChannel({ setup }));
  }

  /**
   * A channel wrapper emits `error` when its setup fails (the connection closed under it during shutdown,
   * a queue declared with other arguments); unheard, that event would crash the process. It retries the
   * setup on the next connect, so logging is enough.
   */
  private watched(channel: ChannelWrapper): ChannelWrapper {
    channel.on('error', (error: Error) => this.logger.warn(`RabbitMQ channel setup failed: ${error.message}`));
    return channel;
  }

  /** Resolves once connected with the topology declared (for a caller that needs the queues to exist). */
  async ready(): Promise<void> {
    await this.publisher().waitForConnect();
  }

  /**
   * For /health: rejects unless the broker answers within `timeoutMs`, on this link (a channel opened
   * and closed: one round trip), never on a connection of its own. While the link is down it waits for
   * the manager's own reconnect, so a health check never adds a connection attempt.
   */
  async probe(timeoutMs: number): Promise<void> {
    const manager = this.connect();
    // connect() resolves on the next `connect` event only: already connected, it would wait for nothing.
    if (!manager.isConnected()) {
      await manager.connect({ timeout: timeoutMs }).catch(() => {
        throw new Error(`not connected within ${timeoutMs} ms (last failure: ${this.lastFailure})`);
      });
    }
    const connection = manager.connection;
    if (!connection) throw new Error('RabbitMQ link lost');
    const channel = await connection.createChannel();
    await channel.close();
  }

  publisher(): ChannelWrapper {
    if (this.channel) return this.channel;
    this.channel = this.watched(
      this.connect().createChannel({
        confirm: true,
        publishTimeout: this.config.relay.publishTimeoutMs,
        setup: async (channel: ConfirmChannel) => {
          channel.on('return', (message: { fields: { exchange: string }; properties: { messageId?: string } }) => {
            const { messageId } = message.properties;
            if (messageId) this.returned.add(returnKey(message.fields.exchange, messageId));
          });
          await this.declareTopology(channel);
        },
      }),
    );
    return this.channel;
  }

  /** Before publishing `messageId` to `exchange`: forget an earlier return of it there. */
  forgetReturn(exchange: string, messageId: string): void {
    this.returned.delete(returnKey(exchange, messageId));
  }

  /** After the confirm of `messageId` to `exchange`: whether the broker returned it as unroutable. */
  takeReturn(exchange: string, messageId: string): boolean {
    return this.returned.delete(returnKey(exchange, messageId));
  }

  /** Idempotent: every channel that depends on the topology declares it in its own setup. */
  async declareTopology(channel: ConfirmChannel): Promise<void> {
    await channel.assertExchange(PAYMENT_EVENTS_EXCHANGE, 'topic', { durable: true });
    await channel.assertExchange(DEAD_LETTER_EXCHANGE, 'fanout', { durable: true });
    await channel.assertQueue(DEAD_LETTER_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.bindQueue(DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE, '');
    for (const partner of this.config.partners) {
      if (isWebhookPartner(partner)) continue; // its events are POSTed (webhook.dispatcher.ts), never queued
      const queue = partnerQueue(partner.name);
      await channel.assertQueue(queue, {
        durable: true,
        arguments: partnerQueueArguments(this.config.partnerDeliveryLimit),
      });
      if (partner.applications) {
        // The relay sends it, here only, just the events of its applications (partner-filter.ts).
        const exchange = partnerExchange(partner.name);
        await channel.assertExchange(exchange, 'fanout', { durable: true });
        await channel.bindQueue(queue, exchange, '');
        // Bindings outlive the setting that made them: a partner restricted since its queue was last declared
        // would go on receiving every application's events through them. (Unbinding one that is not there is a
        // no-op; a binding made from patterns it no longer lists is out of sight here: docs/events.md.)
        for (const binding of partner.bindings) await channel.unbindQueue(queue, PAYMENT_EVENTS_EXCHANGE, binding);
      } else {
        for (const binding of partner.bindings) await channel.bindQueue(queue, PAYMENT_EVENTS_EXCHANGE, binding);
      }
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.channel?.close().catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
  }
}

const returnKey = (exchange: string, messageId: string) => `${exchange}\n${messageId}`;

/** Quorum queue arguments of a partner queue; consumers that declare the queue must use the same. */
export function partnerQueueArguments(deliveryLimit: number): Record<string, unknown> {
  return {
    'x-queue-type': 'quorum',
    'x-dead-letter-exchange': DEAD_LETTER_EXCHANGE,
    // A message a consumer keeps failing on is dead-lettered after this many redeliveries, not requeued forever.
    'x-delivery-limit': deliveryLimit,
  };
}
