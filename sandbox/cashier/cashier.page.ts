import { fenToYuan } from '../../src/gateways/wire/vendor-formats';
import type { SandboxFaults, SandboxTrade } from '../sandbox-trades';

type Channel = SandboxTrade['channel'];

/** Where the cashier of a trade is, for every channel. */
export function cashierPath(outTradeNo: string): string {
  return `/sandbox/cashier/${encodeURIComponent(outTradeNo)}`;
}

/** The buyer's "pay" of the sandbox vendor that holds the trade. */
export function payPath(trade: Pick<SandboxTrade, 'channel' | 'outTradeNo'>): string {
  return `/sandbox/${trade.channel}/trades/${encodeURIComponent(trade.outTradeNo)}/pay`;
}

/** Each vendor's name as its buyers know it, and what its QR code asks them to do. */
export const CHANNELS: Record<Channel, { name: string; scanWith: string }> = {
  wechat: { name: 'WeChat Pay', scanWith: 'Scan with WeChat' },
  alipay: { name: 'Alipay', scanWith: 'Scan with Alipay' },
  unionpay: { name: 'UnionPay', scanWith: '' },
};

/** What the cashier page shows about one trade. */
export interface CashierView {
  trade: SandboxTrade;
  /** The faults set for this trade alone (the switches start from them). */
  tradeFaults: SandboxFaults;
  /** The code URL drawn as a QR code (SVG markup made by the `qrcode` package), for the QR flows. */
  qrSvg?: string;
  /**
   * WeChat H5: the `redirect_url` the merchant appended to the h5_url (this page's query), where WeChat sends the
   * buyer back. Honoured for H5 trades only: no other flow is told where to return this way.
   */
  redirectUrl?: string;
}

type FaultKind = 'flag' | 'count' | 'ms' | 'fen' | 'code';

interface FaultSwitch {
  kind: FaultKind;
  label: string;
  hint: string;
  /** Only these vendors honour it. */
  channels?: Channel[];
}

/**
 * One switch per fault of POST /sandbox/faults. Keyed by SandboxFaults' own keys, so a fault added there and
 * not here does not compile.
 */
export const FAULT_SWITCHES: { [K in keyof Required<SandboxFaults>]: FaultSwitch } = {
  dropNotifications: {
    kind: 'flag',
    label: 'Drop notifications',
    hint: 'never notify; only the app’s queries can find the payment',
  },
  duplicateNotifications: {
    kind: 'count',
    label: 'Duplicate notifications',
    hint: 'send each notification this many times at once',
  },
  delayNotificationMs: { kind: 'ms', label: 'Delay notification', hint: 'wait this long before the first send' },
  reorderNotifications: {
    kind: 'count',
    label: 'Reorder notifications',
    hint: 'hold notifications (of any trade) until this many wait, then send newest first',
  },
  badSignature: {
    kind: 'flag',
    label: 'Bad signature',
    hint: 'sign notifications with a key the merchant does not know',
  },
  wrongAmountFen: { kind: 'fen', label: 'Wrong amount', hint: 'notifications report this amount (fen)' },
  apiDelayMs: { kind: 'ms', label: 'Slow API', hint: 'the vendor API answers create/query/close after this long' },
  apiError: { kind: 'flag', label: 'API error', hint: 'the vendor API answers with a system error' },
  systemError: {
    kind: 'flag',
    label: 'ACQ.SYSTEM_ERROR',
    hint: 'Alipay answers 40004 ACQ.SYSTEM_ERROR (still means retry)',
    channels: ['alipay'],
  },
  legacyPlatformCertificate: {
    kind: 'flag',
    label: 'Legacy platform certificate',
    hint: 'sign notifications with an old platform certificate instead of the public key id',
    channels: ['wechat'],
  },
  refundRefusal: {
    kind: 'code',
    label: 'Refuse refunds',
    hint: 'refunds are refused with this vendor code (NOT_ENOUGH, ACQ.SELLER_BALANCE_NOT_ENOUGH, 05…)',
  },
  balanceShort: {
    kind: 'flag',
    label: 'Balance short',
    hint: 'refunds are refused for want of balance (WeChat NOT_ENOUGH, Alipay ACQ.SELLER_BALANCE_NOT_ENOUGH)',
    channels: ['wechat', 'alipay'],
  },
  statementOmit: { kind: 'flag', label: 'Leave out of statement', hint: 'the day’s bill does not list this trade' },
  statementAmountFen: { kind: 'fen', label: 'Statement amount', hint: 'the day’s bill shows this amount (fen)' },
};

