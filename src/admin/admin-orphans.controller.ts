import { Controller, Get, Inject, Query, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiAdminScope, TAGS } from '../common/openapi/api-decorators';
import { ApiErrors } from '../common/openapi/api-errors';
import { AdminAuthGuard, RequireScope } from './auth/admin-auth.guard';
import { OrphanNotificationsRepository } from '../payment-center/intake/orphan-notifications.repository';
import { OrphanFilterDto, OrphanNotificationResponse } from './admin-orphans.dto';

/** Verified vendor notifications for payment numbers we do not know, for an operator to look into. */
@ApiTags(TAGS.review)
@Controller('api/admin/orphan-notifications')
@UseGuards(AdminAuthGuard)
export class AdminOrphansController {
  constructor(@Inject(OrphanNotificationsRepository) private readonly orphans: OrphanNotificationsRepository) {}

  @Get()
  @ApiOperation({
    summary: 'List orphan notifications (verified, for a payment number we do not know), newest first',
    description:
      'Each was acknowledged to the vendor (it stops resending) and created nothing: no payment, order or event. ' +
      'A resend of the same one is counted in `timesReceived`, not stored twice.',
  })
  @ApiOkResponse({ type: [OrphanNotificationResponse] })
  @ApiErrors('VALIDATION_FAILED')
  @ApiAdminScope('payments:read')
  @RequireScope('payments:read')
  list(@Query() filter: OrphanFilterDto) {
    return this.orphans.list({ channel: filter.channel, linked: filter.linked, limit: filter.limit ?? 50 });
  }
}
