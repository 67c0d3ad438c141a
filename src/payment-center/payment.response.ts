import { ApiExtraModels, ApiProperty, getSchemaPath } from '@nestjs/swagger';
import { EXAMPLE } from '../common/openapi/examples';
import { CHANNELS, type Channel, type PayCredential } from '../gateways/gateway.types';
import { PAY_MODES, type PayMode, type PaymentAttempt } from './payment.entity';
import { PAYMENT_STATUSES, type PaymentStatus } from './payment-state-machine';
import type { PaymentView } from './payment.view';
import { RefundResponse } from './refunds/refund.response';

// The OpenAPI shapes of what the payment endpoints return. `implements` keeps them in step with the views.

export class CodeUrlCredential {
  @ApiProperty({ enum: ['code_url'] })
  type: 'code_url';

  @ApiProperty({
    description: 'Show it as a QR code; the buyer scans it with the vendor app.',
    example: EXAMPLE.codeUrl,
  })
  codeUrl: string;
}

export class RedirectCredential {
  @ApiProperty({ enum: ['redirect'] })
  type: 'redirect';

  @ApiProperty({ description: "Open this URL in the buyer's browser.", example: 'https://openapi.alipay.com/…' })
  url: string;
}

export class FormCredential {
  @ApiProperty({ enum: ['form'] })
  type: 'form';

  @ApiProperty({
    description: "Post `fields` to this URL from the buyer's browser (UnionPay's front-end consume).",
    example: 'https://gateway.95516.com/gateway/api/frontTransReq.do',
  })
  action: string;

  @ApiProperty({
    description: 'The signed form fields, posted as they are.',
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { version: '5.1.0', txnType: '01', orderId: EXAMPLE.paymentNo, txnAmt: '2500', signature: '…' },
  })
  fields: Record<string, string>;
}

export class WechatJsapiCredential {
  @ApiProperty({ enum: ['wechat_jsapi'] })
  type: 'wechat_jsapi';

  @ApiProperty({
    description:
      "Pass `appId`, `timeStamp`, `nonceStr`, `package`, `signType` and `paySign` as they are to WeChat's in-app " +
      'call: `WeixinJSBridge.invoke("getBrandWCPayRequest", …)` in an official-account page, `wx.requestPayment` ' +
      'in a mini-program. The app the buyer pays in.',
    example: 'wx8888888888888888',
  })
  appId: string;

  @ApiProperty({ description: 'Seconds since the epoch, as a string.', example: '1414561699' })
  timeStamp: string;

