import { IsIn } from 'class-validator';
import { type Channel, CHANNELS } from '../../gateways/gateway.types';

export class PayOrderDto {
  @IsIn(CHANNELS, { message: `channel must be one of: ${CHANNELS.join(', ')}` })
  channel: Channel;
}
