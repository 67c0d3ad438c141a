import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { NotificationsModule } from '../notifications/notifications.module';
import { HealthController } from './health.controller';
import { HealthReport } from './health-report';

/** GET /health. RabbitMQ is probed on the PaymentCenter's own link (NotificationsModule), not a new one. */
@Module({
  imports: [TerminusModule, NotificationsModule],
  controllers: [HealthController],
  providers: [HealthReport],
})
export class HealthModule {}
