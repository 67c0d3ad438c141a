import { ApiProperty } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { type Channel, CHANNELS } from '../../gateways/gateway.types';

export class PayOrderDto {
  @ApiProperty({ enum: CHANNELS, enumName: 'Channel', example: 'wechat' })
  @IsIn(CHANNELS, { message: `channel must be one of: ${CHANNELS.join(', ')}` })
  channel: Channel;
}
