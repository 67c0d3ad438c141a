import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AdminAuthModule } from '../admin/auth/admin-auth.module';
import { GatewaysModule } from '../gateways/gateways.module';
import { PaymentCenterModule } from '../payment-center/payment-center.module';
import { ReconciliationController } from './reconciliation.controller';
import { ReconciliationDifference, ReconciliationRun } from './reconciliation.entity';
import { ReconciliationJob } from './reconciliation.job';
import { ReconciliationService } from './reconciliation.service';

export const RECONCILIATION_ENTITIES = [ReconciliationRun, ReconciliationDifference];

@Module({
  imports: [TypeOrmModule.forFeature(RECONCILIATION_ENTITIES), AdminAuthModule, GatewaysModule, PaymentCenterModule],
  controllers: [ReconciliationController],
  providers: [ReconciliationService, ReconciliationJob],
  exports: [ReconciliationService],
})
export class ReconciliationModule {}
