import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApplicationsModule } from '../applications/applications.module';
import { GatewaysModule } from '../gateways/gateways.module';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { PaymentCenter } from './payment-center.service';
import { Payment, PaymentAttempt, PaymentIntent, PaymentTransition } from './payment.entity';
import { PaymentStateService } from './payment-state.service';
import { GatewayNotifyController } from './gateway-notify.controller';
import { NotificationIntakeUseCase } from './notification-intake.use-case';
import { AppliedNotification, OrphanNotification } from './intake/intake.entity';
import { NotificationReplays } from './intake/notification-replays.store';
import { OrphanNotificationsRepository } from './intake/orphan-notifications.repository';
import { PaymentsController } from './payments.controller';
import { PaymentsRepository } from './payments.repository';
import { StartPaymentUseCase } from './start-payment.use-case';
import { BARCODE_PROTOCOL, BARCODE_PROTOCOL_TABLE } from './barcode/barcode-protocol';
import { StartBarcodeUseCase } from './barcode/start-barcode.use-case';
import { PaymentWaits } from './payment-waits';
import { PaymentGauges } from './payment-gauges';
import { PaymentRecovery } from './recovery/payment-recovery.handler';
import { FreshAnswer } from './recovery/fresh-answer';
import { RecoveryEngine } from './recovery/recovery-engine';
import { PAYMENT_QUERIES_QUEUE, RecoverySlots } from './recovery/recovery-slots';
import { Reconciler } from './recovery/reconciler';
import { PaymentReview } from './review/payment-review.service';
import { RefundReview } from './review/refund-review.service';
import { Refund } from './refunds/refund.entity';
import { RefundRecovery } from './refunds/refund-recovery.handler';
import { RefundStateService } from './refunds/refund-state.service';
import { RefundsController } from './refunds/refunds.controller';
import { RefundsRepository } from './refunds/refunds.repository';
import { RefundsService } from './refunds/refunds.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([
      Payment,
      PaymentIntent,
      PaymentTransition,
      PaymentAttempt,
      Refund,
      AppliedNotification,
      OrphanNotification,
    ]),
    BullModule.registerQueue({ name: PAYMENT_QUERIES_QUEUE }),
    GatewaysModule,
    IdempotencyModule,
    NotificationsModule,
    ApplicationsModule,
  ],
  controllers: [PaymentsController, GatewayNotifyController, RefundsController],
  providers: [
    PaymentsRepository,
    PaymentStateService,
    StartPaymentUseCase,
    NotificationIntakeUseCase,
    NotificationReplays,
    OrphanNotificationsRepository,
    PaymentCenter,
    RecoveryEngine,
    FreshAnswer,
    PaymentGauges,
    PaymentRecovery,
    RecoverySlots,
    Reconciler,
    RefundsRepository,
    RefundStateService,
    RefundRecovery,
    RefundsService,
    PaymentReview,
    RefundReview,
    PaymentWaits,
    StartBarcodeUseCase,
    { provide: BARCODE_PROTOCOL, useValue: BARCODE_PROTOCOL_TABLE },
  ],
  exports: [
    PaymentCenter,
    PaymentStateService,
    RefundStateService,
    PaymentReview,
    RefundReview,
    OrphanNotificationsRepository,
  ],
})
export class PaymentCenterModule {}
