import { Module } from '@nestjs/common';
import { GatewayRegistry } from './gateway-registry';
import { PAYMENT_GATEWAYS } from './payment-gateway';

/**
 * Channel adapters plug in here. Until the vendor adapters land, no channel is configured and starting a
 * payment answers 503 CHANNEL_UNAVAILABLE; tests register a fake adapter by overriding PAYMENT_GATEWAYS.
 */
@Module({
  providers: [{ provide: PAYMENT_GATEWAYS, useValue: [] }, GatewayRegistry],
  exports: [GatewayRegistry],
})
export class GatewaysModule {}
