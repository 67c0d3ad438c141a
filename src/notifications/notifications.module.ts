import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApplicationsModule } from '../applications/applications.module';
import { AmqpConnection } from './amqp.connection';
import { DeadLetterConsumer } from './dead-letter.consumer';
import { DeliveriesService } from './deliveries.service';
import { EventsController } from './events.controller';
import { EventsFeedService } from './events-feed.service';
import { EventsPurger } from './events-purger';
import { EventDelivery, OutboxEvent } from './outbox.entity';
import { OutboxRelay } from './outbox.relay';
import { OutboxGauges } from './outbox-gauges';
import { OutboxRepository } from './outbox.repository';
import { OutboxWriter } from './outbox.writer';
import { WebhookDispatcher } from './webhook/webhook.dispatcher';
import { WebhookSender } from './webhook/webhook.sender';

export const NOTIFICATIONS_ENTITIES = [OutboxEvent, EventDelivery];

/**
 * The outbox, its relay to RabbitMQ, deliveries per partner (the admin API retries them through DeliveriesService),
 * and the events API with the retention purge.
 */
@Module({
  imports: [TypeOrmModule.forFeature(NOTIFICATIONS_ENTITIES), ApplicationsModule],
  controllers: [EventsController],
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
    EventsFeedService,
    EventsPurger,
  ],
  exports: [OutboxWriter, OutboxRelay, AmqpConnection, DeliveriesService, WebhookDispatcher],
})
export class NotificationsModule {}
