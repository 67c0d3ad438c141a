import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { CommonModule } from './common/common.module';
import { HttpExceptionFilter } from './common/errors/http-exception.filter';
import { DuplicateSubmissionInterceptor } from './common/idempotency/duplicate-submission.interceptor';
import { RedisModule } from './common/redis/redis.module';
import { AdminModule } from './admin/admin.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { LoggingModule } from './common/logging/logging.module';
import { OrdersModule } from './orders/orders.module';
import { PaymentCenterModule } from './payment-center/payment-center.module';
import { ReconciliationModule } from './reconciliation/reconciliation.module';

@Module({
  imports: [
    ScheduleModule.forRoot(),
    ConfigModule,
    LoggingModule,
    BullModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({ url: config.redisUrl, prefix: config.recovery.queuePrefix }),
    }),
    DatabaseModule,
    RedisModule,
    CommonModule,
    HealthModule,
    MetricsModule,
    PaymentCenterModule,
    OrdersModule,
    ReconciliationModule,
    AdminModule,
  ],
  providers: [
    { provide: APP_FILTER, useClass: HttpExceptionFilter },
    { provide: APP_INTERCEPTOR, useClass: DuplicateSubmissionInterceptor },
  ],
})
export class AppModule {}
