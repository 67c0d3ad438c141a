import { Controller, Inject, Param, ParseEnumPipe, Post, Req, Res } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import type { Request, Response } from 'express';
import { SkipIdempotency } from '../common/idempotency/idempotency-context';
import { type Channel, CHANNELS } from '../gateways/gateway.types';
import { NotificationIntakeUseCase } from './notification-intake.use-case';

/**
 * Vendor callbacks: POST /api/payments/notify/{wechat,alipay,unionpay}. The raw body is kept because the
 * signatures cover its exact bytes. Vendors resend by design, so the duplicate-submission guard stays out.
 */
@Controller('api/payments/notify')
export class GatewayNotifyController {
  constructor(@Inject(NotificationIntakeUseCase) private readonly intake: NotificationIntakeUseCase) {}

  @Post(':channel')
  @SkipIdempotency()
  async notify(
    @Param('channel', new ParseEnumPipe(Object.fromEntries(CHANNELS.map((c) => [c, c])))) channel: Channel,
    @Req() request: RawBodyRequest<Request>,
    @Res() response: Response,
  ): Promise<void> {
    const ack = await this.intake.execute(channel, {
      headers: request.headers,
      rawBody: request.rawBody ?? Buffer.alloc(0),
    });
    response.status(ack.status).set(ack.headers).send(ack.body);
  }
}
