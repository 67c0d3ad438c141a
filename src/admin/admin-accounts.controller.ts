import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  Param,
  ParseEnumPipe,
  Post,
  Put,
  Query,
  Req,
  UseGuards,
} from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ApiAdminScope, ApiIdempotencyKey, REPLAYED_HEADERS, TAGS } from '../common/openapi/api-decorators';
import { ApiErrors } from '../common/openapi/api-errors';
import { ChannelAccountsService } from '../gateways/accounts/channel-accounts.service';
import { type Channel, CHANNELS } from '../gateways/gateway.types';
import {
  AccountBindingResponse,
  AccountResponse,
  BindAccountsDto,
  CreateAccountDto,
  RotateAccountDto,
  SetAccountStatusDto,
} from './admin-accounts.dto';
import { AdminAccountsService } from './admin-accounts.service';
import { AdminAuthGuard, type AdminRequest, RequireScope } from './auth/admin-auth.guard';

const ACCOUNT_ID = ApiParam({ name: 'accountId', example: 'brand-a-wechat' });
const APPLICATION_ID = ApiParam({ name: 'applicationId', example: 'app_3f9a0c1d2e4b5a6c' });
const channelPipe = (optional = false) =>
  new ParseEnumPipe(Object.fromEntries(CHANNELS.map((c) => [c, c])), { optional });
const actorOf = (request: AdminRequest) => request.admin?.name ?? 'unknown';

/** Channel accounts (several merchants on one Payment Center) and which accounts each application pays with. */
@ApiTags(TAGS.accounts)
@Controller('api/admin')
@UseGuards(AdminAuthGuard)
export class AdminAccountsController {
  constructor(
    @Inject(ChannelAccountsService) private readonly accounts: ChannelAccountsService,
    @Inject(AdminAccountsService) private readonly admin: AdminAccountsService,
  ) {}

  @Get('accounts')
  @ApiOperation({ summary: 'List channel accounts (never a secret)' })
  @ApiQuery({ name: 'channel', required: false, enum: CHANNELS })
  @ApiOkResponse({ type: [AccountResponse] })
  @ApiErrors('VALIDATION_FAILED')
  @ApiAdminScope('accounts:read')
  @RequireScope('accounts:read')
  list(
    @Query('channel', channelPipe(true))
    channel?: Channel,
  ) {
    return this.accounts.list(channel);
  }

  @Get('accounts/:accountId')
  @ApiOperation({ summary: 'One channel account (never a secret)' })
  @ACCOUNT_ID
  @ApiOkResponse({ type: AccountResponse })
  @ApiErrors('ACCOUNT_NOT_FOUND')
  @ApiAdminScope('accounts:read')
  @RequireScope('accounts:read')
  get(@Param('accountId') accountId: string) {
    return this.accounts.get(accountId);
  }

  @Post('accounts')
  @ApiOperation({
    summary: 'Create a channel account',
    description:
      'Every key is parsed before anything is stored; each problem names its field. The secrets are sealed under ' +
      'the current KEK (ACCOUNT_KEK_ID) and are never returned. Audited (without secrets).',
  })
  @ApiCreatedResponse({ type: AccountResponse, headers: REPLAYED_HEADERS })
  @ApiErrors('VALIDATION_FAILED', 'ACCOUNT_REJECTED')
  @ApiIdempotencyKey()
  @ApiAdminScope('accounts:write')
  @RequireScope('accounts:write')
  create(@Body() body: CreateAccountDto, @Req() request: AdminRequest) {
    return this.admin.create(actorOf(request), body);
  }

  @Post('accounts/:accountId/rotate')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: "Rotate an account's keys",
    description:
      'Replaces the settings and secrets given; applies on this instance at once and on the others within ' +
      'ACCOUNT_CACHE_MS. Payments in flight keep working: they are queried and refunded with the new keys. Audited.',
  })
  @ACCOUNT_ID
  @ApiOkResponse({ type: AccountResponse, headers: REPLAYED_HEADERS })
  @ApiErrors('VALIDATION_FAILED', 'ACCOUNT_NOT_FOUND', 'ACCOUNT_REJECTED')
  @ApiIdempotencyKey()
  @ApiAdminScope('accounts:write')
  @RequireScope('accounts:write')
  rotate(@Param('accountId') accountId: string, @Body() body: RotateAccountDto, @Req() request: AdminRequest) {
    return this.admin.rotate(actorOf(request), accountId, body);
  }

  @Post('accounts/:accountId/status')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Disable or enable an account',
    description:
      'A disabled account takes no new payment (`503 CHANNEL_UNAVAILABLE` with the reason); its payments in flight ' +
      'are still queried, closed, refunded and reconciled. Audited.',
  })
  @ACCOUNT_ID
  @ApiOkResponse({ type: AccountResponse, headers: REPLAYED_HEADERS })
  @ApiErrors('VALIDATION_FAILED', 'ACCOUNT_NOT_FOUND')
  @ApiIdempotencyKey()
  @ApiAdminScope('accounts:write')
  @RequireScope('accounts:write')
  setStatus(@Param('accountId') accountId: string, @Body() body: SetAccountStatusDto, @Req() request: AdminRequest) {
    return this.admin.setStatus(actorOf(request), accountId, body.status, body.reason);
  }

  @Get('applications/:applicationId/accounts')
  @ApiOperation({ summary: 'The channel accounts an application pays with (none on a channel: the default account)' })
  @APPLICATION_ID
  @ApiOkResponse({ type: [AccountBindingResponse] })
  @ApiErrors('APPLICATION_NOT_FOUND')
  @ApiAdminScope('accounts:read')
  @RequireScope('accounts:read')
  bindings(@Param('applicationId') applicationId: string) {
    return this.admin.bindingsOf(applicationId);
  }

  @Put('applications/:applicationId/accounts/:channel')
  @ApiOperation({
    summary: "Set an application's accounts on a channel",
    description:
      'Its payments from then on are made with these (the default one unless a pay request names another); ' +
      'payments already made keep their account. Empty: back to the default account. Audited.',
  })
  @APPLICATION_ID
  @ApiParam({ name: 'channel', enum: CHANNELS })
  @ApiOkResponse({ type: [AccountBindingResponse], headers: REPLAYED_HEADERS })
  @ApiErrors('VALIDATION_FAILED', 'APPLICATION_NOT_FOUND', 'ACCOUNT_REJECTED')
  @ApiIdempotencyKey()
  @ApiAdminScope('accounts:write')
  @RequireScope('accounts:write')
  bind(
    @Param('applicationId') applicationId: string,
    @Param('channel', channelPipe()) channel: Channel,
    @Body() body: BindAccountsDto,
    @Req() request: AdminRequest,
  ) {
    return this.admin.bind(actorOf(request), applicationId, channel, body.accountIds, body.defaultAccountId);
  }
}
