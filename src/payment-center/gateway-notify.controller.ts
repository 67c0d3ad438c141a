import {
  BadRequestException,
  Controller,
  Inject,
  Param,
  ParseEnumPipe,
  type PipeTransform,
  Post,
  Req,
  Res,
} from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { SkipIdempotency } from '../idempotency/idempotency-context';
import { TAGS } from '../common/openapi/api-decorators';
import { ApiErrors, ErrorResponse } from '../common/openapi/api-errors';
import { DEFAULT_ACCOUNT } from '../gateways/accounts/account-gateway';
import { ACCOUNT_ID } from '../gateways/accounts/account-material';
import { type Channel, CHANNELS } from '../gateways/gateway.types';
import { NotificationIntakeUseCase } from './notification-intake.use-case';

/** An account id as accounts are named (a-z, 0-9, -; at most 32): anything else is not looked up at all. */
class ParseAccountIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!ACCOUNT_ID.test(value)) throw new BadRequestException('accountId is not an account id');
    return value;
  }
}

/**
 * Vendor callbacks: POST /api/payments/notify/{wechat,alipay,unionpay}. The raw body is kept because the
 * signatures cover its exact bytes. Vendors resend by design, so the duplicate-submission guard stays out.
 */
@ApiTags(TAGS.callbacks)
@Controller('api/payments/notify')
export class GatewayNotifyController {
  constructor(@Inject(NotificationIntakeUseCase) private readonly intake: NotificationIntakeUseCase) {}

  @Post(':channel')
  @SkipIdempotency()
  @ApiOperation({
    summary: 'Vendor notification of a payment or refund result (vendor-facing)',
    description:
      "`PUBLIC_BASE_URL` + this path is the notify URL sent to the vendor. The body is the vendor's own format: " +
      'WeChat Pay API v3 JSON (signed in the `Wechatpay-*` headers, resource encrypted with the APIv3 key); ' +
      "Alipay's and UnionPay's signed forms (`application/x-www-form-urlencoded`). It is verified over the exact " +
      'bytes, checked against our merchant ids, and applied through the locked state change, so duplicates, ' +
      "reordered and late notifications are harmless. The answer is the vendor's acknowledgement: anything but " +
      'acceptance makes the vendor send again.',
  })
  @ApiParam({ name: 'channel', enum: CHANNELS, description: 'Which vendor is calling.' })
  @ApiConsumes('application/json', 'application/x-www-form-urlencoded')
  @ApiBody({
    description: "The vendor's notification, unchanged (see each vendor's documentation).",
    schema: { type: 'object', additionalProperties: true },
  })
  @ApiHeader({
    name: 'Wechatpay-Signature',
    required: false,
    description: 'WeChat Pay only, with -Timestamp, -Nonce, -Serial.',
  })
  @ApiOkResponse({
    description: 'Accepted (Alipay: exactly `success`; UnionPay: HTTP 200).',
    content: { 'text/plain': { schema: { type: 'string', enum: ['success', 'ok'] }, example: 'success' } },
  })
  @ApiNoContentResponse({ description: 'Accepted (WeChat Pay).' })
  @ApiResponse({
    status: 400,
    description:
      "Refused (bad signature, another merchant's, unknown payment...): WeChat Pay gets `{ code: 'FAIL', message }`, " +
      'Alipay and UnionPay get `fail`; the vendor resends. An unknown channel in the path is `BAD_REQUEST` in our ' +
      'error envelope.',
    content: {
      'text/plain': { schema: { type: 'string', enum: ['fail'] }, example: 'fail' },
      'application/json': {
        schema: {
          anyOf: [
            {
              type: 'object',
              properties: { code: { type: 'string', enum: ['FAIL'] }, message: { type: 'string' } },
              required: ['code', 'message'],
            },
            { $ref: getSchemaPath(ErrorResponse) },
          ],
        },
        examples: {
          wechatRefused: { summary: 'WeChat Pay, refused', value: { code: 'FAIL', message: 'bad signature' } },
          unknownChannel: {
            summary: 'Unknown channel',
            value: { code: 'BAD_REQUEST', message: 'Validation failed (enum string is expected)' },
          },
        },
      },
    },
  })
  @ApiErrors('CHANNEL_UNAVAILABLE')
  async notify(
    @Param('channel', new ParseEnumPipe(Object.fromEntries(CHANNELS.map((c) => [c, c])))) channel: Channel,
    @Req() request: RawBodyRequest<Request>,
    @Res() response: Response,
  ): Promise<void> {
    await this.receive(channel, DEFAULT_ACCOUNT, request, response);
  }

  @Post(':channel/:accountId')
  @SkipIdempotency()
  @ApiOperation({
    summary: 'Vendor notification for one channel account (vendor-facing)',
    description:
      'The notify URL of a channel account created through the admin API: the same body and answers as the ' +
      "default account's URL, verified (and for WeChat Pay decrypted) with this account's keys only. A " +
      'notification about a payment or refund made with another account is refused, even when validly signed.',
  })
  @ApiParam({ name: 'channel', enum: CHANNELS, description: 'Which vendor is calling.' })
  @ApiParam({
    name: 'accountId',
    description: "The channel account (`default`: the environment's).",
    example: 'brand-a-wechat',
  })
  @ApiConsumes('application/json', 'application/x-www-form-urlencoded')
  @ApiBody({
    description: "The vendor's notification, unchanged.",
    schema: { type: 'object', additionalProperties: true },
  })
  @ApiOkResponse({
    description: 'Accepted (Alipay: exactly `success`; UnionPay: HTTP 200).',
    content: { 'text/plain': { schema: { type: 'string', enum: ['success', 'ok'] }, example: 'success' } },
  })
  @ApiNoContentResponse({ description: 'Accepted (WeChat Pay).' })
  @ApiResponse({
    status: 400,
    description: "Refused, as for the default account's URL; also for an unknown account.",
    content: {
      'text/plain': { schema: { type: 'string', enum: ['fail'] }, example: 'fail' },
      'application/json': { schema: { $ref: getSchemaPath(ErrorResponse) } },
    },
  })
  @ApiErrors('CHANNEL_UNAVAILABLE')
  async notifyAccount(
    @Param('channel', new ParseEnumPipe(Object.fromEntries(CHANNELS.map((c) => [c, c])))) channel: Channel,
    @Param('accountId', new ParseAccountIdPipe()) accountId: string,
    @Req() request: RawBodyRequest<Request>,
    @Res() response: Response,
  ): Promise<void> {
    await this.receive(channel, accountId, request, response);
  }

  private async receive(channel: Channel, accountId: string, request: RawBodyRequest<Request>, response: Response) {
    const ack = await this.intake.execute(channel, accountId, {
      headers: request.headers,
      rawBody: request.rawBody ?? Buffer.alloc(0),
    });
    response.status(ack.status).set(ack.headers).send(ack.body);
  }
}
