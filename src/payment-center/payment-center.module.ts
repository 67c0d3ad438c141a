import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { GatewaysModule } from '../gateways/gateways.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { PaymentCenter } from './payment-center';
import { Payment, PaymentIntent, PaymentTransition } from './payment.entity';
import { PaymentStateService } from './payment-state.service';
import { GatewayNotifyController } from './gateway-notify.controller';
import { NotificationIntakeUseCase } from './notification-intake.use-case';
import { PaymentsController } from './payments.controller';
import { PaymentsRepository } from './payments.repository';
import { StartPaymentUseCase } from './start-payment.use-case';

@Module({
  imports: [TypeOrmModule.forFeature([Payment, PaymentIntent, PaymentTransition]), GatewaysModule, NotificationsModule],
  controllers: [PaymentsController, GatewayNotifyController],
  providers: [PaymentsRepository, PaymentStateService, StartPaymentUseCase, NotificationIntakeUseCase, PaymentCenter],
  exports: [PaymentCenter, PaymentStateService],
})
export class PaymentCenterModule {}
