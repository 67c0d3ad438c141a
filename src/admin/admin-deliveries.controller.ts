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
import { DeliveriesService, type RetryAudit } from '../notifications/deliveries.service';
import { BulkRetryDto, DeliveryFilterDto } from './admin-deliveries.dto';
import { BulkRetryResponse, DeliveryResponse } from './admin-deliveries.response';
import { AdminAuditLog } from './auth/admin-audit-log';
import { AdminAuthGuard, type AdminRequest, RequireScope } from './auth/admin-auth.guard';

/** Admin API for event deliveries to partner systems. Bearer token with the named scope; every retry is audited. */
@ApiTags(TAGS.deliveries)
@Controller('api/admin/deliveries')
@UseGuards(AdminAuthGuard)
export class DeliveriesController {
  constructor(
    @Inject(DeliveriesService) private readonly deliveries: DeliveriesService,
    @Inject(AdminAuditLog) private readonly audit: AdminAuditLog,
  ) {}

  @Get()
  @RequireScope('deliveries:read')
  @ApiOperation({ summary: 'List deliveries', description: 'One row per (event, partner), oldest first.' })
  @ApiAdminScope('deliveries:read')
  @ApiOkResponse({ type: [DeliveryResponse], description: 'The deliveries matching the filter.' })
  @ApiErrors('VALIDATION_FAILED')
  list(@Query() filter: DeliveryFilterDto) {
    return this.deliveries.list(filter);
  }

  @Post('retry')
  @HttpCode(HttpStatus.OK)
  @RequireScope('deliveries:retry')
  @ApiOperation({
    summary: 'Retry every FAILED delivery matching a filter',
    description:
      'Only `FAILED` deliveries are retried, whatever `status` says; `dryRun: true` only counts them. Audited.',
  })
  @ApiAdminScope('deliveries:retry')
  @ApiOkResponse({
    type: BulkRetryResponse,
    description: 'How many matched and were republished.',
    headers: REPLAYED_HEADERS,
  })
  @ApiIdempotencyKey()
  @ApiErrors('VALIDATION_FAILED')
  retryMany(@Body() body: BulkRetryDto, @Req() request: AdminRequest) {
    const { dryRun, ...filter } = body;
    return this.deliveries.retryMany(filter, dryRun ?? false, this.auditBy(request));
  }

  @Post(':id/retry')
  @HttpCode(HttpStatus.OK)
  @RequireScope('deliveries:retry')
  @ApiOperation({
    summary: 'Retry one FAILED delivery',
    description:
      "Republishes the same event (same id, version and body, fresh signature) to that partner's queue only. Audited.",
  })
  @ApiParam({ name: 'id', description: 'The delivery id.', example: '42' })
  @ApiAdminScope('deliveries:retry')
  @ApiOkResponse({ type: DeliveryResponse, description: 'The delivery after the retry.', headers: REPLAYED_HEADERS })
  @ApiIdempotencyKey()
  @ApiErrors('DELIVERY_NOT_FOUND', 'DELIVERY_NOT_RETRYABLE')
  retryOne(@Param('id') id: string, @Req() request: AdminRequest) {
    return this.deliveries.retryOne(id, this.auditBy(request));
  }

  /** The audit log's writer for this request's operator. */
  private auditBy(request: AdminRequest): RetryAudit {
    const actor = request.admin?.name ?? 'unknown';
    return (action, target, affected, manager) => this.audit.record(actor, action, target, affected, manager);
  }
}
