import type { Channel, PayCredential } from '../gateways/gateway.types';
import { buyerPage, CHANNEL_NAMES, escapeHtml, yuanText } from './html';

/** The one script of these pages (CheckoutAssetsController). */
const SCRIPT = { script: '/pay/assets/checkout.js' };

/** A page of the aggregate code, with its HTTP status and the policy it needs. */
export interface CheckoutPage {
  status: number;
  html: string;
  /** Origins a form on the page posts to besides ours (UnionPay's front form); `*`: wherever a post is sent on. */
  formAction?: string;
  /** Whether the page runs /pay/assets/checkout.js. */
  script?: boolean;
}

/** Outside the vendors' apps: the buyer picks a channel (each a POST, so no prefetch starts a payment). */
export function choicePage(code: string, amountFen: number, note?: string): CheckoutPage {
  const choices = (['wechat', 'alipay', 'unionpay'] as const)
    .map(
      (channel) =>
        `<form method="post" action="/pay/code/${escapeHtml(code)}/${channel}">` +
        `<button type="submit" class="back" data-channel="${channel}">${escapeHtml(CHANNEL_NAMES[channel])}</button></form>`,
    )
    .join('');
  const body =
    `<main id="choice" class="status-waiting"><h1>Choose how to pay</h1><p class="amount">${yuanText(amountFen)}</p>` +
    (note ? `<p>${escapeHtml(note)}</p>` : '') +
    `${choices}<small>Or open this page in WeChat, Alipay or UnionPay's app.</small></main>`;
  return { status: 200, formAction: '*', html: buyerPage('Choose how to pay', body) };
}

/** The order can no longer be paid here: paid, closed or expired. */
export function orderStatusPage(kind: 'paid' | 'closed', amountFen: number): CheckoutPage {
  const [title, text, cls] =
    kind === 'paid'
      ? ['Paid', 'This order is paid.', 'PAID']
      : ['Closed', 'This order can no longer be paid.', 'unpaid'];
  const body =
    `<main class="status-${cls}" data-order="${kind}"><h1>${title}</h1><p class="amount">${yuanText(amountFen)}</p>` +
    `<p>${text}</p></main>`;
  return { status: 200, html: buyerPage(title, body) };
}

export function messagePage(status: number, title: string, text: string): CheckoutPage {
  return {
    status,
    html: buyerPage(
      title,
      `<main class="status-unpaid"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></main>`,
    ),
  };
}

/**
 * The page that hands a credential to the buyer's app or browser: WeChat's in-app call, Alipay's tradePay, or
 * UnionPay's front form posted at once. Credentials that are URLs are redirects instead (see AggregateCheckout).
 */
export function payPage(
  channel: Channel,
  credential: PayCredential,
  amountFen: number,
  returnPage: string,
): CheckoutPage | undefined {
  const head = `<h1>${escapeHtml(CHANNEL_NAMES[channel])}</h1><p class="amount">${yuanText(amountFen)}</p>`;
  const again = `<button type="button" id="pay-again" class="back">Pay</button>`;
  const data = (kind: string, params: object) =>
    `id="checkout" data-kind="${kind}" data-return="${escapeHtml(returnPage)}" ` +
    `data-params="${escapeHtml(JSON.stringify(params))}"`;
  switch (credential.type) {
    case 'wechat_jsapi': {
      const { type: _type, ...params } = credential;
      return {
        status: 200,
        script: true,
        html: buyerPage(
          'Pay',
          `<main class="status-waiting" ${data('wechat_jsapi', params)}>${head}${again}</main>`,
          SCRIPT,
        ),
      };
    }
    case 'alipay_trade_no':
      return {
        status: 200,
        script: true,
        html: buyerPage(
          'Pay',
          `<main class="status-waiting" ${data('alipay_trade_no', { tradeNo: credential.tradeNo })}>${head}${again}</main>`,
          SCRIPT,
        ),
      };
    case 'form': {
      const fields = Object.entries(credential.fields)
        .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
        .join('');
      return {
        status: 200,
        script: true,
        formAction: new URL(credential.action).origin,
        html: buyerPage(
          'Pay',
          `<main class="status-waiting" ${data('form', {})}>${head}` +
            `<form id="vendor-form" method="post" action="${escapeHtml(credential.action)}">${fields}` +
            `<button type="submit" class="back">Pay</button></form></main>`,
          SCRIPT,
        ),
      };
    }
    default:
      return undefined;
  }
}
