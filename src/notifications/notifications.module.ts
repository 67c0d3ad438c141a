import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AdminAuthGuard } from './admin/admin-auth.guard';
import { DeliveriesController } from './admin/deliveries.controller';
import { DeliveriesService } from './admin/deliveries.service';
import { AmqpConnection } from './amqp.connection';
import { DeadLetterConsumer } from './dead-letter.consumer';
import { AdminAudit, EventDelivery, OutboxEvent } from './outbox.entity';
import { OutboxRelay } from './outbox.relay';
import { OutboxWriter } from './outbox.writer';

@Module({
  imports: [TypeOrmModule.forFeature([OutboxEvent, EventDelivery, AdminAudit])],
  controllers: [DeliveriesController],
  providers: [AmqpConnection, OutboxWriter, OutboxRelay, DeadLetterConsumer, DeliveriesService, AdminAuthGuard],
  exports: [OutboxWriter, OutboxRelay, AmqpConnection],
})
export class NotificationsModule {}