  @ApiProperty({ example: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS' })
  nonceStr: string;

  @ApiProperty({ example: 'prepay_id=wx201410272009395522657a690389285100' })
  package: string;

  @ApiProperty({ enum: ['RSA'] })
  signType: 'RSA';

  @ApiProperty({
    description: "The merchant key's RSA-SHA256 signature over `appId\\ntimeStamp\\nnonceStr\\npackage\\n`, base64.",
    example: 'oR9d8PuhnIc+YZ8cBHFCwfgpaK9gd7vaRvkYD7rthRAZ…',
  })
  paySign: string;
}

export class WechatAppCredential {
  @ApiProperty({ enum: ['wechat_app'] })
  type: 'wechat_app';

  @ApiProperty({
    description:
      "Pass the fields to the WeChat app SDK's `PayReq` (appId, partnerId, prepayId, packageValue = `package`, " +
      "nonceStr, timeStamp, sign) in the merchant's own app. The app's WeChat app id.",
    example: 'wxd678efh567hg6787',
  })
  appId: string;

  @ApiProperty({ description: "The merchant's mchid.", example: '1900000109' })
  partnerId: string;

  @ApiProperty({ example: 'WX1217752501201407033233368018' })
  prepayId: string;

  @ApiProperty({ enum: ['Sign=WXPay'] })
  package: 'Sign=WXPay';

  @ApiProperty({ example: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS' })
  nonceStr: string;

  @ApiProperty({ description: 'Seconds since the epoch, as a string.', example: '1414561699' })
  timeStamp: string;

  @ApiProperty({
    description: "The merchant key's RSA-SHA256 signature over `appId\\ntimeStamp\\nnonceStr\\nprepayId\\n`, base64.",
    example: 'oR9d8PuhnIc+YZ8cBHFCwfgpaK9gd7vaRvkYD7rthRAZ…',
  })
  sign: string;
}

export class AlipayOrderStringCredential {
  @ApiProperty({ enum: ['alipay_order_string'] })
  type: 'alipay_order_string';

  @ApiProperty({
    description:
      "Pass it as it is to the Alipay app SDK's `payV2` in the merchant's own app: the signed `alipay.trade.app.pay` " +
      'request (URL-encoded `key=value&…` with `sign`).',
    example: 'app_id=2021000000000000&biz_content=%7B%22out_trade_no%22…&sign=…',
  })
  orderString: string;
}

export class AlipayTradeNoCredential {
  @ApiProperty({ enum: ['alipay_trade_no'] })
  type: 'alipay_trade_no';

  @ApiProperty({
    description:
      "Alipay's trade number (`alipay.trade.create`) for `my.tradePay({ tradeNO })` in an Alipay mini-program, or " +
      '`AlipayJSBridge.call("tradePay", { tradeNO })` in a page inside Alipay.',
    example: '2013112011001004330000121536',
  })
  tradeNo: string;
}

export class UnionPayTnCredential {
  @ApiProperty({ enum: ['unionpay_tn'] })
  type: 'unionpay_tn';

  @ApiProperty({
    description: "UnionPay's transaction number for its app SDK (`startPay` with this `tn`) in the merchant's own app.",
    example: '815124040929549591900',
  })
  tn: string;
}

const credentialSchemas = [
  CodeUrlCredential,
  RedirectCredential,
  FormCredential,
  WechatJsapiCredential,
  WechatAppCredential,
  AlipayOrderStringCredential,
  AlipayTradeNoCredential,
  UnionPayTnCredential,
];

@ApiExtraModels(...credentialSchemas)
export class PaymentResponse implements PaymentView {
  @ApiProperty({
    description: "`P` + UTC yyyyMMddHHmmss + 14 digits; also the vendor's merchant order number.",
    example: EXAMPLE.paymentNo,
  })
  paymentNo: string;

  @ApiProperty({ example: EXAMPLE.orderNo })
  orderNo: string;

  @ApiProperty({ enum: CHANNELS, enumName: 'Channel', example: 'wechat' })
  channel: Channel;

  @ApiProperty({
    description: "The channel account collecting the money (`default`: the deployment's own account of the channel).",
    example: 'default',
  })
  accountId: string;

  @ApiProperty({
    enum: PAY_MODES,
    description:
      "How the buyer pays: `standard` (the channel's QR code or page, `payCredential`), `barcode` (the buyer's " +
      'payment code scanned at a counter; no credential), `in_app` (a page inside WeChat) or `mini_program` (a ' +
      'WeChat mini-program; both with a `wechat_jsapi` credential).',
    example: 'standard',
  })
  mode: PayMode;

  @ApiProperty({ type: 'integer', description: 'Integer fen.', example: 2500 })
  amountFen: number;

  @ApiProperty({ enum: ['CNY'] })
  currency: 'CNY';

  @ApiProperty({ enum: PAYMENT_STATUSES, enumName: 'PaymentStatus', example: 'PAYING' })
  status: PaymentStatus;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Why it is in this status when that is not obvious: the last gateway answer, a review reason.',
    example: null,
  })
  statusReason: string | null;

  @ApiProperty({ type: String, nullable: true, description: "The vendor's trade number, once known.", example: null })
  gatewayTradeNo: string | null;

  @ApiProperty({
    description: 'What the buyer needs to pay; null until the vendor answered.',
    nullable: true,
    oneOf: credentialSchemas.map((schema) => ({ $ref: getSchemaPath(schema) })),
    discriminator: {
      propertyName: 'type',
      mapping: {
        code_url: getSchemaPath(CodeUrlCredential),
        redirect: getSchemaPath(RedirectCredential),
        form: getSchemaPath(FormCredential),
        wechat_jsapi: getSchemaPath(WechatJsapiCredential),
        wechat_app: getSchemaPath(WechatAppCredential),
        alipay_order_string: getSchemaPath(AlipayOrderStringCredential),
        alipay_trade_no: getSchemaPath(AlipayTradeNoCredential),
        unionpay_tn: getSchemaPath(UnionPayTnCredential),
      },
    },
    example: { type: 'code_url', codeUrl: EXAMPLE.codeUrl },
  })
  payCredential: PayCredential | null;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'What the vendor says was paid, in fen.',
    example: null,
  })
  paidAmountFen: number | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  paidAt: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  closedAt: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description:
      'A barcode payment whose trade was reversed at the vendor: nothing is taken, or what was taken went back ' +
      '(then the payment is `PAID` with a `REVERSAL` refund).',
    example: null,
  })
  reversedAt: string | null;

  @ApiProperty({ type: String, format: 'date-time', example: EXAMPLE.expiresAt })
  expiresAt: string;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When the gateway is asked next; null when nothing is left to ask.',
    example: EXAMPLE.nextQueryAt,
  })
  nextQueryAt: string | null;

  @ApiProperty({ type: 'integer', description: 'Gateway queries made in this status.', example: 0 })
  queryAttempts: number;

  @ApiProperty({
    type: 'integer',
    description: 'Increases with every change of the payment and its refunds (as in the events).',
    example: 1,
  })
  version: number;

  @ApiProperty({ type: String, format: 'date-time', example: EXAMPLE.paymentCreatedAt })
  createdAt: string;

  @ApiProperty({ type: String, format: 'date-time', example: EXAMPLE.paymentCreatedAt })
  updatedAt: string;
}

