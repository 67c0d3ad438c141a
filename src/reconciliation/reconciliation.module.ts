import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { GatewaysModule } from '../gateways/gateways.module';
import { PaymentCenterModule } from '../payment-center/payment-center.module';
import { ReconciliationController } from './reconciliation.controller';
import { ReconciliationDifference, ReconciliationRun } from './reconciliation.entity';
import { ReconciliationJob } from './reconciliation.job';
import { ReconciliationService } from './reconciliation.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([ReconciliationRun, ReconciliationDifference]),
    GatewaysModule,
    PaymentCenterModule,
  ],
  controllers: [ReconciliationController],
  providers: [ReconciliationService, ReconciliationJob],
  exports: [ReconciliationService],
})
export class ReconciliationModule {}