const STATE_TEXT: Record<SandboxTrade['state'], string> = {
  NOTPAY: 'Waiting for payment',
  SUCCESS: 'Paid',
  CLOSED: 'Closed',
};

/** Escapes text for HTML content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Whom the buyer pays: the sub-merchant of a WeChat service provider's trade, the merchant that authorised an
 * Alipay third-party app, else the merchant (mchid, merId) or app that made the trade.
 */
function merchantOf(trade: SandboxTrade): string {
  if (trade.wechatPartner) return `${trade.wechatPartner.subMchid} (service provider ${trade.mchid})`;
  if (trade.alipay && trade.alipay.authAppId !== trade.appid)
    return `${trade.alipay.authAppId} (via app ${trade.appid})`;
  return trade.mchid || trade.appid;
}

/** The cashier: one page for every channel, QR code for the native flows, pay button, status, fault switches. */
export function cashierPage({ trade, tradeFaults, qrSvg, redirectUrl }: CashierView): string {
  const channel = CHANNELS[trade.channel];
  const yuan = `¥${fenToYuan(trade.amountFen)}`;
  const expiresAt = trade.payTimeout?.toISOString();
  const details: [string, string][] = [
    ['Merchant', merchantOf(trade)],
    ...(trade.description ? [['Subject', trade.description] as [string, string]] : []),
    ['Payment no.', trade.outTradeNo],
  ];
  const payable = trade.state === 'NOTPAY';
  const buyer = qrSvg
    ? `<figure class="qr" id="qr" data-code-url="${escapeHtml(trade.codeUrl ?? '')}">${qrSvg}` +
      `<div class="qr-paid" aria-hidden="true">&#10003;</div>` +
      `<figcaption>${escapeHtml(channel.scanWith)}<br><code id="code-url">${escapeHtml(trade.codeUrl ?? '')}</code></figcaption></figure>`
    : `<div class="card" id="card"><span class="card-brand">${escapeHtml(channel.name)}</span>` +
      `<span class="card-no">6216 6100 **** 0018</span><span class="card-holder">SANDBOX TEST CARD</span></div>`;
  const button = qrSvg ? `Scan &amp; pay ${escapeHtml(yuan)}` : `Pay ${escapeHtml(yuan)}`;
  // A phone browser's page (WeChat H5, Alipay WAP, UnionPay 08) is shown phone-sized.
  const phone = trade.phone === true || trade.h5 === true || trade.alipayFlow?.kind === 'wap';
  return document(
    `${channel.name} sandbox cashier – ${trade.outTradeNo}`,
    `<div id="cashier" class="layout channel-${escapeHtml(trade.channel)}${phone ? ' device-phone' : ''}"` +
      ` data-trade="${escapeHtml(trade.outTradeNo)}"` +
      ` data-channel="${escapeHtml(trade.channel)}" data-state="${escapeHtml(trade.state)}"` +
      (expiresAt ? ` data-expires-at="${escapeHtml(expiresAt)}"` : '') +
      `>
<main class="cashier">
<header class="brand"><span class="logo" aria-hidden="true">${escapeHtml(channel.name.charAt(0))}</span>
<span class="brand-name">${escapeHtml(channel.name)}</span><span class="badge">Sandbox</span></header>
<section class="summary">
<p class="amount" id="amount">${escapeHtml(yuan)}</p>
<dl>${details.map(([term, value]) => `<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(value)}</dd>`).join('')}</dl>
</section>
<section class="buyer">${buyer}
<p class="status"><span class="dot"></span><strong id="state">${escapeHtml(STATE_TEXT[trade.state])}</strong>` +
      (expiresAt ? ` <span id="countdown" class="countdown"></span>` : '') +
      `</p>
<form method="post" action="${escapeHtml(payPath(trade))}" id="pay-form">
<button type="submit" id="pay" class="pay"${payable ? '' : ' disabled'}>${button}</button></form>
<p class="hint">${qrSvg ? 'Pressing pay is the buyer scanning the code and confirming in the app.' : 'Pressing pay is the buyer paying with a test card.'} The sandbox then notifies the merchant.</p>
<p class="message" id="message" role="status"></p>${returnLink(trade, redirectUrl)}
</section>
</main>
<aside class="panel">
<section class="notifications"><h2>Notifications to the merchant</h2>
<ol id="notifications">${notificationItems(trade)}</ol></section>
${faultPanel(trade.channel, tradeFaults)}
</aside>
</div>`,
  );
}

