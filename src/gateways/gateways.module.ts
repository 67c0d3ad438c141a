import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { ACCOUNT_GATEWAY_FACTORY, gatewayForAccount } from './accounts/account-gateway';
import { AccountSelection } from './accounts/account-selection';
import { AccountVault } from './accounts/account-vault';
import { ChannelAccount } from './accounts/channel-account.entity';
import { ChannelAccountsRepository } from './accounts/channel-accounts.repository';
import { ChannelAccountsService } from './accounts/channel-accounts.service';
import { createGateways } from './gateway-factory';
import { GatewayRegistry } from './gateway-registry';
import { BuyerIdentityProviders } from './identity/buyer-identity-providers';
import { PAYMENT_GATEWAYS } from './payment-gateway';

export const GATEWAYS_ENTITIES = [ChannelAccount];

/**
 * Channel adapters and the channel accounts they are made for. The default account of each channel comes
 * from the environment (GATEWAY_MODE, see gateway-factory.ts; tests override PAYMENT_GATEWAYS); every other
 * account is a row of channel_accounts, owned here with its bindings to applications.
 */
@Module({
  imports: [TypeOrmModule.forFeature(GATEWAYS_ENTITIES)],
  providers: [
    { provide: PAYMENT_GATEWAYS, inject: [AppConfig], useFactory: createGateways },
    { provide: ACCOUNT_GATEWAY_FACTORY, useValue: gatewayForAccount },
    GatewayRegistry,
    ChannelAccountsRepository,
    AccountVault,
    AccountSelection,
    ChannelAccountsService,
    BuyerIdentityProviders,
  ],
  exports: [GatewayRegistry, AccountSelection, ChannelAccountsService, BuyerIdentityProviders],
})
export class GatewaysModule {}
