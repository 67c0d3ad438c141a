import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsIP, IsOptional, IsUrl, Matches, MaxLength, ValidateIf, ValidateNested } from 'class-validator';
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
const REQUESTABLE_MODES = ['standard', 'in_app', 'mini_program', 'mobile_web', 'pc_web', 'app'] as const;
/** A WeChat openid, an Alipay buyer id (2088 + 12 digits) or open_id: each vendor checks its own form further. */
const PAYER_ID = /^[A-Za-z0-9_-]{16,64}$/;
/** A WeChat app id (wx + 16 hex digits) or an Alipay app id (16 digits). */
const APP_ID = /^(wx[0-9a-f]{16}|[0-9]{16})$/;

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
      'How the buyer pays; each answers its own `payCredential` type (docs/pay-modes.md). `standard` (the default): ' +
      'the QR code (WeChat Native, Alipay precreate; `code_url`) or PC page (UnionPay; `form`). `in_app`: a page ' +
      "inside the vendor's app (WeChat JSAPI `wechat_jsapi`, Alipay `alipay_trade_no`); `mini_program`: a " +
      'mini-program (the same credentials); both need `payerId`. `mobile_web`: a phone browser (WeChat H5 with ' +
      "`clientIp`, Alipay WAP, UnionPay 08): a `redirect` or `form`. `pc_web`: a PC browser sent to the vendor's " +
      "page (Alipay page pay, UnionPay 07). `app`: the merchant's own app through the vendor's SDK (`wechat_app`, " +
      '`alipay_order_string`, `unionpay_tn`). Not offered on a channel or account: `422 PAY_MODE_UNSUPPORTED`, ' +
      'nothing written. A payment code at a counter is `authCode` instead.',
  })
  @IsOptional()
  @IsIn(REQUESTABLE_MODES, { message: `mode must be one of: ${REQUESTABLE_MODES.join(', ')}` })
  mode?: (typeof REQUESTABLE_MODES)[number];

  @ApiPropertyOptional({
    description:
      "`in_app` and `mini_program`: the buyer's id with the vendor, under the app the buyer pays in (WeChat: the " +
      "openid from WeChat's OAuth for the official account, or from `wx.login` for a mini-program; Alipay: the " +
      'buyer id `2088…` or open_id from `alipay.system.oauth.token`).',
    pattern: PAYER_ID.source,
  })
  @ValidateIf((dto: PayOrderDto) => dto.mode === 'in_app' || dto.mode === 'mini_program' || dto.payerId !== undefined)
  @Matches(PAYER_ID, {
    message:
      "payerId must be the buyer's id with the vendor (16-64 of A-Z a-z 0-9 _ -); in_app and mini_program need it",
  })
  payerId?: string;

  @ApiPropertyOptional({
    description:
      "`in_app`, `mini_program` or `app`: the app the buyer pays in when it is not the channel account's own, e.g. " +
      'a mini-program or native app bound to the merchant (WeChat: `wx` + 16 hex digits; Alipay: 16 digits).',
    pattern: APP_ID.source,
  })
  @IsOptional()
  @Matches(APP_ID, { message: 'appId must be a WeChat app id (wx + 16 hex digits) or an Alipay app id (16 digits)' })
  appId?: string;

  @ApiPropertyOptional({
    description:
      "`mobile_web`: the buyer's IP address as your page saw it (WeChat's risk checks compare it with the phone " +
      'that opens its payment page; WeChat needs it), e.g. `203.0.113.7`.',
  })
  @ValidateIf((dto: PayOrderDto) => dto.clientIp !== undefined)
  @IsIP(undefined, { message: "clientIp must be the buyer's IP address" })
  clientIp?: string;

  @ApiPropertyOptional({
    description:
      '`mobile_web` and `pc_web`: your page the buyer goes back to when done. The vendor sends the buyer to our ' +
      'return page (`/pay/return/{paymentNo}`), which shows the status our server holds and links here with ' +
      "`paymentNo` and `orderNo`, e.g. `https://shop.example/orders/done`. Its origin must be on the application's return " +
      'origins (admin API), else `400`.',
    maxLength: 512,
  })
  @IsOptional()
  @IsUrl(
    { protocols: ['https', 'http'], require_protocol: true, require_tld: false },
    { message: 'returnUrl must be an absolute http(s) URL' },
  )
  @MaxLength(512, { message: 'returnUrl must be at most 512 characters' })
  returnUrl?: string;

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
