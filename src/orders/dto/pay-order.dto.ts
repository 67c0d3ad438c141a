import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsIP, IsOptional, Matches, ValidateIf, ValidateNested } from 'class-validator';
import { ACCOUNT_ID } from '../../gateways/accounts/account-material';
import { type Channel, CHANNELS } from '../../gateways/gateway.types';

/** The counter that scanned a payment code: the vendors take it for their risk checks. */
export class BarcodeTerminalDto {
  @ApiPropertyOptional({
    description: "The shop's own store id.",
    pattern: '^[A-Za-z0-9_-]{1,32}$',
  })
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,32}$/, { message: 'terminal.storeId must be 1-32 of A-Z a-z 0-9 _ -' })
  storeId?: string;

  @ApiPropertyOptional({
    description: 'The scanning device or till (UnionPay takes it as termId only when it is 8 letters or digits).',
    pattern: '^[A-Za-z0-9_-]{1,32}$',
  })
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,32}$/, { message: 'terminal.deviceId must be 1-32 of A-Z a-z 0-9 _ -' })
  deviceId?: string;
}

/** The modes a pay request names; `barcode` is asked for with `authCode`. */
const REQUESTABLE_MODES = ['standard', 'in_app', 'mini_program', 'mobile_web'] as const;
/** A WeChat openid (28 characters in practice) or another vendor's buyer id of the same alphabet. */
const PAYER_ID = /^[A-Za-z0-9_-]{16,64}$/;
const WECHAT_APP_ID = /^wx[0-9a-f]{16}$/;

export class PayOrderDto {
  @ApiProperty({
    enum: CHANNELS,
    enumName: 'Channel',
    required: false,
    description:
      'Required for a QR code or page payment. With `authCode` it may be left out: the code says whose app shows ' +
      'it (WeChat 18 digits from 10–15, Alipay 16–24 digits from 25–30, UnionPay 19 digits from 62); given, it ' +
      "must be the code's channel.",
    example: 'wechat',
  })
  @ValidateIf((dto: PayOrderDto) => dto.authCode === undefined || dto.channel !== undefined)
  @IsIn(CHANNELS, { message: `channel must be one of: ${CHANNELS.join(', ')}` })
  channel?: Channel;

  @ApiPropertyOptional({
    description:
      "Which of the application's channel accounts collects the money (an application bound to several, e.g. " +
      'two brands). Omitted: its default account on the channel. One it is not bound to is `ACCOUNT_NOT_ALLOWED`.',
    pattern: ACCOUNT_ID.source,
  })
  @IsOptional()
  @Matches(ACCOUNT_ID, { message: 'accountId must be a channel account id (a-z, 0-9, -; 1-32)' })
  accountId?: string;

  @ApiPropertyOptional({
    enum: REQUESTABLE_MODES,
    description:
      'How the buyer pays. `standard` (the default): the QR code (WeChat Native, Alipay precreate) or PC page ' +
      '(UnionPay) in `payCredential`. `in_app`: a page opened inside WeChat (JSAPI); `mini_program`: a WeChat ' +
      'mini-program; both need `payerId` and answer a `wechat_jsapi` credential for `WeixinJSBridge` / ' +
      '`wx.requestPayment`. `mobile_web`: a phone browser outside WeChat (H5); needs `clientIp`, answers a ' +
      "`redirect` to WeChat's payment page. Not offered on a channel or account: `422 PAY_MODE_UNSUPPORTED`, " +
      'nothing written. A ' +
      'payment code at a counter is `authCode` instead.',
  })
  @IsOptional()
  @IsIn(REQUESTABLE_MODES, { message: `mode must be one of: ${REQUESTABLE_MODES.join(', ')}` })
  mode?: (typeof REQUESTABLE_MODES)[number];

  @ApiPropertyOptional({
    description:
      "`in_app` and `mini_program`: the buyer's id with the vendor, under the app the buyer pays in (WeChat: the " +
      "openid from WeChat's OAuth for the official account, or from `wx.login` for a mini-program).",
    pattern: PAYER_ID.source,
  })
  @ValidateIf((dto: PayOrderDto) => dto.mode === 'in_app' || dto.mode === 'mini_program' || dto.payerId !== undefined)
  @Matches(PAYER_ID, {
    message: "payerId must be the buyer's openid (16-64 of A-Z a-z 0-9 _ -); in_app and mini_program need it",
  })
  payerId?: string;

  @ApiPropertyOptional({
    description:
      "`mini_program` (or `in_app`): the app the buyer pays in when it is not the channel account's own, e.g. a " +
      'mini-program bound to the merchant (WeChat: `wx` + 16 hex digits).',
    pattern: WECHAT_APP_ID.source,
  })
  @IsOptional()
  @Matches(WECHAT_APP_ID, { message: 'appId must be a WeChat app id (wx + 16 hex digits)' })
  appId?: string;

  @ApiPropertyOptional({
    description:
      "`mobile_web`: the buyer's IP address as your page saw it (WeChat's risk checks compare it with the phone " +
      'that opens its payment page), e.g. `203.0.113.7`.',
  })
  @ValidateIf((dto: PayOrderDto) => dto.mode === 'mobile_web' || dto.clientIp !== undefined)
  @IsIP(undefined, { message: "clientIp must be the buyer's IP address; mobile_web needs it" })
  clientIp?: string;

  @ApiPropertyOptional({
    description:
      "A barcode payment at a counter: the payment code the buyer shows in the vendor's app, as scanned. It is " +
      'charged once and never stored. The answer waits up to BARCODE_ANSWER_WAIT (10 s) for a definite result: ' +
      '`PAID`, `FAILED` (a definite refusal: wrong or expired code, insufficient funds; see `statusReason`), or ' +
      'still `PAYING` (the buyer is asked for a password): then long-poll `GET /api/payments/{paymentNo}?waitSeconds=N`. ' +
      'An undecided payment is reversed after BARCODE_QUERY_FOR (30 s): it ends `CLOSED`. docs/barcode.md.',
    pattern: '^[0-9]{16,24}$',
  })
  @IsOptional()
  @Matches(/^\d{16,24}$/, { message: 'authCode must be the 16 to 24 digits of a payment code' })
  authCode?: string;

  @ApiPropertyOptional({ type: BarcodeTerminalDto, description: 'With `authCode`: the counter that scanned it.' })
  @IsOptional()
  @ValidateNested()
  @Type(() => BarcodeTerminalDto)
  terminal?: BarcodeTerminalDto;
}
