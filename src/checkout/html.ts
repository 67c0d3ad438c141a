import { fenToYuan } from '../common/money';
import type { Channel } from '../gateways/gateway.types';

/** Text for HTML content and quoted attribute values: the five characters that could end either. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export const CHANNEL_NAMES: Record<Channel, string> = { wechat: 'WeChat Pay', alipay: 'Alipay', unionpay: 'UnionPay' };

/** An amount as the buyer reads it: ¥25.00. */
export const yuanText = (fen: number): string => `¥${fenToYuan(fen)}`;

/**
 * The buyer-facing pages' policy: styles inline in the page only, nothing framed; links may go anywhere (the
 * merchant's allow-listed return URL). Scripts only from our origin, and only on pages that run one; forms post to
 * nowhere by default, else to us and `formAction` (a vendor's origin), or — `*` — anywhere: browsers hold the
 * redirect after a post to form-action too, and the choice's posts are sent on to the vendor.
 */
export function buyerPageCsp(options: { script?: boolean; formAction?: string } = {}): string {
  const { script, formAction } = options;
  return [
    "default-src 'none'",
    ...(script ? ["script-src 'self'"] : []),
    "style-src 'unsafe-inline'",
    "img-src 'self' data:",
    "base-uri 'none'",
    ...(formAction === '*' ? [] : [`form-action ${formAction ? `'self' ${formAction}` : "'none'"}`]),
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The policy of a page without script or form (the return page, the OAuth callback's answers). */
export const BUYER_PAGE_CSP = buyerPageCsp();

/** A phone-first page: the buyer comes back from a vendor's page on a phone as often as on a PC. */
export function buyerPage(
  title: string,
  body: string,
  options: { refreshSeconds?: number; script?: string } = {},
): string {
  const refresh = options.refreshSeconds ? `<meta http-equiv="refresh" content="${options.refreshSeconds}">` : '';
  const script = options.script ? `<script src="${escapeHtml(options.script)}" defer></script>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">${refresh}
<title>${escapeHtml(title)}</title>${script}
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2129}
main{max-width:420px;margin:10vh auto;padding:24px;background:#fff;border-radius:12px;text-align:center}
h1{font-size:1.3rem}.amount{font-size:1.8rem;font-weight:600;margin:.5rem 0}
.status-PAID h1{color:#07a35a}.status-waiting h1{color:#b26a00}.status-unpaid h1{color:#c9302c}
a.back{display:inline-block;margin-top:1rem;padding:.7rem 1.4rem;border-radius:8px;background:#1677ff;color:#fff;text-decoration:none}
small{color:#86909c}
</style></head>
<body>${body}</body></html>`;
}
