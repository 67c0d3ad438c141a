import { Body, Controller, Get, HttpCode, HttpStatus, Inject, Param, Post, Req, UseGuards } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApplicationsService } from '../applications/applications.service';
import { SkipIdempotency } from '../idempotency/idempotency-context';
import { ApiAdminScope, ApiIdempotencyKey, REPLAYED_HEADERS, TAGS } from '../common/openapi/api-decorators';
import { ApiErrors } from '../common/openapi/api-errors';
import { AdminAuthGuard, type AdminRequest, RequireScope } from './auth/admin-auth.guard';
import {
  ApiKeyResponse,
  ApplicationResponse,
  CreateApiKeyDto,
  CreateApplicationDto,
  NewApiKeyResponse,
  SetApplicationStatusDto,
  SetReturnOriginsDto,
} from './admin-applications.dto';
import { AdminApplicationsService } from './admin-applications.service';

const APPLICATION_ID = ApiParam({ name: 'applicationId', example: 'app_3f9a0c1d2e4b5a6c' });
const actorOf = (request: AdminRequest) => request.admin?.name ?? 'unknown';

/** Business applications and their API keys (the callers of the orders, payments and refunds API). */
@ApiTags(TAGS.applications)
@Controller('api/admin/applications')
@UseGuards(AdminAuthGuard)
export class AdminApplicationsController {
  constructor(
    @Inject(ApplicationsService) private readonly applications: ApplicationsService,
    @Inject(AdminApplicationsService) private readonly admin: AdminApplicationsService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List applications with their keys (never a secret), newest first' })
  @ApiOkResponse({ type: [ApplicationResponse] })
  @ApiAdminScope('applications:read')
  @RequireScope('applications:read')
  list() {
    return this.applications.list();
  }

  @Get(':applicationId')
  @ApiOperation({ summary: 'One application with its keys' })
  @APPLICATION_ID
  @ApiOkResponse({ type: ApplicationResponse })
  @ApiErrors('APPLICATION_NOT_FOUND')
  @ApiAdminScope('applications:read')
  @RequireScope('applications:read')
  get(@Param('applicationId') applicationId: string) {
    return this.applications.get(applicationId);
  }

  @Post()
  @ApiOperation({ summary: 'Create an application (active, no key yet)', description: 'Audited.' })
  @ApiCreatedResponse({ type: ApplicationResponse, headers: REPLAYED_HEADERS })
  @ApiErrors('VALIDATION_FAILED')
  @ApiIdempotencyKey()
  @ApiAdminScope('applications:write')
  @RequireScope('applications:write')
  create(@Body() body: CreateApplicationDto, @Req() request: AdminRequest) {
    return this.admin.create(actorOf(request), body.name);
  }

  @Post(':applicationId/status')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Disable or enable an application',
    description: "A disabled application's keys are all refused (`401`). Audited.",
  })
  @APPLICATION_ID
  @ApiOkResponse({ type: ApplicationResponse, headers: REPLAYED_HEADERS })
  @ApiErrors('VALIDATION_FAILED', 'APPLICATION_NOT_FOUND')
  @ApiIdempotencyKey()
  @ApiAdminScope('applications:write')
  @RequireScope('applications:write')
  setStatus(
    @Param('applicationId') applicationId: string,
    @Body() body: SetApplicationStatusDto,
    @Req() request: AdminRequest,
  ) {
    return this.admin.setStatus(actorOf(request), applicationId, body.status);
  }

  @Post(':applicationId/return-origins')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: "Set the origins the application's pay requests may send buyers back to",
    description:
      'A pay request in a page mode (`mobile_web`, `pc_web`) may name a `returnUrl`: the return page links the ' +
      'buyer back to it only when its origin is listed here (else the pay request is `400`). Audited.',
  })
  @APPLICATION_ID
  @ApiOkResponse({ type: ApplicationResponse, headers: REPLAYED_HEADERS })
  @ApiErrors('VALIDATION_FAILED', 'APPLICATION_NOT_FOUND')
  @ApiIdempotencyKey()
  @ApiAdminScope('applications:write')
  @RequireScope('applications:write')
  setReturnOrigins(
    @Param('applicationId') applicationId: string,
    @Body() body: SetReturnOriginsDto,
    @Req() request: AdminRequest,
  ) {
    return this.admin.setReturnOrigins(actorOf(request), applicationId, body.origins);
  }

  @Post(':applicationId/keys')
  @ApiOperation({
    summary: 'Create an API key; its secret is in this answer only',
    description:
      'Two or more keys can be active at once: to rotate, create a key, move the caller to it, revoke the old one. ' +
      'Not covered by the duplicate-submission guard, so that no secret is ever stored for a replay: a repeated ' +
      'request makes another key (revoke the one you do not use). Audited (without the secret).',
  })
  @APPLICATION_ID
  @ApiCreatedResponse({ type: NewApiKeyResponse })
  @ApiErrors('VALIDATION_FAILED', 'APPLICATION_NOT_FOUND')
  @ApiAdminScope('applications:write')
  @RequireScope('applications:write')
  @SkipIdempotency()
  createKey(
    @Param('applicationId') applicationId: string,
    @Body() body: CreateApiKeyDto,
    @Req() request: AdminRequest,
  ) {
    return this.admin.createKey(actorOf(request), applicationId, body);
  }

  @Post(':applicationId/keys/:keyId/revoke')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Revoke an API key for good', description: 'Refused (`401`) from then on. Audited.' })
  @APPLICATION_ID
  @ApiParam({ name: 'keyId', example: 'ak_1b2c3d4e5f6a7b8c' })
  @ApiOkResponse({ type: ApiKeyResponse, headers: REPLAYED_HEADERS })
  @ApiErrors('API_KEY_NOT_FOUND')
  @ApiIdempotencyKey()
  @ApiAdminScope('applications:write')
  @RequireScope('applications:write')
  revokeKey(
    @Param('applicationId') applicationId: string,
    @Param('keyId') keyId: string,
    @Req() request: AdminRequest,
  ) {
    return this.admin.revokeKey(actorOf(request), applicationId, keyId);
  }
}
