import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CallerApp, RequireApiKey } from '../applications/api-key.guard';
import { TAGS } from '../common/openapi/api-decorators';
import { ApiErrors } from '../common/openapi/api-errors';
import { EXAMPLE } from '../common/openapi/examples';
import { PaymentCenter } from './payment-center.service';
import { PaymentDetailResponse } from './payment.response';
import { RefundsService } from './refunds/refunds.service';

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
      'nothing is left to ask the gateway), every transition and every gateway call recovery made.',
  })
  @ApiParam({ name: 'paymentNo', description: 'The payment number.', example: EXAMPLE.paymentNo })
  @ApiOkResponse({ type: PaymentDetailResponse, description: 'The payment.' })
  @ApiErrors('PAYMENT_NOT_FOUND')
  @RequireApiKey('payments:read')
  async get(@CallerApp() applicationId: string, @Param('paymentNo') paymentNo: string) {
    const payment = await this.paymentCenter.getPaymentOf(applicationId, paymentNo);
    return {
      ...payment,
      history: await this.paymentCenter.historyOf(paymentNo),
      attempts: await this.paymentCenter.attemptsOf(paymentNo),
      refunds: await this.refunds.ofPayment(paymentNo),
    };
  }
}
