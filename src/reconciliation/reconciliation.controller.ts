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
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { DomainError } from '../common/errors/domain-error';
import { CHANNELS, type Channel } from '../gateways/gateway.types';
import { AdminAuthGuard, type AdminRequest, RequireScope } from '../notifications/admin/admin-auth.guard';
import { ReconciliationService } from './reconciliation.service';

const BILL_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

export class RunReconciliationDto {
  @IsIn(CHANNELS)
  channel: Channel;

  /** The statement's day, YYYY-MM-DD in Beijing time. */
  @Matches(BILL_DATE, { message: 'date must be YYYY-MM-DD' })
  date: string;
}

export class ReconciliationFilterDto {
  @IsOptional()
  @IsIn(CHANNELS)
  channel?: Channel;

  @IsOptional()
  @Matches(BILL_DATE, { message: 'date must be YYYY-MM-DD' })
  date?: string;

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
@Controller('api/admin/reconciliations')
@UseGuards(AdminAuthGuard)
export class ReconciliationController {
  constructor(@Inject(ReconciliationService) private readonly reconciliation: ReconciliationService) {}

  @Post()
  @HttpCode(HttpStatus.OK)
  @RequireScope('reconciliation:run')
  async run(@Body() body: RunReconciliationDto, @Req() request: AdminRequest) {
    const actor = request.admin?.name ?? 'unknown';
    const run = await this.reconciliation.run(body.channel, body.date, actor);
    await this.reconciliation.audit(actor, run);
    return run;
  }

  @Get()
  @RequireScope('reconciliation:read')
  list(@Query() filter: ReconciliationFilterDto) {
    return this.reconciliation.list({ channel: filter.channel, billDate: filter.date, limit: filter.limit });
  }

  @Get(':id')
  @RequireScope('reconciliation:read')
  async get(@Param('id') id: string) {
    const run = /^\d{1,18}$/.test(id) ? await this.reconciliation.get(id) : undefined;
    if (!run) throw new ReconciliationNotFound(id);
    return run;
  }
}
