import type { SandboxTrade } from './sandbox-trades';

/**
 * Barcode (付款码) payments in the sandbox: the buyer's code decides what happens, the same for all three
 * vendors, so a test or a demo picks a scenario by the code it scans. The code keeps each vendor's format
 * (WeChat 18 digits from 10–15, Alipay 16–24 digits from 25–30, UnionPay 19 digits from 62); its **last digit**
 * is the scenario and, for `password_then_pays`, the digit before it the seconds the buyer takes (0 = 5 s).
 *
 * | last digit | scenario              | pay answers   | then                                                   |
 * |------------|-----------------------|---------------|--------------------------------------------------------|
 * | 0          | pays                  | paid          |                                                        |
 * | 1          | password_then_pays    | paying        | the buyer pays after N s                               |
 * | 2          | password_never        | paying        | the buyer never enters the password                    |
 * | 3          | insufficient_funds    | refused       | nothing is taken                                       |
 * | 4          | unknown_then_paid     | no answer     | the trade was made and paid                            |
 * | 5          | unknown_then_nothing  | no answer     | the trade was made; the buyer never pays               |
 * | 6          | reverse_recall        | paying        | never paid; the first reverse asks to be called again  |
 * | 7          | paid_at_reverse       | paying        | the buyer pays just as the reverse arrives             |
 * | 8          | invalid_code          | refused       | the code is invalid or expired                         |
 * | 9          | reverse_unknown       | paying        | never paid; the first two reverses get no answer       |
 */
export const BARCODE_SCENARIOS = [
  'pays',
  'password_then_pays',
  'password_never',
  'insufficient_funds',
  'unknown_then_paid',
  'unknown_then_nothing',
  'reverse_recall',
  'paid_at_reverse',
  'invalid_code',
  'reverse_unknown',
] as const;
export type BarcodeScenario = (typeof BARCODE_SCENARIOS)[number];

export interface BarcodeState {
  scenario: BarcodeScenario;
  /** The buyer was asked for a password and has not answered yet (WeChat USERPAYING, Alipay WAIT_BUYER_PAY). */
  waiting: boolean;
  reverses: number;
  /** The trade was reversed: `closed` (nothing taken) or `refunded` (it had been paid; the money went back). */
  reversed?: 'closed' | 'refunded';
}

/** The buyer's pending pay of each waiting trade: apart from the trade, which is served as JSON. */
const payTimers = new WeakMap<SandboxTrade, NodeJS.Timeout>();

export function barcodeScenario(authCode: string): { scenario: BarcodeScenario; payAfterMs: number } {
  const digits = authCode.replace(/\D/g, '');
  const last = Number(digits.at(-1) ?? '0');
  const seconds = Number(digits.at(-2) ?? '0') || 5;
  return { scenario: BARCODE_SCENARIOS[last], payAfterMs: seconds * 1000 };
}

/** What the vendor answers to the pay call, in neutral terms each sandbox controller puts in its protocol. */
export type BarcodePayOutcome = 'paid' | 'paying' | 'insufficient_funds' | 'invalid_code' | 'unknown';

/**
 * The trade (already put, NOTPAY) starts its scenario: paid now (`pay` is the vendor's own pay, which notifies),
 * later, or never. Returns what the pay call answers.
 */
export function startBarcode(trade: SandboxTrade, authCode: string, pay: () => void): BarcodePayOutcome {
  const { scenario, payAfterMs } = barcodeScenario(authCode);
  const state: BarcodeState = { scenario, waiting: false, reverses: 0 };
  trade.barcode = state;
  switch (scenario) {
    case 'pays':
      pay();
      return 'paid';
    case 'insufficient_funds':
      trade.state = 'CLOSED';
      return 'insufficient_funds';
    case 'invalid_code':
      trade.state = 'CLOSED';
      return 'invalid_code';
    case 'unknown_then_paid':
      pay();
      return 'unknown';
    case 'unknown_then_nothing':
      state.waiting = true;
      return 'unknown';
    case 'password_then_pays':
      state.waiting = true;
      payTimers.set(
        trade,
        setTimeout(() => {
          if (trade.state !== 'NOTPAY') return;
          state.waiting = false;
          pay();
        }, payAfterMs).unref(),
      );
      return 'paying';
    case 'password_never':
    case 'reverse_recall':
    case 'paid_at_reverse':
    case 'reverse_unknown':
      state.waiting = true;
      return 'paying';
  }
}

/** What the vendor answers to a reverse, in neutral terms. */
export type BarcodeReverseOutcome = 'closed' | 'refunded' | 'again' | 'unknown';

/**
 * Reverses a barcode trade as the vendors do: an unpaid trade is closed, a paid one refunded in full (the
 * money goes back to the buyer), and the scenario may ask for the reverse to be repeated first. `pay` is the
 * vendor's pay (for the buyer who pays just as the reverse arrives).
 */
export function reverseBarcode(trade: SandboxTrade, pay: () => void): BarcodeReverseOutcome {
  const state = trade.barcode ?? (trade.barcode = { scenario: 'pays', waiting: false, reverses: 0 });
  state.reverses += 1;
  if (state.reversed) return state.reversed;
  if (state.scenario === 'reverse_recall' && state.reverses === 1) return 'again';
  if (state.scenario === 'reverse_unknown' && state.reverses <= 2) return 'unknown';
  if (state.scenario === 'paid_at_reverse' && trade.state === 'NOTPAY') {
    state.waiting = false;
    pay();
  }
  clearTimeout(payTimers.get(trade));
  state.waiting = false;
  state.reversed = trade.state === 'SUCCESS' ? 'refunded' : 'closed';
  trade.state = 'CLOSED';
  return state.reversed;
}
