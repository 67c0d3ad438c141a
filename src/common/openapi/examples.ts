/**
 * One consistent story for the examples in the OpenAPI document: an order created at 06:30:10 UTC, paid
 * with WeChat Pay from 06:30:15, partly refunded at 07:15:02. Numbers follow the real formats in ids.ts
 * (checked by examples.spec.ts), so what a reader copies from /docs looks like what the API returns.
 */
export const EXAMPLE = {
  orderNo: 'ord_7k2m9x4q1w8z3c6v5b0n',
  paymentNo: 'P2025031406301548213907765412',
  refundNo: 'R2025031407150290177482610354',
  buyerId: 'u-1001',
  orderCreatedAt: '2025-03-14T06:30:10.000Z',
  paymentCreatedAt: '2025-03-14T06:30:15.000Z',
  paidAt: '2025-03-14T06:31:02.000Z',
  expiresAt: '2025-03-14T07:00:10.000Z',
  nextQueryAt: '2025-03-14T06:30:45.000Z',
  refundCreatedAt: '2025-03-14T07:15:02.000Z',
  refundedAt: '2025-03-14T07:15:04.000Z',
  /** WeChat Pay's transaction_id. */
  gatewayTradeNo: '4200002514202503146218734459',
  /** WeChat Pay's refund_id. */
  gatewayRefundNo: '50300702312025031467354961223',
  codeUrl: 'weixin://wxpay/bizpayurl?pr=Xy7pQ2a',
  eventId: '0b9e4c1a-6f3d-4d7e-9a51-2c8f7e3b6d10',
} as const;
