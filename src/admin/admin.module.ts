import { Module } from '@nestjs/common';
import { ApplicationsModule } from '../applications/applications.module';
import { GatewaysModule } from '../gateways/gateways.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { PaymentCenterModule } from '../payment-center/payment-center.module';
import { AdminAccountsController } from './admin-accounts.controller';
import { AdminAccountsService } from './admin-accounts.service';
import { AdminApplicationsController } from './admin-applications.controller';
import { AdminApplicationsService } from './admin-applications.service';
import { DeliveriesController } from './admin-deliveries.controller';
import { AdminPartnersController } from './admin-partners.controller';
import { AdminOrphansController } from './admin-orphans.controller';
import { AdminPaymentsController } from './admin-payments.controller';
import { AdminRefundsController } from './admin-refunds.controller';
import { AdminRefundsService } from './admin-refunds.service';
import { AdminPaymentsService } from './admin-payments.service';
import { AdminSessionController } from './admin-session.controller';
import { AdminAuthModule } from './auth/admin-auth.module';
import { AdminConsoleController } from './console/admin-console.controller';

/**
 * The operators' side: payments in review and their resolution, applications and keys, orphan
 * notifications, retries of event deliveries, the console's sign-in, and the console page itself (it also
 * uses the reconciliation admin API of that module). The queue board is mounted with the app
 * (queue-board.ts). Operators' auth and audit are auth/ (AdminAuthModule), which the reconciliation module
 * imports too. Depends on the PaymentCenter and notifications; nothing depends on it but through auth/.
 */
@Module({
  imports: [AdminAuthModule, PaymentCenterModule, NotificationsModule, ApplicationsModule, GatewaysModule],
  controllers: [
    AdminPaymentsController,
    AdminRefundsController,
    AdminApplicationsController,
    AdminAccountsController,
    AdminOrphansController,
    DeliveriesController,
    AdminPartnersController,
    AdminSessionController,
    AdminConsoleController,
  ],
  providers: [AdminPaymentsService, AdminRefundsService, AdminApplicationsService, AdminAccountsService],
})
export class AdminModule {}
