import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { ACCOUNT_ID } from '../../gateways/accounts/account-material';
import { type Channel, CHANNELS } from '../../gateways/gateway.types';

export class PayOrderDto {
  @ApiProperty({ enum: CHANNELS, enumName: 'Channel', example: 'wechat' })
  @IsIn(CHANNELS, { message: `channel must be one of: ${CHANNELS.join(', ')}` })
  channel: Channel;

  @ApiPropertyOptional({
    description:
      "Which of the application's channel accounts collects the money (an application bound to several, e.g. " +
      'two brands). Omitted: its default account on the channel. One it is not bound to is `ACCOUNT_NOT_ALLOWED`.',
    pattern: ACCOUNT_ID.source,
  })
  @IsOptional()
  @Matches(ACCOUNT_ID, { message: 'accountId must be a channel account id (a-z, 0-9, -; 1-32)' })
  accountId?: string;
}
