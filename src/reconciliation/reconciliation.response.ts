import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { EXAMPLE } from '../common/openapi/examples';
import { CHANNELS, type Channel } from '../gateways/gateway.types';
import type { RunStatus } from './reconciliation.entity';
import type { RunView } from './reconciliation.service';
import type { DifferenceKind } from './statement-comparison';

const RUN_STATUSES = Object.keys({
  RUNNING: true,
  MATCHED: true,
  RESOLVED: true,
  REVIEW: true,
  EMPTY: true,
  NOT_READY: true,
  FAILED: true,
} satisfies Record<RunStatus, true>);

const DIFFERENCE_KINDS = Object.keys({
  PAID_NOT_RECORDED: true,
  UNKNOWN_TRADE: true,
  MISSING_AT_GATEWAY: true,
  AMOUNT_MISMATCH: true,
  REFUND_NOT_RECORDED: true,
  UNKNOWN_REFUND: true,
  REFUND_MISSING_AT_GATEWAY: true,
  REFUND_AMOUNT_MISMATCH: true,
} satisfies Record<DifferenceKind, true>);

type DifferenceView = NonNullable<RunView['items']>[number];

export class ReconciliationDifferenceResponse implements DifferenceView {
  @ApiProperty({ enum: DIFFERENCE_KINDS, enumName: 'DifferenceKind', example: 'PAID_NOT_RECORDED' })
  kind: string;

  @ApiProperty({ example: EXAMPLE.paymentNo })
  paymentNo: string;

  @ApiProperty({ type: String, nullable: true, example: null })
  refundNo: string | null;

  @ApiProperty({ type: 'integer', nullable: true, description: 'Our amount in fen, if we know it.', example: null })
  oursFen: number | null;

  @ApiProperty({ type: 'integer', nullable: true, description: "The statement's amount in fen.", example: 2500 })
  theirsFen: number | null;

  @ApiProperty({
    enum: ['RESOLVED', 'REVIEW'],
    description: '`RESOLVED` automatically (a lost payment or refund recorded) or left for an operator.',
    example: 'RESOLVED',
  })
  resolution: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'paid at the gateway: recorded PAID from the statement',
  })
  detail: string | null;
}

/** The OpenAPI shape of RunView: one reconciliation of a channel's statement for a day. */
export class ReconciliationRunResponse implements RunView {
  @ApiProperty({ description: 'Run id (a decimal string).', example: '17' })
  id: string;

  @ApiProperty({ enum: CHANNELS, enumName: 'Channel', example: 'wechat' })
  channel: Channel;

  @ApiProperty({ description: 'The channel account whose statement was reconciled.', example: 'default' })
  accountId: string;

  @ApiProperty({ description: "The statement's day, YYYY-MM-DD in Beijing time.", example: '2025-03-14' })
  billDate: string;

  @ApiProperty({
    enum: RUN_STATUSES,
    enumName: 'ReconciliationRunStatus',
    description:
      '`MATCHED`: no difference; `RESOLVED`: all fixed automatically; `REVIEW`: some need an operator; `EMPTY`: ' +
      'no bill (nothing happened); `NOT_READY`: the bill is not made yet; `FAILED`: no bill could be read.',
    example: 'RESOLVED',
  })
  status: RunStatus;

  @ApiProperty({ type: 'integer', example: 128 })
  statementLines: number;

  @ApiProperty({ type: 'integer', example: 1 })
  differences: number;

  @ApiProperty({ type: 'integer', example: 1 })
  resolved: number;

  @ApiProperty({ type: 'integer', example: 0 })
  review: number;

  @ApiProperty({ type: String, nullable: true, description: 'Why no bill was read.', example: null })
  error: string | null;

  @ApiProperty({ description: 'The admin token name, or `schedule`.', example: 'ops-alice' })
  triggeredBy: string;

  @ApiProperty({ type: String, format: 'date-time', example: '2025-03-15T02:00:00.000Z' })
  startedAt: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: '2025-03-15T02:00:03.000Z' })
  finishedAt: string | null;

  @ApiPropertyOptional({
    type: [ReconciliationDifferenceResponse],
    description: 'The differences found; only when reading or running one (not in the list).',
  })
  items?: ReconciliationDifferenceResponse[];
}
