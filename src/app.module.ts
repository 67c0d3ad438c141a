import { CheckoutModule } from './checkout/checkout.module';
import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { CommonModule } from './common/common.module';
import { HttpExceptionFilter } from './common/errors/http-exception.filter';
import { bullRedisOptions, RedisModule } from './common/redis/redis.module';
import { AdminModule } from './admin/admin.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { DuplicateSubmissionInterceptor } from './idempotency/duplicate-submission.interceptor';
import { IdempotencyModule } from './idempotency/idempotency.module';
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
      useFactory: (config: AppConfig) => ({
        url: config.redisUrl,
        prefix: config.recovery.queuePrefix,
        // Bull takes host, port, password and db from the URL and these over them (sentinels win over host:port).
        redis: bullRedisOptions(config),
      }),
    }),
    DatabaseModule,
    RedisModule,
    CommonModule,
    IdempotencyModule,
    HealthModule,
    MetricsModule,
    PaymentCenterModule,
    OrdersModule,
    CheckoutModule,
    ReconciliationModule,
    AdminModule,
  ],
  providers: [
    { provide: APP_FILTER, useClass: HttpExceptionFilter },
    // The root module's global enhancers come first, so the guard's place before LoggingModule's interceptor
    // does not depend on the order of the imports above.
    { provide: APP_INTERCEPTOR, useExisting: DuplicateSubmissionInterceptor },
  ],
})
export class AppModule {}
