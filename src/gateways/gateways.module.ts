import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { createGateways } from './gateway-factory';
import { GatewayRegistry } from './gateway-registry';
import { PAYMENT_GATEWAYS } from './payment-gateway';

/** Channel adapters, chosen by GATEWAY_MODE (see gateway-factory.ts); tests override PAYMENT_GATEWAYS. */
@Module({
  providers: [{ provide: PAYMENT_GATEWAYS, inject: [AppConfig], useFactory: createGateways }, GatewayRegistry],
  exports: [GatewayRegistry],
})
export class GatewaysModule {}
