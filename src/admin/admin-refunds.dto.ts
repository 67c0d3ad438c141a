import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional, Matches, ValidateIf } from 'class-validator';
import { EXAMPLE } from '../common/openapi/examples';
import { IsText } from '../common/validation/text-field';
import { CHANNELS, type Channel } from '../gateways/gateway.types';
import { RefundResponse, REFUND_STATUSES } from '../payment-center/refunds/refund.response';
import type { RefundStatus } from '../payment-center/refunds/refund.entity';
import {
  REFUND_RESOLUTIONS,
  type RefundResolution,
  type RefundResolutionResult,
  type ReviewRefundView,
} from '../payment-center/review/refund-review.service';
import { ListLimit } from '../common/validation/list-limit';

const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);

export class RefundFilterDto {
  @ApiPropertyOptional({ enum: REFUND_STATUSES, enumName: 'RefundStatus', default: 'NEEDS_REVIEW' })
  @IsOptional()
  @IsIn(REFUND_STATUSES)
  status?: RefundStatus;

  @ApiPropertyOptional({ enum: CHANNELS, enumName: 'Channel' })
  @IsOptional()
  @IsIn(CHANNELS)
  channel?: Channel;

  @ListLimit()
  limit?: number;
}

export class ResolveRefundDto {
  @ApiProperty({
    enum: REFUND_RESOLUTIONS,
    description:
      '`requery`: ask the vendor now and apply a definite answer (refunded → `REFUNDED`; refused → `REFUND_FAILED` ' +
      "for a merchant's refund, while an automatic one stays in review). `succeeded`: the operator read the refund " +
      'as done at the vendor (merchant console, bill) and gives its refund id: `REFUNDED`. `retry`: send it again ' +
      'under the same refund number (vendors deduplicate by it): `REFUNDING`, REFUND_REVIEW_AFTER counted from now.',
    example: 'requery',
  })
  @IsIn(REFUND_RESOLUTIONS)
  action: RefundResolution;

  @ApiPropertyOptional({
    description: 'Required with `succeeded`: the refund id the vendor shows (WeChat refund_id, UnionPay queryId…).',
    example: EXAMPLE.gatewayRefundNo,
  })
  @ValidateIf((body: ResolveRefundDto) => body.action === 'succeeded' || body.gatewayRefundNo !== undefined)
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, {
    message: 'gatewayRefundNo must be the vendor refund id (1-64 letters, digits, _ -)',
  })
  gatewayRefundNo?: string;

  @ApiProperty({
    minLength: 3,
    maxLength: 200,
    description: 'Why: kept in the audit log and with the refund.',
    example: 'balance topped up (ticket OPS-1502)',
  })
  @Transform(trim)
  @IsText(3, 200)
  reason: string;
}

export class RefundAttemptResponse {
  @ApiProperty({ example: 'refund' })
  action: string;

  @ApiProperty({ type: 'integer', example: 2 })
  attempt: number;

  @ApiProperty({ example: 'unknown' })
  outcome: string;

  @ApiProperty({ type: String, nullable: true, example: 'no answer: refused for now: NOT_ENOUGH' })
  detail: string | null;

  @ApiProperty({ type: String, format: 'date-time' })
  at: string;
}

export class ReviewRefundResponse extends RefundResponse implements ReviewRefundView {
  @ApiProperty({ example: 'default' })
  accountId: string;

  @ApiProperty({
    type: [RefundAttemptResponse],
    description: 'Every gateway call made about the refund, oldest first.',
  })
  attempts: RefundAttemptResponse[];
}

export class RefundResolutionResponse implements RefundResolutionResult {
  @ApiProperty({ enum: REFUND_RESOLUTIONS, example: 'requery' })
  action: RefundResolution;

  @ApiProperty({ description: "The vendor's answer in one line, or what the operator did.", example: 'refunded' })
  gatewayAnswer: string;

  @ApiProperty({ description: 'Whether the refund left NEEDS_REVIEW.', example: true })
  changed: boolean;

  @ApiProperty({ enum: REFUND_STATUSES, enumName: 'RefundStatus', example: 'REFUNDED' })
  status: RefundStatus;

  @ApiProperty({ type: ReviewRefundResponse })
  refund: ReviewRefundResponse;
}
