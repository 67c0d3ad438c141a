import { Body, Controller, Get, HttpCode, HttpStatus, Inject, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';
import { CallerApp, RequireApiKey } from '../../applications/api-key.guard';
import { Idempotency, type IdempotencyContext, SkipIdempotency } from '../../idempotency/idempotency-context';
import { ApiIdempotencyKey, REPLAYED_HEADERS, TAGS } from '../../common/openapi/api-decorators';
import { ApiErrors } from '../../common/openapi/api-errors';
import { EXAMPLE } from '../../common/openapi/examples';
import { IsText } from '../../common/validation/text-field';
import { RefundResponse } from './refund.response';
import { RefundsService } from './refunds.service';

export class CreateRefundDto {
  /** Integer fen, at most what is left to refund on the payment. */
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    maximum: 2_147_483_647,
    description: 'Integer fen, at most what is left to refund (paid minus refunded or refunding).',
    example: 1000,
  })
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  amountFen: number;

  @ApiProperty({ minLength: 1, maxLength: 80, example: 'returned goods' })
  @IsText(1, 80)
  reason: string;
}

/** Refunds of paid payments; write endpoints go through the duplicate-submission guard like every write. */
@ApiTags(TAGS.refunds)
@Controller('api')
export class RefundsController {
  constructor(@Inject(RefundsService) private readonly refunds: RefundsService) {}

  @Post('payments/:paymentNo/refunds')
  @ApiOperation({
    summary: 'Refund a paid payment, fully or in part',
    description:
      'Checked under the payment row lock, so concurrent refunds never exceed what was paid. The refund is ' +
      '`REFUNDED` if the vendor answered at once, else `REFUNDING` until recovery gets a definite answer.',
  })
  @ApiParam({ name: 'paymentNo', description: 'The paid payment.', example: EXAMPLE.paymentNo })
  @ApiCreatedResponse({ type: RefundResponse, description: 'The refund.', headers: REPLAYED_HEADERS })
  @ApiIdempotencyKey()
  @ApiErrors('VALIDATION_FAILED', 'PAYMENT_NOT_FOUND', 'PAYMENT_NOT_REFUNDABLE', 'REFUND_EXCEEDS_PAID')
  @RequireApiKey('refunds:write')
  create(
    @CallerApp() applicationId: string,
    @Param('paymentNo') paymentNo: string,
    @Body() dto: CreateRefundDto,
    @Idempotency() guard: IdempotencyContext | undefined,
  ) {
    return this.refunds.request(applicationId, paymentNo, dto, guard);
  }

  @Get('refunds/:refundNo')
  @ApiOperation({ summary: 'Read a refund' })
  @ApiParam({ name: 'refundNo', description: 'The refund number.', example: EXAMPLE.refundNo })
  @ApiOkResponse({ type: RefundResponse, description: 'The refund.' })
  @ApiErrors('REFUND_NOT_FOUND')
  @RequireApiKey('refunds:read')
  get(@CallerApp() applicationId: string, @Param('refundNo') refundNo: string) {
    return this.refunds.getOf(applicationId, refundNo);
  }

  @Post('refunds/:refundNo/sync')
  @HttpCode(HttpStatus.OK)
  @SkipIdempotency() // each sync asks anew; a replayed answer would be the stale one it is meant to replace
  @ApiOperation({
    summary: 'Ask the gateway about a refund now, and read it',
    description:
      'A `REFUNDING` refund: the gateway is asked now (the send or query recovery would make next) and its answer is ' +
      'applied exactly as a refund notification would be; then the refund as it is. A settled refund, or one in ' +
      'review, is returned without asking. At most once per refund per PAYMENT_SYNC_INTERVAL (10 s): sooner is ' +
      '`429 SYNC_TOO_SOON` with `Retry-After`.',
  })
  @ApiParam({ name: 'refundNo', description: 'The refund number.', example: EXAMPLE.refundNo })
  @ApiOkResponse({ type: RefundResponse, description: 'The refund after the gateway was asked.' })
  @ApiErrors('REFUND_NOT_FOUND', 'SYNC_TOO_SOON')
  @RequireApiKey('refunds:read')
  sync(@CallerApp() applicationId: string, @Param('refundNo') refundNo: string) {
    return this.refunds.syncOf(applicationId, refundNo);
  }
}
