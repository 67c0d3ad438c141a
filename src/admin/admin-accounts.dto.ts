import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsObject, IsOptional, Matches } from 'class-validator';
import { IsText } from '../common/validation/text-field';
import { ACCOUNT_ID, NEW_ACCOUNT_ID } from '../gateways/accounts/account-material';
import { ACCOUNT_STATUSES, type AccountStatus } from '../gateways/accounts/channel-account.entity';
import { type Channel, CHANNELS } from '../gateways/gateway.types';

const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);

const SETTINGS_DOC =
  'Public material. WeChat Pay: `mchid`, `appid`, `merchantSerialNo`, `platformKeys` (key id → PEM public key), ' +
  "optionally `miniProgramAppIds` and `mobileAppIds` (the merchant's mini-programs and mobile apps), and " +
  'for a service provider `subMchid` (and `subAppid`). Alipay: `appId`, `alipayPublicKeyPem`, `sellerId`, optionally ' +
  '`miniProgramAppIds` (mini-programs a payment may name), and for a third-party app `authAppId`. UnionPay: `merId`, ' +
  '`merchantCertPem`, `rootCertPem`, `middleCertPem`.';
const SECRETS_DOC =
  'Sealed under the KEK and never returned. WeChat Pay: `merchantPrivateKeyPem`, `apiV3Key`. Alipay: ' +
  '`appPrivateKeyPem`, and for a third-party app `appAuthToken`. UnionPay: `merchantPrivateKeyPem`.';

export class CreateAccountDto {
  @ApiProperty({
    description: 'Chosen by the operator; in the notify URL. 3-32 of a-z, 0-9, -.',
    example: 'brand-a-wechat',
  })
  @Matches(NEW_ACCOUNT_ID, { message: 'id must be 3-32 of a-z, 0-9 and -, starting with a-z or 0-9' })
  id: string;

  @ApiProperty({ enum: CHANNELS, enumName: 'Channel', example: 'wechat' })
  @IsIn(CHANNELS)
  channel: Channel;

  @ApiProperty({ minLength: 1, maxLength: 64, example: 'Brand A (WeChat Pay)' })
  @Transform(trim)
  @IsText(1, 64)
  name: string;

  @ApiProperty({ type: 'object', additionalProperties: true, description: SETTINGS_DOC })
  @IsObject()
  settings: Record<string, unknown>;

  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, description: SECRETS_DOC })
  @IsObject()
  secrets: Record<string, unknown>;
}

export class RotateAccountDto {
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      'Settings to replace (each field given replaces the stored one; `platformKeys` is replaced whole, so list the ' +
      "old key beside the new one while the vendor signs with both). The account's identity (mchid, appid, " +
      'subMchid, appId, authAppId, sellerId, merId) cannot change.',
  })
  @IsOptional()
  @IsObject()
  settings?: Record<string, unknown>;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, description: SECRETS_DOC })
  @IsOptional()
  @IsObject()
  secrets?: Record<string, unknown>;
}

export class SetAccountStatusDto {
  @ApiProperty({ enum: ACCOUNT_STATUSES, example: 'DISABLED' })
  @IsIn(ACCOUNT_STATUSES)
  status: AccountStatus;

  @ApiPropertyOptional({
    minLength: 1,
    maxLength: 255,
    description: 'Why (shown to applications in CHANNEL_UNAVAILABLE).',
    example: 'merchant account under review at WeChat Pay',
  })
  @IsOptional()
  @Transform(trim)
  @IsText(1, 255)
  reason?: string;
}

export class BindAccountsDto {
  @ApiProperty({
    type: [String],
    description: "The application's accounts on this channel; empty: back to the default account.",
    example: ['brand-a-wechat', 'brand-b-wechat'],
  })
  @IsArray()
  @ArrayMaxSize(16)
  @Matches(ACCOUNT_ID, { each: true, message: 'each accountId must be a channel account id' })
  accountIds: string[];

  @ApiPropertyOptional({ description: 'Used when a pay request names none; the first one when left out.' })
  @IsOptional()
  @Matches(ACCOUNT_ID, { message: 'defaultAccountId must be a channel account id' })
  defaultAccountId?: string;
}

export class AccountResponse {
  @ApiProperty({ example: 'brand-a-wechat' })
  id: string;

  @ApiProperty({ enum: CHANNELS, enumName: 'Channel' })
  channel: Channel;

  @ApiProperty({ enum: ['direct', 'service_provider', 'third_party'] })
  kind: string;

  @ApiProperty()
  name: string;

  @ApiProperty({ enum: ACCOUNT_STATUSES })
  status: AccountStatus;

  @ApiProperty({ type: String, nullable: true })
  statusReason: string | null;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The public material only.' })
  settings: Record<string, unknown>;

  @ApiProperty({ type: [String], description: 'Which secrets it holds (names only).', example: ['apiV3Key'] })
  secretFields: string[];

  @ApiProperty({ description: 'The KEK its secrets are sealed with.', example: 'k2026' })
  kekId: string;

  @ApiProperty({ type: 'integer' })
  version: number;

  @ApiProperty({ description: 'Give this to the vendor as the notify URL (we send it with every trade).' })
  notifyUrl: string;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

export class AccountBindingResponse {
  @ApiProperty()
  applicationId: string;

  @ApiProperty({ enum: CHANNELS, enumName: 'Channel' })
  channel: Channel;

  @ApiProperty()
  accountId: string;

  @ApiProperty()
  isDefault: boolean;
}