/**
 * The way back to the merchant's page the vendor was given (UnionPay frontUrl; Alipay return_url with its signed
 * return parameters, set once paid, which the script also fills in when the trade is paid on this page; WeChat H5
 * redirect_url), shown once the trade is paid or closed (the stylesheet keys on data-state, which the script
 * updates). Only an http(s) address becomes a link.
 */
function returnLink(trade: SandboxTrade, redirectUrl: string | undefined): string {
  const href = trade.returnTo ?? trade.returnUrl ?? (trade.h5 ? redirectUrl : undefined);
  if (!href || !/^https?:\/\//i.test(href)) return '';
  return `\n<p class="return"><a id="return-link" href="${escapeHtml(href)}">Back to the merchant</a></p>`;
}

/** A page with a sentence, in the cashier's look: unknown trades, refused front-end requests. */
export function messagePage(title: string, text: string): string {
  return document(
    title,
    `<main class="cashier"><section class="summary"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></section></main>`,
  );
}

function notificationItems(trade: SandboxTrade): string {
  if (trade.notifications.length === 0) return '<li class="none">none yet</li>';
  return trade.notifications
    .map((n) => `<li>#${n.attempt} → ${escapeHtml(n.status === 'error' ? 'no answer' : `HTTP ${n.status}`)}</li>`)
    .join('');
}

function faultPanel(channel: Channel, tradeFaults: SandboxFaults): string {
  const rows = (Object.entries(FAULT_SWITCHES) as [keyof SandboxFaults, FaultSwitch][])
    .filter(([, s]) => !s.channels || s.channels.includes(channel))
    .map(([key, s]) => {
      const id = escapeHtml(`fault-${key}`);
      const value = tradeFaults[key];
      const input =
        s.kind === 'flag'
          ? `<input type="checkbox" id="${id}" name="${escapeHtml(key)}"${value === true ? ' checked' : ''}>`
          : s.kind === 'code'
            ? `<input type="text" id="${id}" name="${escapeHtml(key)}" maxlength="40" placeholder="code"` +
              (typeof value === 'string' ? ` value="${escapeHtml(value)}"` : '') +
              '>'
            : `<input type="number" id="${id}" name="${escapeHtml(key)}" min="1" step="1" inputmode="numeric"` +
              ` placeholder="${escapeHtml(s.kind === 'count' ? 'n' : s.kind)}"` +
              (typeof value === 'number' ? ` value="${escapeHtml(String(value))}"` : '') +
              '>';
      return (
        `<div class="fault" data-fault="${escapeHtml(key)}" data-kind="${escapeHtml(s.kind)}"` +
        ` data-label="${escapeHtml(s.label)}">` +
        `<label for="${id}">${escapeHtml(s.label)}</label>${input}<small>${escapeHtml(s.hint)}</small></div>`
      );
    });
  return `<details class="faults" id="faults" open><summary>Fault switches for this trade</summary>
<form id="fault-form">${rows.join('\n')}
<div class="fault-actions"><button type="submit" id="apply-faults">Apply</button>
<button type="button" id="clear-faults" class="secondary">Clear</button></div></form>
<p class="message" id="fault-message" role="status"></p>
<h3>In force</h3><ul id="faults-in-force"><li class="none">loading…</li></ul>
<p class="hint">Sets <code>POST /sandbox/faults</code> for this payment number; global faults show here too.</p>
</details>`;
}

/** A whole page: the sandbox's own stylesheet and script, nothing inline (the cashier's CSP allows no other). */
export function document(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/sandbox/assets/cashier.css"><script src="/sandbox/assets/cashier.js" defer></script>
</head><body>${body}</body></html>`;
}
