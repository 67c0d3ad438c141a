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
import { ApiOkResponse, ApiOperation, ApiParam, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { AdminAuditLog } from '../admin/auth/admin-audit-log';
import { AdminAuthGuard, type AdminRequest, RequireScope } from '../admin/auth/admin-auth.guard';
import { ACCOUNT_ID } from '../gateways/accounts/account-material';
import { DomainError } from '../common/errors/domain-error';
import { ApiAdminScope, ApiIdempotencyKey, REPLAYED_HEADERS, TAGS } from '../common/openapi/api-decorators';
import { ApiErrors } from '../common/openapi/api-errors';
import { CHANNELS, type Channel } from '../gateways/gateway.types';
import { ReconciliationRunResponse } from './reconciliation.response';
import { ReconciliationService } from './reconciliation.service';

const BILL_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

export class RunReconciliationDto {
  @ApiProperty({ enum: CHANNELS, enumName: 'Channel', example: 'wechat' })
  @IsIn(CHANNELS)
  channel: Channel;

  /** The statement's day, YYYY-MM-DD in Beijing time. */
  @ApiProperty({ description: "The statement's day, YYYY-MM-DD in Beijing time.", example: '2025-03-14' })
  @Matches(BILL_DATE, { message: 'date must be YYYY-MM-DD' })
  date: string;

  @ApiPropertyOptional({ description: 'The channel account whose statement to reconcile.', default: 'default' })
  @IsOptional()
  @Matches(ACCOUNT_ID, { message: 'accountId must be a channel account id' })
  accountId?: string;
}

export class ReconciliationFilterDto {
  @ApiPropertyOptional({ enum: CHANNELS, enumName: 'Channel' })
  @IsOptional()
  @IsIn(CHANNELS)
  channel?: Channel;

  @ApiPropertyOptional({ description: 'Only the runs of this channel account.', example: 'default' })
  @IsOptional()
  @Matches(ACCOUNT_ID, { message: 'accountId must be a channel account id' })
  accountId?: string;

  @ApiPropertyOptional({ description: 'The statement day, YYYY-MM-DD.', example: '2025-03-14' })
  @IsOptional()
  @Matches(BILL_DATE, { message: 'date must be YYYY-MM-DD' })
  date?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}

export class ReconciliationNotFound extends DomainError {
  readonly code = 'RECONCILIATION_NOT_FOUND';
  constructor(id: string) {
    super(`Reconciliation run ${id} does not exist.`);
  }
}

/** Statement reconciliation for operators: run a channel's day now, list runs, read one with its differences. */
@ApiTags(TAGS.reconciliation)
@Controller('api/admin/reconciliations')
@UseGuards(AdminAuthGuard)
export class ReconciliationController {
  constructor(
    @Inject(ReconciliationService) private readonly reconciliation: ReconciliationService,
    @Inject(AdminAuditLog) private readonly audit: AdminAuditLog,
  ) {}

  @Post()
  @HttpCode(HttpStatus.OK)
  @RequireScope('reconciliation:run')
  @ApiOperation({
    summary: "Reconcile a channel's statement for a day now",
    description:
      "Fetches the vendor's bill and compares it with our ledger; lost payments and refunds found are recorded, " +
      'everything else goes to review. A bill that is not ready or cannot be read is a run with that status. Audited.',
  })
  @ApiAdminScope('reconciliation:run')
  @ApiOkResponse({
    type: ReconciliationRunResponse,
    description: 'The run with its differences.',
    headers: REPLAYED_HEADERS,
  })
  @ApiIdempotencyKey()
  @ApiErrors('VALIDATION_FAILED', 'CHANNEL_UNAVAILABLE', 'ACCOUNT_NOT_FOUND')
  async run(@Body() body: RunReconciliationDto, @Req() request: AdminRequest) {
    const actor = request.admin?.name ?? 'unknown';
    const run = await this.reconciliation.run(body.channel, body.date, actor, body.accountId);
    await this.audit.record(
      actor,
      'reconciliation.run',
      { channel: run.channel, accountId: run.accountId, billDate: run.billDate, runId: run.id },
      run.resolved,
    );
    return run;
  }

  @Get()
  @RequireScope('reconciliation:read')
  @ApiOperation({ summary: 'List reconciliation runs', description: 'Newest first, without their differences.' })
  @ApiAdminScope('reconciliation:read')
  @ApiOkResponse({ type: [ReconciliationRunResponse], description: 'The runs.' })
  @ApiErrors('VALIDATION_FAILED')
  list(@Query() filter: ReconciliationFilterDto) {
    return this.reconciliation.list({
      channel: filter.channel,
      accountId: filter.accountId,
      billDate: filter.date,
      limit: filter.limit,
    });
  }

  @Get(':id')
  @RequireScope('reconciliation:read')
  @ApiOperation({ summary: 'Read a reconciliation run with its differences' })
  @ApiParam({ name: 'id', description: 'The run id.', example: '17' })
  @ApiAdminScope('reconciliation:read')
  @ApiOkResponse({ type: ReconciliationRunResponse, description: 'The run with its differences.' })
  @ApiErrors('RECONCILIATION_NOT_FOUND')
  async get(@Param('id') id: string) {
    const run = /^\d{1,18}$/.test(id) ? await this.reconciliation.get(id) : undefined;
    if (!run) throw new ReconciliationNotFound(id);
    return run;
  }
}
