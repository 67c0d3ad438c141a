import { Body, Controller, Get, Inject, Param, Post } from '@nestjs/common';
import { IsInt, IsString, Length, Max, Min } from 'class-validator';
import { Idempotency, type IdempotencyContext } from '../../common/idempotency/idempotency-context';
import { RefundsService } from './refunds.service';

export class CreateRefundDto {
  /** Integer fen, at most what is left to refund on the payment. */
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  amountFen: number;

  @IsString()
  @Length(1, 80)
  reason: string;
}

/** Refunds of paid payments; write endpoints go through the duplicate-submission guard like every write. */
@Controller('api')
export class RefundsController {
  constructor(@Inject(RefundsService) private readonly refunds: RefundsService) {}

  @Post('payments/:paymentNo/refunds')
  create(
    @Param('paymentNo') paymentNo: string,
    @Body() dto: CreateRefundDto,
    @Idempotency() guard: IdempotencyContext | undefined,
  ) {
    return this.refunds.request(paymentNo, dto, guard);
  }

  @Get('refunds/:refundNo')
  get(@Param('refundNo') refundNo: string) {
    return this.refunds.get(refundNo);
  }
}
