import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional } from 'class-validator';
import { EXAMPLE } from '../common/openapi/examples';
import { IsText } from '../common/validation/text-field';
import { CHANNELS, type Channel } from '../gateways/gateway.types';
import { PaymentDetailResponse } from '../payment-center/payment.response';
import { PAYMENT_STATUSES, type PaymentStatus } from '../payment-center/payment-state-machine';
import { RESOLUTIONS, type Resolution, type ResolutionResult } from '../payment-center/review/payment-review.service';
import { ListLimit } from '../common/validation/list-limit';

const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);

export class PaymentFilterDto {
  @ApiPropertyOptional({ enum: PAYMENT_STATUSES, enumName: 'PaymentStatus', default: 'NEEDS_REVIEW' })
  @IsOptional()
  @IsIn(PAYMENT_STATUSES)
  status?: PaymentStatus;

  @ApiPropertyOptional({ enum: CHANNELS, enumName: 'Channel' })
  @IsOptional()
  @IsIn(CHANNELS)
  channel?: Channel;

  @ListLimit()
  limit?: number;
}

export class ResolvePaymentDto {
  @ApiProperty({
    enum: RESOLUTIONS,
    description:
      '`requery`: ask the vendor now and apply a definite answer (paid with the right amount → `PAID`, closed → ' +
      '`CLOSED`, failed → `FAILED`; anything else changes nothing). `close`: close the trade at the vendor the way an ' +
      'expired order is closed; only a confirmed close makes it `CLOSED`, a paid trade becomes `PAID`. There is no ' +
      '"mark paid": money is only ever recorded from the vendor.',
    example: 'requery',
  })
  @IsIn(RESOLUTIONS)
  action: Resolution;

  @ApiProperty({
    minLength: 3,
    maxLength: 200,
    description: 'Why: kept in the audit log and with the payment.',
    example: 'WeChat merchant console shows the trade unpaid and closed (ticket OPS-1432)',
  })
  @Transform(trim)
  @IsText(3, 200)
  reason: string;
}

export class ResolutionResponse implements ResolutionResult {
  @ApiProperty({ enum: RESOLUTIONS, example: 'requery' })
  action: Resolution;

  @ApiProperty({
    description: "The vendor's answer in one line.",
    example: `paid (trade ${EXAMPLE.gatewayTradeNo}, 2500 fen)`,
  })
  gatewayAnswer: string;

  @ApiProperty({ description: 'Whether the payment left NEEDS_REVIEW.', example: true })
  changed: boolean;

  @ApiProperty({ enum: PAYMENT_STATUSES, enumName: 'PaymentStatus', example: 'PAID' })
  status: PaymentStatus;

  @ApiProperty({ type: PaymentDetailResponse })
  payment: PaymentDetailResponse;
}

export class AdminSessionResponse {
  @ApiProperty({ description: "The token's name from ADMIN_TOKENS: the actor in the audit log.", example: 'ops-alice' })
  name: string;

  @ApiProperty({ type: [String], example: ['payments:read', 'payments:resolve', 'queues:read'] })
  scopes: string[];

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    nullable: true,
    description:
      'POST only: when the queue board session cookie set with this answer ends (null without `queues:read`).',
  })
  queueBoardUntil?: string | null;
}
