import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AmqpConnection } from './amqp.connection';
import { DeadLetterConsumer } from './dead-letter.consumer';
import { DeliveriesService } from './deliveries.service';
import { EventDelivery, OutboxEvent } from './outbox.entity';
import { OutboxRelay } from './outbox.relay';
import { OutboxGauges } from './outbox-gauges';
import { OutboxRepository } from './outbox.repository';
import { OutboxWriter } from './outbox.writer';
import { WebhookDispatcher } from './webhook/webhook.dispatcher';
import { WebhookSender } from './webhook/webhook.sender';

export const NOTIFICATIONS_ENTITIES = [OutboxEvent, EventDelivery];

/** The outbox, its relay to RabbitMQ, and deliveries per partner (the admin API retries them through DeliveriesService). */
@Module({
  imports: [TypeOrmModule.forFeature(NOTIFICATIONS_ENTITIES)],
  providers: [
    AmqpConnection,
    OutboxRepository,
    OutboxGauges,
    OutboxWriter,
    OutboxRelay,
    DeadLetterConsumer,
    DeliveriesService,
    WebhookSender,
    WebhookDispatcher,
  ],
  exports: [OutboxWriter, OutboxRelay, AmqpConnection, DeliveriesService, WebhookDispatcher],
})
export class NotificationsModule {}
