import { randomInt } from 'node:crypto';
import { BARCODE_SCENARIOS, type BarcodeScenario } from '../barcode-scenarios';
import type { SandboxTrade } from '../sandbox-trades';

export type PaymentCodeChannel = SandboxTrade['channel'];
export const PAYMENT_CODE_CHANNELS: readonly PaymentCodeChannel[] = ['wechat', 'alipay', 'unionpay'];

export function isPaymentCodeChannel(value: unknown): value is PaymentCodeChannel {
  return typeof value === 'string' && (PAYMENT_CODE_CHANNELS as readonly string[]).includes(value);
}

/**
 * Each vendor's payment-code format, as the Payment Center tells them apart (src/payment-center/barcode/auth-code.ts):
 * the first two digits come from `prefixes`, the whole code is `length` digits. Alipay allows 16–24 digits; its
 * app shows 18, so the sandbox does too.
 */
const FORMATS: Record<PaymentCodeChannel, { prefixes: readonly string[]; length: number }> = {
  wechat: { prefixes: ['10', '11', '12', '13', '14', '15'], length: 18 },
  alipay: { prefixes: ['25', '26', '27', '28', '29', '30'], length: 18 },
  unionpay: { prefixes: ['62'], length: 19 },
};

/** What the counter sees for each scenario: what pay answers, then what happens (sandbox/barcode-scenarios.ts). */
export const SCENARIO_TEXT: Record<BarcodeScenario, string> = {
  pays: 'pay answers paid at once',
  password_then_pays: 'pay answers paying; the buyer enters the password and pays after {seconds} s',
  password_never: 'pay answers paying; the buyer never enters the password',
  insufficient_funds: 'pay is refused for insufficient funds; nothing is taken',
  unknown_then_paid: 'pay gets no answer; the trade was made and paid',
  unknown_then_nothing: 'pay gets no answer; the trade was made, the buyer never pays',
  reverse_recall: 'pay answers paying; never paid, and the first reverse asks to be called again',
  paid_at_reverse: 'pay answers paying; the buyer pays just as the reverse arrives',
  invalid_code: 'pay is refused: the code is invalid or expired',
  reverse_unknown: 'pay answers paying; never paid, and the first two reverses get no answer',
};

/** The seconds `password_then_pays` waits when none are chosen (the sandbox's own default for a 0 digit). */
export const DEFAULT_SECONDS = 5;

/** A random integer in [0, below): `crypto.randomInt` unless a test passes its own. */
export type RandomInt = (below: number) => number;

/**
 * A buyer's payment code of `channel`'s format that makes the sandbox play `scenario`: the vendor's prefix, a
 * fresh random middle (repeated demos do not reuse a code), then the scenario digits. The last digit is the
 * scenario's index; the one before it is `seconds` (1–9) for `password_then_pays` and random otherwise, since
 * only that scenario reads it.
 */
export function paymentCode(
  channel: PaymentCodeChannel,
  scenario: BarcodeScenario,
  seconds: number = DEFAULT_SECONDS,
  random: RandomInt = randomInt,
): string {
  const format = FORMATS[channel];
  const last = BARCODE_SCENARIOS.indexOf(scenario);
  if (!format) throw new RangeError(`no payment-code format for channel ${String(channel)}`);
  if (last < 0) throw new RangeError(`no barcode scenario ${String(scenario)}`);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 9) throw new RangeError('seconds must be 1 to 9');
  const digit = () => String(random(10));
  const prefix = format.prefixes[random(format.prefixes.length)];
  const middle = Array.from({ length: format.length - prefix.length - 2 }, digit).join('');
  const before = scenario === 'password_then_pays' ? String(seconds) : digit();
  return `${prefix}${middle}${before}${last}`;
}

/** The scenario a query names, by its digit (0–9) or its name; undefined for anything else. */
export function parseScenario(text: unknown): BarcodeScenario | undefined {
  if (typeof text !== 'string') return undefined;
  if (/^\d$/.test(text)) return BARCODE_SCENARIOS[Number(text)];
  return BARCODE_SCENARIOS.find((name) => name === text);
}

