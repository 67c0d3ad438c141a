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
import { AdminAuthGuard, type AdminRequest, RequireScope } from './admin-auth.guard';
import { BulkRetryDto, DeliveryFilterDto } from './deliveries.dto';
import { DeliveriesService } from './deliveries.service';

/** Admin API for event deliveries to partner systems. Bearer token with the named scope; every retry is audited. */
@Controller('api/admin/deliveries')
@UseGuards(AdminAuthGuard)
export class DeliveriesController {
  constructor(@Inject(DeliveriesService) private readonly deliveries: DeliveriesService) {}

  @Get()
  @RequireScope('deliveries:read')
  list(@Query() filter: DeliveryFilterDto) {
    return this.deliveries.list(filter);
  }

  @Post('retry')
  @HttpCode(HttpStatus.OK)
  @RequireScope('deliveries:retry')
  retryMany(@Body() body: BulkRetryDto, @Req() request: AdminRequest) {
    const { dryRun, ...filter } = body;
    return this.deliveries.retryMany(filter, dryRun ?? false, request.admin?.name ?? 'unknown');
  }

  @Post(':id/retry')
  @HttpCode(HttpStatus.OK)
  @RequireScope('deliveries:retry')
  retryOne(@Param('id') id: string, @Req() request: AdminRequest) {
    return this.deliveries.retryOne(id, request.admin?.name ?? 'unknown');
  }
}
