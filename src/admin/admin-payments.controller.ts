import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  Param,
  Post,
  Query,
  Req,
  UseGuards,
} from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiAdminScope, ApiIdempotencyKey, REPLAYED_HEADERS, TAGS } from '../common/openapi/api-decorators';
import { ApiErrors } from '../common/openapi/api-errors';
import { EXAMPLE } from '../common/openapi/examples';
import { AdminAuthGuard, type AdminRequest, RequireScope } from './auth/admin-auth.guard';
import { PaymentDetailResponse } from '../payment-center/payment.response';
import { PaymentReview } from '../payment-center/review/payment-review.service';
import { PaymentFilterDto, ResolutionResponse, ResolvePaymentDto } from './admin-payments.dto';
import { AdminPaymentsService } from './admin-payments.service';

const PAYMENT_NO = ApiParam({ name: 'paymentNo', example: EXAMPLE.paymentNo });

/** Operators' view of payments (those in review first of all) and the resolution of one in review. */
@ApiTags(TAGS.review)
@Controller('api/admin/payments')
@UseGuards(AdminAuthGuard)
export class AdminPaymentsController {
  constructor(
    @Inject(PaymentReview) private readonly review: PaymentReview,
    @Inject(AdminPaymentsService) private readonly payments: AdminPaymentsService,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'List payments in a status (NEEDS_REVIEW by default), newest change first',
    description: 'Each with `statusReason` (why it is there), `history`, gateway `attempts` and `refunds`.',
  })
  @ApiOkResponse({ type: [PaymentDetailResponse] })
  @ApiErrors('VALIDATION_FAILED')
  @ApiAdminScope('payments:read')
  @RequireScope('payments:read')
  list(@Query() filter: PaymentFilterDto) {
    return this.review.list(filter);
  }

  @Get(':paymentNo')
  @ApiOperation({ summary: 'One payment, any status, with history, gateway attempts and refunds' })
  @PAYMENT_NO
  @ApiOkResponse({ type: PaymentDetailResponse })
  @ApiErrors('PAYMENT_NOT_FOUND')
  @ApiAdminScope('payments:read')
  @RequireScope('payments:read')
  get(@Param('paymentNo') paymentNo: string) {
    return this.review.get(paymentNo);
  }

  @Post(':paymentNo/resolve')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Resolve a payment in review: ask the vendor again, or close the trade',
    description:
      'Goes through the same locked state change as a vendor notification; the operator never sets a status or an ' +
      'amount. Audited (also when refused) with the token name and the reason.',
  })
  @PAYMENT_NO
  @ApiOkResponse({ type: ResolutionResponse, headers: REPLAYED_HEADERS })
  @ApiErrors('VALIDATION_FAILED', 'PAYMENT_NOT_FOUND', 'PAYMENT_NOT_IN_REVIEW')
  @ApiIdempotencyKey()
  @ApiAdminScope('payments:resolve')
  @RequireScope('payments:resolve')
  resolve(@Param('paymentNo') paymentNo: string, @Body() body: ResolvePaymentDto, @Req() request: AdminRequest) {
    return this.payments.resolve(paymentNo, body.action, {
      actor: request.admin?.name ?? 'unknown',
      note: body.reason,
    });
  }
}
