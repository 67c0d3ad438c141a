import type { AppConfig } from '../config/app-config';

/**
 * Where a vendor sends the buyer back after its page (Alipay return_url, WeChat H5 redirect_url, UnionPay
 * frontUrl): our own return page, which shows the status our server holds and never what the redirect's query
 * says. The merchant's page, if the pay request named one, is only linked from there.
 */
export const RETURN_PAGE_PATH = '/pay/return';

export function returnPageOf(config: Pick<AppConfig, 'publicBaseUrl'>, paymentNo: string): string {
  return `${config.publicBaseUrl.replace(/\/+$/, '')}${RETURN_PAGE_PATH}/${encodeURIComponent(paymentNo)}`;
}
