import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional } from 'class-validator';
import { EXAMPLE } from '../common/openapi/examples';
import { CHANNELS, type Channel, type GatewayResult } from '../gateways/gateway.types';
import type { OrphanView } from '../payment-center/intake/orphan-notifications.repository';
import { ListLimit } from '../common/validation/list-limit';

const RESULTS = Object.keys({
  paid: true,
  not_paid: true,
  closed: true,
  failed: true,
  unknown: true,
} satisfies Record<GatewayResult['kind'], true>);

export class OrphanFilterDto {
  @ApiPropertyOptional({ enum: CHANNELS, enumName: 'Channel' })
  @IsOptional()
  @IsIn(CHANNELS)
  channel?: Channel;

  @ApiPropertyOptional({
    type: 'boolean',
    description: '`false`: only those no statement has matched yet; `true`: only matched ones.',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  linked?: boolean;

  @ListLimit()
  limit?: number;
}

/** The OpenAPI shape of OrphanView. */
export class OrphanNotificationResponse implements OrphanView {
  @ApiProperty({ example: '17' })
  id: string;

  @ApiProperty({ enum: CHANNELS, enumName: 'Channel' })
  channel: Channel;

  @ApiProperty({
    description: "The vendor's merchant order number, which names no payment of ours.",
    example: EXAMPLE.paymentNo,
  })
  paymentNo: string;

  @ApiProperty({ type: 'string', nullable: true, description: "The vendor's trade number, when it names one." })
  gatewayTradeNo: string | null;

  @ApiProperty({ enum: RESULTS, description: 'What the notification reports.', example: 'paid' })
  result: GatewayResult['kind'];

  @ApiProperty({ type: 'integer', nullable: true, description: 'Amount paid, in fen (paid results).', example: 2500 })
  amountFen: number | null;

  @ApiProperty({ description: 'The body exactly as the vendor sent it (WeChat Pay: still encrypted).' })
  rawBody: string;

  @ApiProperty({
    type: 'integer',
    description: 'Deliveries of it (the vendor resends until acknowledged).',
    example: 1,
  })
  timesReceived: number;

  @ApiProperty({ format: 'date-time' })
  receivedAt: string;

  @ApiProperty({ format: 'date-time' })
  lastReceivedAt: string;

  @ApiProperty({
    type: 'string',
    format: 'date-time',
    nullable: true,
    description: 'When a statement line matched it.',
  })
  linkedAt: string | null;

  @ApiProperty({ type: 'string', nullable: true, description: 'Which statement matched it.' })
  linkedDetail: string | null;
}