/** The scenario in one line, with the seconds filled in for `password_then_pays`. */
export function scenarioText(scenario: BarcodeScenario, seconds: number = DEFAULT_SECONDS): string {
  return SCENARIO_TEXT[scenario].replace('{seconds}', String(seconds));
}

/** The code as the vendors' apps print it under the barcode: groups of four digits. */
export function groupDigits(code: string): string {
  return code.replace(/(\d{4})(?=\d)/g, '$1 ');
}

/**
 * Code 128 symbols 0–105 as bar/space widths in modules (bar first, six elements, 11 modules each), then the
 * stop (seven elements, 13 modules), from the symbology's published chart. Payment apps draw their codes in
 * Code 128, so a counter's real scanner can read this one too. payment-code.spec.ts checks the chart's own
 * rules: 11 modules, an even number of bar modules, every symbol different.
 */
// prettier-ignore
export const CODE128_PATTERNS: readonly string[] = [
  '212222', '222122', '222221', '121223', '121322', '131222', '122213', '122312', '132212', '221213', // 0–9
  '221312', '231212', '112232', '122132', '122231', '113222', '123122', '123221', '223211', '221132', // 10–19
  '221231', '213212', '223112', '312131', '311222', '321122', '321221', '312212', '322112', '322211', // 20–29
  '212123', '212321', '232121', '111323', '131123', '131321', '112313', '132113', '132311', '211313', // 30–39
  '231113', '231311', '112133', '112331', '132131', '113123', '113321', '133121', '313121', '211331', // 40–49
  '231131', '213113', '213311', '213131', '311123', '311321', '331121', '312113', '312311', '332111', // 50–59
  '314111', '221411', '431111', '111224', '111422', '121124', '121421', '141122', '141221', '112214', // 60–69
  '112412', '122114', '122411', '142112', '142211', '241211', '221114', '413111', '241112', '134111', // 70–79
  '111242', '121142', '121241', '114212', '124112', '124211', '411212', '421112', '421211', '212141', // 80–89
  '214121', '412121', '111143', '111341', '131141', '114113', '114311', '411113', '411311', '113141', // 90–99
  '114131', '311141', '411131', '211412', '211214', '211232', // 100–105
  '2331112', // stop
];

const START_C = 105;
/** In code set C, switches to set B for the next symbols. */
const CODE_B = 100;
const STOP = 106;

/**
 * The symbol values of a digit string in Code 128: start C, one symbol per pair of digits, and for an odd
 * count (UnionPay's 19) a switch to set B for the last digit, whose set-B value is its ASCII code less 32.
 * Then the check symbol (start + Σ position × value, mod 103) and the stop.
 */
export function code128Values(digits: string): number[] {
  if (!/^\d+$/.test(digits)) throw new RangeError('Code 128 set C takes digits only');
  const values = [START_C];
  for (let i = 0; i + 1 < digits.length; i += 2) values.push(Number(digits.slice(i, i + 2)));
  if (digits.length % 2 === 1) values.push(CODE_B, digits.charCodeAt(digits.length - 1) - 32);
  const check = values.reduce((sum, value, position) => sum + value * Math.max(position, 1), 0) % 103;
  return [...values, check, STOP];
}

/** Modules of white kept on each side so a scanner finds where the code starts (the symbology asks for 10). */
const QUIET_ZONE = 10;

/**
 * The code drawn as a Code 128 barcode: one `<rect>` per bar, in module units scaled by the viewBox, so it
 * stays sharp at any width. No text in it: the page prints the digits beneath.
 */
export function barcodeSvg(digits: string, height = 60): string {
  const widths = code128Values(digits).flatMap((value) => [...CODE128_PATTERNS[value]].map(Number));
  const bars: string[] = [];
  let x = QUIET_ZONE;
  widths.forEach((width, i) => {
    if (i % 2 === 0) bars.push(`<rect x="${x}" y="0" width="${width}" height="${height}"/>`);
    x += width;
  });
  const total = x + QUIET_ZONE;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${total} ${height}" preserveAspectRatio="none"` +
    ` role="img" aria-label="Barcode of ${digits}" shape-rendering="crispEdges">` +
    `<rect width="${total}" height="${height}" fill="#ffffff"/><g fill="#111827">${bars.join('')}</g></svg>`
  );
}
