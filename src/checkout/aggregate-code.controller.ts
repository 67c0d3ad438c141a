import { Controller, Get, Header, HttpCode, HttpStatus, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController, ApiOkResponse, ApiOperation, ApiParam, ApiProperty, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import QRCode from 'qrcode';
import { CallerApp, RequireApiKey } from '../applications/api-key.guard';
import { TAGS } from '../common/openapi/api-decorators';
import { ApiErrors } from '../common/openapi/api-errors';
import { EXAMPLE } from '../common/openapi/examples';
import { CHANNELS, type Channel } from '../gateways/gateway.types';
import { SkipIdempotency } from '../idempotency/idempotency-context';
import { OrdersService } from '../orders/orders.service';
import { AggregateCheckout, CHECKOUT_CODE_PATH } from './aggregate-checkout.service';
import { CHECKOUT_JS } from './checkout-script';
import { messagePage } from './checkout-pages';
import { sendStep } from './send-step';

export class CheckoutCodeResponse {
  @ApiProperty({
    description:
      "The order's one payment URL (聚合码): print it as a QR code. Opened in WeChat or Alipay it identifies the " +
      "buyer and pays in the app; in UnionPay's app, on its phone page; in any other browser it offers the channels.",
    example: 'https://pay.example/pay/code/0f3c2a9d8b7e6f5a4c3b2a1908f7e6d5',
  })
  checkoutUrl: string;

  @ApiProperty({ description: 'The URL as an SVG QR code.', example: '<svg xmlns="http://www.w3.org/2000/svg" …' })
  qrSvg: string;

  @ApiProperty({ format: 'date-time', description: "The order's expiry: the code pays nothing after it." })
  expiresAt: string;
}

/** The application asks for an order's aggregate code. */
@ApiTags(TAGS.orders)
@Controller('api/orders')
export class CheckoutCodeController {
  constructor(
    @Inject(OrdersService) private readonly orders: OrdersService,
    @Inject(AggregateCheckout) private readonly checkout: AggregateCheckout,
  ) {}

  @Post(':orderNo/checkout-code')
  @HttpCode(HttpStatus.OK)
  @SkipIdempotency() // the same order always answers the same code
  @ApiOperation({
    summary: "The order's aggregate code: one URL (and QR code) that pays it in any app or browser",
    description:
      'Made the first time it is asked for, the same afterwards. Only an order that can still be paid has one. ' +
      'docs/pay-modes.md "Aggregate code".',
  })
  @ApiParam({ name: 'orderNo', example: EXAMPLE.orderNo })
  @ApiOkResponse({ type: CheckoutCodeResponse })
  @ApiErrors('ORDER_NOT_FOUND', 'ORDER_ALREADY_PAID', 'ORDER_CLOSED', 'ORDER_EXPIRED')
  @RequireApiKey('orders:write')
  async code(@CallerApp() applicationId: string, @Param('orderNo') orderNo: string): Promise<CheckoutCodeResponse> {
    const { code, expiresAt } = await this.orders.checkoutCodeOf(applicationId, orderNo);
    const checkoutUrl = this.checkout.urlOf(code);
    return {
      checkoutUrl,
      qrSvg: await QRCode.toString(checkoutUrl, { type: 'svg', margin: 1 }),
      expiresAt: expiresAt.toISOString(),
    };
  }
}

/** The aggregate code's pages, opened by the buyer's app or browser (no key: the code is the credential). */
@ApiExcludeController()
@Controller(CHECKOUT_CODE_PATH.slice(1))
export class AggregateCodePageController {
  constructor(@Inject(AggregateCheckout) private readonly checkout: AggregateCheckout) {}

  @Get(':code')
  async open(@Param('code') code: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    sendStep(res, await this.checkout.open(code, req.get('user-agent')));
  }

  @Post(':code/:channel')
  @SkipIdempotency()
  async choose(
    @Param('code') code: string,
    @Param('channel') channel: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    if (!(CHANNELS as readonly string[]).includes(channel)) {
      return sendStep(res, { kind: 'page', page: messagePage(404, 'Not found', 'No such way to pay.') });
    }
    sendStep(res, await this.checkout.choose(code, channel as Channel, req.ip));
  }
}

/** The script of the aggregate code's pages. */
@ApiExcludeController()
@Controller('pay/assets')
export class CheckoutAssetsController {
  @Get('checkout.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  script(): string {
    return CHECKOUT_JS;
  }
}
