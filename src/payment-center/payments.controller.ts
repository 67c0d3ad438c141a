import { Controller, Get, Inject, Param } from '@nestjs/common';
import { PaymentCenter } from './payment-center';
import { RefundsService } from './refunds/refunds.service';

/** Business applications can always ask for a payment's status (they must not wait for events alone). */
@Controller('api/payments')
export class PaymentsController {
  constructor(
    @Inject(PaymentCenter) private readonly paymentCenter: PaymentCenter,
    @Inject(RefundsService) private readonly refunds: RefundsService,
  ) {}

  @Get(':paymentNo')
  async get(@Param('paymentNo') paymentNo: string) {
    const payment = await this.paymentCenter.getPayment(paymentNo);
    return {
      ...payment,
      history: await this.paymentCenter.historyOf(paymentNo),
      attempts: await this.paymentCenter.attemptsOf(paymentNo),
      refunds: await this.refunds.ofPayment(paymentNo),
    };
  }
}
