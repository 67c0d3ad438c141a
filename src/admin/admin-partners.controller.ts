import { Body, Controller, Get, HttpCode, HttpStatus, Inject, Param, Post, Req, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiAdminScope, ApiIdempotencyKey, REPLAYED_HEADERS, TAGS } from '../common/openapi/api-decorators';
import { ApiErrors } from '../common/openapi/api-errors';
import { AppConfig } from '../config/app-config';
import { isWebhookPartner } from '../config/setting-values';
import { DeliveriesService } from '../notifications/deliveries.service';
import { WebhookDispatcher } from '../notifications/webhook/webhook.dispatcher';
import { ReplayDto } from './admin-deliveries.dto';
import { PartnerResponse, ReplayResponse } from './admin-deliveries.response';
import { AdminAuditLog } from './auth/admin-audit-log';
import { AdminAuthGuard, type AdminRequest, RequireScope } from './auth/admin-auth.guard';

/** Admin API for partners: how each receives its events, its circuit, and replays. */
@ApiTags(TAGS.deliveries)
@Controller('api/admin/partners')
@UseGuards(AdminAuthGuard)
export class AdminPartnersController {
  constructor(
    @Inject(DeliveriesService) private readonly deliveries: DeliveriesService,
    @Inject(WebhookDispatcher) private readonly webhooks: WebhookDispatcher,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(AdminAuditLog) private readonly audit: AdminAuditLog,
  ) {}

  @Get()
  @RequireScope('deliveries:read')
  @ApiOperation({
    summary: 'List partners',
    description: "PARTNERS as this instance runs it, with each webhook partner's circuit here. Keys never shown.",
  })
  @ApiAdminScope('deliveries:read')
  @ApiOkResponse({ type: [PartnerResponse], description: 'Every partner.' })
  list(): PartnerResponse[] {
    const circuits = new Map(this.webhooks.circuits().map((c) => [c.partner, c]));
    return this.config.partners.map((partner) => {
      const circuit = circuits.get(partner.name);
      const url = isWebhookPartner(partner) ? new URL(partner.url) : undefined;
      return {
        name: partner.name,
        transport: partner.transport ?? 'amqp',
        endpoint: url ? `${url.protocol}//${url.host}${url.pathname}` : null,
        bindings: partner.bindings,
        applications: partner.applications ?? null,
        circuit: circuit?.state ?? null,
        circuitOpenUntil: circuit?.openUntil ?? null,
      };
    });
  }

  @Post(':name/replay')
  @HttpCode(HttpStatus.OK)
  @RequireScope('deliveries:retry')
  @ApiOperation({
    summary: "Re-deliver a partner's events",
    description:
      'Every event of the range the partner takes (its bindings and applications now) is delivered to it again, ' +
      'with its own id, version and body, so a partner that deduplicates applies nothing twice; other partners get ' +
      'nothing. From `from`, or after `afterEventId`, until `to` (default now); at most 10000 events per replay. ' +
      '`dryRun: true` only counts. Audited.',
  })
  @ApiParam({ name: 'name', description: 'Partner name from `PARTNERS`.', example: 'erp' })
  @ApiAdminScope('deliveries:retry')
  @ApiOkResponse({
    type: ReplayResponse,
    description: 'How many events matched and were put back.',
    headers: REPLAYED_HEADERS,
  })
  @ApiIdempotencyKey()
  @ApiErrors('VALIDATION_FAILED', 'PARTNER_NOT_FOUND', 'REPLAY_START_NOT_FOUND', 'REPLAY_TOO_LARGE')
  replay(@Param('name') name: string, @Body() body: ReplayDto, @Req() request: AdminRequest) {
    const { dryRun, ...range } = body;
    const actor = request.admin?.name ?? 'unknown';
    return this.deliveries.replay(name, range, dryRun ?? false, (action, target, affected, manager) =>
      this.audit.record(actor, action, target, affected, manager),
    );
  }
}
