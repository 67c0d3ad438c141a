import { Module } from '@nestjs/common';
import { PaymentCenterModule } from '../payment-center/payment-center.module';
import { ApplicationsModule } from '../applications/applications.module';
import { GatewaysModule } from '../gateways/gateways.module';
import { BuyerIdentityController } from './buyer-identity.controller';
import { BuyerIdentity } from './buyer-identity.service';
import { OAuthCallbackController } from './oauth-callback.controller';
import { ReturnPageController } from './return-page.controller';

/**
 * The pages the buyer's own browser opens on the Payment Center (no API key: the buyer holds none): the return
 * page after a vendor's page, the vendors' OAuth callback; and the API that begins and reads a buyer identity. They
 * read through the PaymentCenter's interface and own no table (identity requests live minutes, in Redis).
 */
@Module({
  imports: [PaymentCenterModule, GatewaysModule, ApplicationsModule],
  controllers: [ReturnPageController, BuyerIdentityController, OAuthCallbackController],
  providers: [BuyerIdentity],
})
export class CheckoutModule {}
