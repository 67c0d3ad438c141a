import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '../common/errors/domain-error';
import type { Channel } from './gateway.types';
import { PAYMENT_GATEWAYS, PaymentGateway } from './payment-gateway';

export class ChannelUnavailable extends DomainError {
  readonly code = 'CHANNEL_UNAVAILABLE';
  constructor(channel: string) {
    super(`Payment channel "${channel}" is not configured on this Payment Center.`);
  }
}

/** Picks the adapter for a channel. Adapters are registered under PAYMENT_GATEWAYS. */
@Injectable()
export class GatewayRegistry {
  private readonly byChannel: ReadonlyMap<Channel, PaymentGateway>;

  constructor(@Inject(PAYMENT_GATEWAYS) gateways: PaymentGateway[]) {
    const byChannel = new Map<Channel, PaymentGateway>();
    for (const gateway of gateways) {
      if (byChannel.has(gateway.channel)) throw new Error(`Two gateways registered for channel ${gateway.channel}`);
      byChannel.set(gateway.channel, gateway);
    }
    this.byChannel = byChannel;
  }

  get(channel: Channel): PaymentGateway {
    const gateway = this.byChannel.get(channel);
    if (!gateway) throw new ChannelUnavailable(channel);
    return gateway;
  }

  channels(): Channel[] {
    return [...this.byChannel.keys()];
  }
}
