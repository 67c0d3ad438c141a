import { Controller, Get, HttpCode, HttpStatus, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CallerApp, RequireApiKey } from '../applications/api-key.guard';
import { TAGS } from '../common/openapi/api-decorators';
import { ApiErrors } from '../common/openapi/api-errors';
import { EXAMPLE } from '../common/openapi/examples';
import { SkipIdempotency } from '../idempotency/idempotency-context';
import { PaymentCenter } from './payment-center.service';
import { PaymentDetailResponse } from './payment.response';
import { RefundsService } from './refunds/refunds.service';

export class PaymentWaitQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 60,
    description:
      'Long poll: wait up to this many seconds for the status to change (capped at PAYMENT_WAIT_MAX_SECONDS, 30 ' +
      'by default). A payment in a final status answers at once.',
    example: 20,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'waitSeconds must be a whole number of seconds' })
  @Min(0, { message: 'waitSeconds must be 0 to 60' })
  @Max(60, { message: 'waitSeconds must be 0 to 60' })
  waitSeconds?: number;
}

/** Business applications can always ask for a payment's status (they must not wait for events alone). */
@ApiTags(TAGS.payments)
@Controller('api/payments')
export class PaymentsController {
  constructor(
    @Inject(PaymentCenter) private readonly paymentCenter: PaymentCenter,
    @Inject(RefundsService) private readonly refunds: RefundsService,
  ) {}

  @Get(':paymentNo')
  @ApiOperation({
    summary: 'Read a payment with its history, gateway attempts and refunds',
    description:
      'Where to look first when a payment seems stuck: `status`, `statusReason`, `nextQueryAt` (null when ' +
      'nothing is left to ask the gateway), every transition and every gateway call recovery made. With ' +
      '`waitSeconds` (a counter waiting for a barcode payment): answers as soon as the status differs from the one ' +
      'the payment had when the request arrived, or when the time is up (the payment as it is then).',
  })
  @ApiParam({ name: 'paymentNo', description: 'The payment number.', example: EXAMPLE.paymentNo })
  @ApiOkResponse({ type: PaymentDetailResponse, description: 'The payment.' })
  @ApiErrors('PAYMENT_NOT_FOUND', 'VALIDATION_FAILED')
  @RequireApiKey('payments:read')
  async get(
    @CallerApp() applicationId: string,
    @Param('paymentNo') paymentNo: string,
    @Query() wait: PaymentWaitQuery,
  ) {
    return this.detail(await this.paymentCenter.getPaymentOf(applicationId, paymentNo, wait.waitSeconds ?? 0));
  }

  @Post(':paymentNo/sync')
  @HttpCode(HttpStatus.OK)
  @SkipIdempotency() // each sync asks anew; a replayed answer would be the stale one it is meant to replace
  @ApiOperation({
    summary: 'Ask the gateway about a payment now, and read it',
    description:
      'A payment still open (`PAYING`, `CLOSING`, `NEEDS_REVIEW`): the gateway is asked now (a query; the close for ' +
      'a payment being closed) and its answer is applied exactly as a vendor notification would be, through the ' +
      'same locked state change, so it can never disagree with one; then the payment as `GET` shows it. A settled ' +
      'payment is returned without asking. At most once per payment per PAYMENT_SYNC_INTERVAL (10 s): sooner is ' +
      '`429 SYNC_TOO_SOON` with `Retry-After`.',
  })
  @ApiParam({ name: 'paymentNo', description: 'The payment number.', example: EXAMPLE.paymentNo })
  @ApiOkResponse({ type: PaymentDetailResponse, description: 'The payment after the gateway was asked.' })
  @ApiErrors('PAYMENT_NOT_FOUND', 'SYNC_TOO_SOON')
  @RequireApiKey('payments:read')
  async sync(@CallerApp() applicationId: string, @Param('paymentNo') paymentNo: string) {
    return this.detail(await this.paymentCenter.syncPaymentOf(applicationId, paymentNo));
  }

  private async detail(payment: Awaited<ReturnType<PaymentCenter['getPayment']>>) {
    const paymentNo = payment.paymentNo;
    return {
      ...payment,
      history: await this.paymentCenter.historyOf(paymentNo),
      attempts: await this.paymentCenter.attemptsOf(paymentNo),
      refunds: await this.refunds.ofPayment(paymentNo),
    };
  }
}
