import { Module } from '@nestjs/common';
import { ApplicationsModule } from '../applications/applications.module';
import { PaymentCenterModule } from '../payment-center/payment-center.module';
import { AdminApplicationsController } from './admin-applications.controller';
import { AdminApplicationsService } from './admin-applications.service';
import { AdminAuditLog } from './admin-audit';
import { AdminOrphansController } from './admin-orphans.controller';
import { AdminPaymentsController } from './admin-payments.controller';
import { AdminPaymentsService } from './admin-payments.service';
import { AdminSessionController } from './admin-session.controller';
import { AdminConsoleController } from './console/admin-console.controller';

/**
 * The operators' side: payments in review and their resolution, the console's sign-in, and the console
 * page itself (it also uses the deliveries and reconciliation admin APIs of their modules). The queue
 * board is mounted with the app (queue-board.ts). Depends on the PaymentCenter; nothing depends on it.
 */
@Module({
  imports: [PaymentCenterModule, ApplicationsModule],
  controllers: [
    AdminPaymentsController,
    AdminApplicationsController,
    AdminOrphansController,
    AdminSessionController,
    AdminConsoleController,
  ],
  providers: [AdminPaymentsService, AdminApplicationsService, AdminAuditLog],
})
export class AdminModule {}
