import type { Channel } from '../gateways/gateway.types';

/**
 * Which vendor's app a page was opened in, told by the user agent its web view sends: WeChat's has
 * `MicroMessenger/`, Alipay's `AlipayClient/`, UnionPay's app (云闪付) `UnionPay/` or its package name
 * `com.unionpay`. Anything else is a plain browser. A user agent is the buyer's own claim: it only chooses which
 * way to pay is offered, never what is paid or by whom.
 */
export function vendorAppOf(userAgent: string | undefined): Channel | undefined {
  if (!userAgent) return undefined;
  if (/MicroMessenger\//i.test(userAgent)) return 'wechat';
  if (/AlipayClient\//i.test(userAgent)) return 'alipay';
  if (/UnionPay\/|com\.unionpay/i.test(userAgent)) return 'unionpay';
  return undefined;
}
