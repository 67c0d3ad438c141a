import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApplicationsModule } from '../applications/applications.module';
import { PaymentCenterModule } from '../payment-center/payment-center.module';
import { Order, OrderItem } from './order.entity';
import { OrderPaymentCheck } from './order-payment-check.job';
import { OrderPaymentEvents } from './order-payment-events.service';
import { OrdersController } from './orders.controller';
import { OrdersRepository } from './orders.repository';
import { OrdersService } from './orders.service';
import { PaymentEventsConsumer } from './payment-events.consumer';
import { ProcessedEvent } from './processed-event.entity';

export const ORDERS_ENTITIES = [Order, OrderItem, ProcessedEvent];

@Module({
  imports: [TypeOrmModule.forFeature(ORDERS_ENTITIES), PaymentCenterModule, ApplicationsModule],
  controllers: [OrdersController, PaymentEventsConsumer],
  providers: [OrdersRepository, OrdersService, OrderPaymentEvents, OrderPaymentCheck],
  exports: [OrdersService],
})
export class OrdersModule {}
