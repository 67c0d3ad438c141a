import { Module } from '@nestjs/common';
import { PaymentCenterModule } from '../payment-center/payment-center.module';
import { ReturnPageController } from './return-page.controller';

/**
 * The pages the buyer's own browser opens on the Payment Center (no API key: the buyer holds none): the return
 * page after a vendor's page. They read through the PaymentCenter's interface and own no table.
 */
@Module({
  imports: [PaymentCenterModule],
  controllers: [ReturnPageController],
})
export class CheckoutModule {}
