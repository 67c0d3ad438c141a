import { BARCODE_SCENARIOS, type BarcodeScenario } from '../barcode-scenarios';
import { CHANNELS, document, escapeHtml } from './cashier.page';
import {
  barcodeSvg,
  groupDigits,
  PAYMENT_CODE_CHANNELS,
  type PaymentCodeChannel,
  SCENARIO_TEXT,
  scenarioText,
} from './payment-code';

/** What the payment-code page shows: one code, the choices that made it, and the code drawn as a QR code. */
export interface PaymentCodeView {
  channel: PaymentCodeChannel;
  scenario: BarcodeScenario;
  /** The seconds `password_then_pays` waits (written into the code only for that scenario). */
  seconds: number;
  code: string;
  /** The code drawn as a QR code (SVG markup made by the `qrcode` package). */
  qrSvg: string;
}

/** Where the payment-code page of these choices is; every link on the page leads to a fresh code. */
export function paymentCodePath(channel: PaymentCodeChannel, scenario: BarcodeScenario, seconds?: number): string {
  const query = new URLSearchParams({ channel, scenario });
  if (scenario === 'password_then_pays' && seconds !== undefined) query.set('seconds', String(seconds));
  return `/sandbox/payment-code?${query.toString()}`;
}

/**
 * The counter's call that charges the code, as README's walkthrough writes it: the app on localhost:3000, the
 * demo application's key in $PC_KEY. The sandbox cannot know the order, so `<orderNo>` is left to fill in.
 */
export function counterCurl(code: string): string {
  return (
    `curl -s -X POST localhost:3000/api/orders/<orderNo>/pay -H "authorization: Bearer $PC_KEY" \\\n` +
    `  -H 'content-type: application/json' -d '{"authCode":"${code}"}'`
  );
}

/**
 * The buyer's phone showing a payment code (付款码) for the counter to scan: the vendor's name, the code as a
 * Code 128 barcode, as a QR code and in digits, the scenario it plays; beside it, switches for the vendor and
 * the scenario and the counter's curl. Works without script; the script only adds a copy button.
 */
export function paymentCodePage({ channel, scenario, seconds, code, qrSvg }: PaymentCodeView): string {
  const vendor = CHANNELS[channel];
  const last = BARCODE_SCENARIOS.indexOf(scenario);
  const channelLinks = PAYMENT_CODE_CHANNELS.map((other) =>
    link(paymentCodePath(other, scenario, seconds), CHANNELS[other].name, other === channel, `channel-${other}`),
  ).join('');
  const scenarioItems = BARCODE_SCENARIOS.map(
    (other, digit) =>
      `<li>${link(paymentCodePath(channel, other, seconds), `${digit} ${other}`, other === scenario, `scenario-${digit}`)}` +
      `<small>${escapeHtml(SCENARIO_TEXT[other].replace('{seconds}', 'N'))}</small></li>`,
  ).join('');
  const secondsLinks =
    scenario === 'password_then_pays'
      ? `<p class="seconds">Buyer pays after: ${[1, 2, 3, 4, 5, 6, 7, 8, 9]
          .map((n) => link(paymentCodePath(channel, scenario, n), `${n} s`, n === seconds, `seconds-${n}`))
          .join(' ')}</p>`
      : '';
  return document(
    `${vendor.name} payment code – ${scenario}`,
    `<div id="payment-code" class="layout channel-${escapeHtml(channel)}" data-channel="${escapeHtml(channel)}"` +
      ` data-scenario="${escapeHtml(scenario)}" data-code="${escapeHtml(code)}">
<main class="cashier phone">
<header class="brand"><span class="logo" aria-hidden="true">${escapeHtml(vendor.name.charAt(0))}</span>
<span class="brand-name">${escapeHtml(vendor.name)}</span><span class="badge">Sandbox</span></header>
<section class="pay-code">
<h1>Payment code <span lang="zh">付款码</span></h1>
<p class="hint">Show this to the cashier to pay</p>
<figure class="barcode" id="barcode">${barcodeSvg(code)}</figure>
<p class="code-digits" id="code-digits">${escapeHtml(groupDigits(code))}</p>
<figure class="code-qr" id="code-qr">${qrSvg}</figure>
<p class="scenario" id="scenario"><strong>${last} ${escapeHtml(scenario)}</strong>: ${escapeHtml(scenarioText(scenario, seconds))}</p>
<a class="pay" id="new-code" href="${escapeHtml(paymentCodePath(channel, scenario, seconds))}">New code</a>
</section>
</main>
<aside class="panel">
<section class="choices"><h2>Vendor</h2><nav class="tabs" id="channels">${channelLinks}</nav>
<h2>Scenario (the code’s last digit)</h2><ul class="scenarios" id="scenarios">${scenarioItems}</ul>
${secondsLinks}</section>
<section class="counter"><h2>Charge it at the counter</h2>
<p class="hint">Create an order (README.md), <code>export PC_KEY=$(cat var/demo-api-key)</code>, then:</p>
<pre id="curl">${escapeHtml(counterCurl(code))}</pre>
<button type="button" id="copy-curl" class="copy" hidden>Copy</button>
<p class="message" id="copy-message" role="status"></p>
<p class="hint">The channel comes from the code’s format. Each load makes a new code; the last digits keep the scenario.</p>
</section>
</aside>
</div>`,
  );
}

function link(href: string, text: string, current: boolean, id: string): string {
  return (
    `<a id="${escapeHtml(id)}" href="${escapeHtml(href)}"` +
    (current ? ' class="current" aria-current="page"' : '') +
    `>${escapeHtml(text)}</a>`
  );
}
