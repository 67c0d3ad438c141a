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
import { RefundReview } from '../payment-center/review/refund-review.service';
import { AdminAuthGuard, type AdminRequest, RequireScope } from './auth/admin-auth.guard';
import { RefundFilterDto, RefundResolutionResponse, ResolveRefundDto, ReviewRefundResponse } from './admin-refunds.dto';
import { AdminRefundsService } from './admin-refunds.service';

/** Operators' view of refunds (those in review first of all) and the resolution of one in review. */
@ApiTags(TAGS.review)
@Controller('api/admin/refunds')
@UseGuards(AdminAuthGuard)
export class AdminRefundsController {
  constructor(
    @Inject(RefundReview) private readonly review: RefundReview,
    @Inject(AdminRefundsService) private readonly refunds: AdminRefundsService,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'List refunds in a status (NEEDS_REVIEW by default), newest change first',
    description:
      "Each with `statusReason` (why it is there) and every gateway call made about it (the vendor's answers).",
  })
  @ApiOkResponse({ type: [ReviewRefundResponse] })
  @ApiErrors('VALIDATION_FAILED')
  @ApiAdminScope('payments:read')
  @RequireScope('payments:read')
  list(@Query() filter: RefundFilterDto) {
    return this.review.list(filter);
  }

  @Post(':refundNo/resolve')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Resolve a refund in review: ask the vendor again, mark it refunded with the vendor refund id, or retry',
    description:
      'Goes through the same locked state change as a vendor answer, with its partner event. Audited (also when ' +
      'refused) with the token name, the reason and, for `succeeded`, the vendor refund id.',
  })
  @ApiParam({ name: 'refundNo', example: EXAMPLE.refundNo })
  @ApiOkResponse({ type: RefundResolutionResponse, headers: REPLAYED_HEADERS })
  @ApiErrors('VALIDATION_FAILED', 'REFUND_NOT_FOUND', 'REFUND_NOT_IN_REVIEW')
  @ApiIdempotencyKey()
  @ApiAdminScope('payments:resolve')
  @RequireScope('payments:resolve')
  resolve(@Param('refundNo') refundNo: string, @Body() body: ResolveRefundDto, @Req() request: AdminRequest) {
    return this.refunds.resolve(refundNo, body.action, {
      actor: request.admin?.name ?? 'unknown',
      note: body.reason,
      gatewayRefundNo: body.gatewayRefundNo,
    });
  }
}