export class PaymentTransitionResponse {
  @ApiProperty({ description: 'What moved it (a state machine event).', example: 'START' })
  event: string;

  @ApiProperty({ example: 'CREATED' })
  from: string;

  @ApiProperty({ example: 'PAYING' })
  to: string;

  @ApiProperty({ type: 'integer', example: 1 })
  version: number;

  @ApiProperty({ type: String, nullable: true, example: null })
  detail: string | null;

  @ApiProperty({ type: String, format: 'date-time', example: EXAMPLE.paymentCreatedAt })
  at: string;
}

const ATTEMPT_ACTIONS = Object.keys({
  query: true,
  close: true,
  refund: true,
  refund_query: true,
  review_query: true,
  pay: true,
  reverse: true,
} satisfies Record<PaymentAttempt['action'], true>);

export class GatewayAttemptResponse {
  @ApiProperty({ enum: ATTEMPT_ACTIONS, example: 'query' })
  action: string;

  @ApiProperty({
    type: 'integer',
    description: '1 for the first attempt of this action in the current state.',
    example: 1,
  })
  attempt: number;

  @ApiProperty({ description: 'What the gateway answered, in our terms.', example: 'not_paid' })
  outcome: string;

  @ApiProperty({ type: String, nullable: true, example: null })
  detail: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'For refund actions.', example: null })
  refundNo: string | null;

  @ApiProperty({ type: String, format: 'date-time', example: EXAMPLE.nextQueryAt })
  at: string;
}

/** GET /api/payments/:paymentNo: the payment with everything needed to see why it is where it is. */
export class PaymentDetailResponse extends PaymentResponse {
  @ApiProperty({ type: [PaymentTransitionResponse], description: 'Every status change, oldest first.' })
  history: PaymentTransitionResponse[];

  @ApiProperty({
    type: [GatewayAttemptResponse],
    description: 'Every gateway query, close, refund and refund query recovery made, oldest first.',
  })
  attempts: GatewayAttemptResponse[];

  @ApiProperty({ type: [RefundResponse] })
  refunds: RefundResponse[];
}
