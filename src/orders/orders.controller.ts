import { Body, Controller, Get, HttpCode, HttpStatus, Inject, Param, Post } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { CallerApp, RequireApiKey } from '../applications/api-key.guard';
import { ClaimAlongside, Idempotency, type IdempotencyContext } from '../idempotency/idempotency-context';
import { ApiIdempotencyKey, REPLAYED_HEADERS, TAGS } from '../common/openapi/api-decorators';
import { ApiErrors } from '../common/openapi/api-errors';
import { EXAMPLE } from '../common/openapi/examples';
import { PaymentResponse } from '../payment-center/payment.response';
import { CreateOrderDto } from './dto/create-order.dto';
import { OrderResponse, OrderWithPaymentsResponse } from './dto/order.response';
import { PayOrderDto } from './dto/pay-order.dto';
import { OrdersService } from './orders.service';

const ORDER_NO = ApiParam({ name: 'orderNo', description: 'The order number.', example: EXAMPLE.orderNo });

@ApiTags(TAGS.orders)
@Controller('api/orders')
export class OrdersController {
  constructor(@Inject(OrdersService) private readonly orders: OrdersService) {}

  @Post()
  @ApiOperation({
    summary: 'Create an order',
    description: 'The server computes each line and the total; the order can be paid until `expiresAt`.',
  })
  @ApiExtraModels(CreateOrderDto)
  @ApiBody({
    schema: { $ref: getSchemaPath(CreateOrderDto) },
    examples: {
      oneLine: {
        summary: 'Two packs of tea',
        value: {
          buyerId: EXAMPLE.buyerId,
          items: [{ sku: 'TEA-001', name: 'Longjing tea 250g', quantity: 2, unitPriceFen: 1250 }],
        },
      },
      twoLines: {
        summary: 'Two lines, currency given',
        value: {
          buyerId: EXAMPLE.buyerId,
          currency: 'CNY',
          items: [
            { sku: 'TEA-001', name: 'Longjing tea 250g', quantity: 1, unitPriceFen: 1250 },
            { sku: 'CUP-007', name: 'Celadon cup', quantity: 2, unitPriceFen: 3990 },
          ],
        },
      },
    },
  })
  @ApiCreatedResponse({ type: OrderResponse, description: 'The new order, `CREATED`.', headers: REPLAYED_HEADERS })
  @ApiIdempotencyKey()
  @ApiErrors('VALIDATION_FAILED')
  @ClaimAlongside() // the order's key column is a complete backstop; create() waits for the claim in its transaction
  @RequireApiKey('orders:write')
  create(
    @CallerApp() applicationId: string,
    @Body() dto: CreateOrderDto,
    @Idempotency() guard: IdempotencyContext | undefined,
  ) {
    return this.orders.create(applicationId, dto, guard);
  }

  @Get(':orderNo')
  @ApiOperation({ summary: 'Read an order with its payments' })
  @ORDER_NO
  @ApiOkResponse({ type: OrderWithPaymentsResponse, description: 'The order and every payment started for it.' })
  @ApiErrors('ORDER_NOT_FOUND')
  @RequireApiKey('orders:read')
  get(@CallerApp() applicationId: string, @Param('orderNo') orderNo: string) {
    return this.orders.get(applicationId, orderNo);
  }

  @Post(':orderNo/pay')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Pay an order with a channel and mode (start or resume), or charge a payment code at a counter',
    description:
      'Starts a payment at the channel and returns what the buyer needs (`payCredential`). Again with the same ' +
      'channel while it is `PAYING`: the same payment (the vendor is never asked for a second trade). Another ' +
      'channel: a new payment, and the order points at it; if both get paid, the second is refunded ' +
      "automatically. With `authCode` (a counter scanned the buyer's payment code, e.g. `134567890123456789`): " +
      'the code is charged once and the answer is `PAID`, `FAILED` (a definite refusal) or `PAYING` after up to ' +
      'BARCODE_ANSWER_WAIT; then long-poll `GET /api/payments/{paymentNo}?waitSeconds=N` (docs/barcode.md).',
  })
  @ORDER_NO
  @ApiOkResponse({
    type: PaymentResponse,
    description: 'The payment: `PAYING`; at a counter also `PAID` or `FAILED`.',
    headers: REPLAYED_HEADERS,
  })
  @ApiIdempotencyKey()
  @ApiErrors(
    'VALIDATION_FAILED',
    'ORDER_NOT_FOUND',
    'ORDER_ALREADY_PAID',
    'ORDER_CLOSED',
    'ORDER_EXPIRED',
    'PAYMENT_STARTING',
    'PAYMENT_REQUEST_MISMATCH',
    'GATEWAY_REJECTED',
    'GATEWAY_UNAVAILABLE',
    'CHANNEL_UNAVAILABLE',
    'ACCOUNT_NOT_ALLOWED',
    'BARCODE_IN_PROGRESS',
    'BARCODE_UNSUPPORTED',
    'PAY_MODE_UNSUPPORTED',
  )
  @RequireApiKey('orders:write')
  pay(@CallerApp() applicationId: string, @Param('orderNo') orderNo: string, @Body() dto: PayOrderDto) {
    return this.orders.pay(applicationId, orderNo, dto);
  }
}
