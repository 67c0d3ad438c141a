import { Module } from '@nestjs/common';
import { PaymentCenterModule } from '../payment-center/payment-center.module';
import { ApplicationsModule } from '../applications/applications.module';
import { GatewaysModule } from '../gateways/gateways.module';
import { OrdersModule } from '../orders/orders.module';
import { AggregateCheckout } from './aggregate-checkout.service';
import {
  AggregateCodePageController,
  CheckoutAssetsController,
  CheckoutCodeController,
} from './aggregate-code.controller';
import { BuyerIdentityController } from './buyer-identity.controller';
import { BuyerIdentity } from './buyer-identity.service';
import { OAuthCallbackController } from './oauth-callback.controller';
import { ReturnPageController } from './return-page.controller';

/**
 * The pages the buyer's own browser opens on the Payment Center (no API key: the buyer holds none): the return
 * page after a vendor's page, the vendors' OAuth callback, the aggregate code's pages; and the API that begins and
 * reads a buyer identity and gives an order its aggregate code. They
 * read through the PaymentCenter's interface and own no table (identity requests live minutes, in Redis).
 */
@Module({
  imports: [PaymentCenterModule, GatewaysModule, ApplicationsModule, OrdersModule],
  controllers: [
    ReturnPageController,
    BuyerIdentityController,
    OAuthCallbackController,
    CheckoutCodeController,
    AggregateCodePageController,
    CheckoutAssetsController,
  ],
  providers: [BuyerIdentity, AggregateCheckout],
})
export class CheckoutModule {}
