import { Body, Controller, Get, Inject, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { ApplicationsService } from '../applications/applications.service';
import { CallerApp, RequireApiKey } from '../applications/api-key.guard';
import { RequestValidationFailed } from '../common/errors/domain-error';
import { TAGS } from '../common/openapi/api-decorators';
import { SkipIdempotency } from '../idempotency/idempotency-context';
import { ApiErrors } from '../common/openapi/api-errors';
import { type Channel } from '../gateways/gateway.types';
import { BuyerIdentity, type BuyerIdentityRecord } from './buyer-identity.service';

const IDENTITY_CHANNELS = ['wechat', 'alipay'] as const;

export class BeginBuyerIdentityDto {
  @ApiProperty({ enum: IDENTITY_CHANNELS, description: 'Whose app the buyer is in.', example: 'wechat' })
  @IsIn(IDENTITY_CHANNELS, { message: `channel must be one of: ${IDENTITY_CHANNELS.join(', ')}` })
  channel: Channel;

  @ApiProperty({
    description:
      'Your page the buyer comes back to, with `identityId` added to its query; its origin must be on the ' +
      "application's return origins.",
    example: 'https://shop.example/pay',
    maxLength: 512,
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(512, { message: 'returnUrl must be at most 512 characters' })
  returnUrl: string;
}

export class BuyerIdentityResponse {
  @ApiProperty({ example: 'bi0123456789abcdef0123456789abcdef' }) identityId: string;
  @ApiProperty({ enum: IDENTITY_CHANNELS, example: 'wechat' }) channel: Channel;
  @ApiProperty({
    description: "The app the buyer id belongs to: pay in `in_app` mode under it (the account's own app).",
    example: 'wx8888888888888888',
  })
  appId: string;
  @ApiProperty({
    enum: ['PENDING', 'IDENTIFIED', 'FAILED'],
    description: '`PENDING` until the vendor sends the buyer back; then `IDENTIFIED` or `FAILED` (see `failure`).',
  })
  status: BuyerIdentityRecord['status'];
  @ApiProperty({
    type: String,
    nullable: true,
    description: "The buyer's id with the vendor (WeChat openid): the pay request's `payerId`.",
    example: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
  })
  payerId: string | null;
  @ApiProperty({ type: String, nullable: true, example: null }) failure: string | null;
  @ApiProperty({ format: 'date-time', description: 'Kept until then (BUYER_IDENTITY_TTL).' }) expiresAt: string;
}

export class BeganBuyerIdentityResponse extends BuyerIdentityResponse {
  @ApiProperty({
    description: "Send the buyer's browser here (inside the vendor's app); the vendor sends it back to your page.",
    example: 'https://open.weixin.qq.com/connect/oauth2/authorize?appid=…&state=bi…#wechat_redirect',
  })
  authorizeUrl: string;
}

const toResponse = (record: BuyerIdentityRecord): BuyerIdentityResponse => ({
  identityId: record.id,
  channel: record.channel,
  appId: record.appId,
  status: record.status,
  payerId: record.payerId,
  failure: record.failure,
  expiresAt: record.expiresAt,
});

/**
 * The buyer's identity for in-app payments, without vendor code in the merchant's page: begin (an authorize URL to
 * send the buyer to), then read what the vendor said once the buyer is back on the merchant's page.
 */
@ApiTags(TAGS.buyers)
@Controller('api/buyer-identities')
export class BuyerIdentityController {
  constructor(
    @Inject(BuyerIdentity) private readonly identity: BuyerIdentity,
    @Inject(ApplicationsService) private readonly applications: ApplicationsService,
  ) {}

  @Post()
  @ApiOperation({
    summary: "Begin learning the buyer's id inside WeChat or Alipay (silent OAuth)",
    description:
      "Send the buyer's browser (inside the vendor's app) to `authorizeUrl`. The vendor asks nothing (WeChat " +
      '`snsapi_base`) and sends the buyer to our callback, which exchanges the code and sends the buyer on to ' +
      '`returnUrl?identityId=…`; read the id there with GET. docs/pay-modes.md.',
  })
  @ApiCreatedResponse({ type: BeganBuyerIdentityResponse })
  // Every call is another buyer's request: two buyers of one shop send the same body within a second, and must not
  // share one (a repeated call only leaves an unused request behind, which expires).
  @SkipIdempotency()
  @ApiErrors('VALIDATION_FAILED', 'BUYER_IDENTITY_UNAVAILABLE')
  @RequireApiKey('orders:write')
  async begin(@CallerApp() applicationId: string, @Body() body: BeginBuyerIdentityDto) {
    const refusal = await this.applications.returnUrlRefusal(applicationId, body.returnUrl);
    if (refusal) throw new RequestValidationFailed([{ field: 'returnUrl', messages: [refusal] }]);
    const { record, authorizeUrl } = await this.identity.begin(applicationId, body.channel, {
      kind: 'return',
      returnUrl: body.returnUrl,
    });
    return { ...toResponse(record), authorizeUrl };
  }

  @Get(':identityId')
  @ApiOperation({ summary: "Read what the vendor said: the buyer's id, once the buyer is back" })
  @ApiParam({ name: 'identityId', example: 'bi0123456789abcdef0123456789abcdef' })
  @ApiOkResponse({ type: BuyerIdentityResponse })
  @ApiErrors('BUYER_IDENTITY_NOT_FOUND')
  @RequireApiKey('orders:read')
  async read(@CallerApp() applicationId: string, @Param('identityId') identityId: string) {
    return toResponse(await this.identity.read(applicationId, identityId));
  }
}
