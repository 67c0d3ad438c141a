import fc from 'fast-check';
import {
  BARCODE_PROTOCOL,
  BARCODE_PROTOCOL_TABLE,
  type BarcodeProtocol,
} from '../src/payment-center/barcode/barcode-protocol';
import { RecoveryEngine } from '../src/payment-center/recovery/recovery-engine';
import { FakeGateway } from './support/fake-gateway';
import {
  type PayChoice,
  type QueryChoice,
  type ReverseChoice,
  ScriptedBarcodeVendor,
  type VendorTrade,
} from './support/scripted-vendor';
import { http, orderBody, type RunningApp, startApp, TestClock, uniqueId } from './support/test-app';

type Step =
  | { kind: 'wait'; ms: number }
  | { kind: 'buyer_pays' }
  | { kind: 'recover'; query: QueryChoice; reverse: ReverseChoice }
  /** The process dies mid-call: the vendor did what it was asked (a reverse, when one was due), nothing was recorded. */
  | { kind: 'crash' };

interface Scenario {
  pay: PayChoice;
  steps: Step[];
}

const scenarios: fc.Arbitrary<Scenario> = fc.record({
  pay: fc.constantFrom<PayChoice>('paid', 'paying', 'unknown', 'lost', 'refused'),
  steps: fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 40_000 }) }),
      fc.record({ kind: fc.constant('buyer_pays' as const) }),
      fc.record({
        kind: fc.constant('recover' as const),
        query: fc.constantFrom<QueryChoice>('truth', 'unknown'),
        reverse: fc.constantFrom<ReverseChoice>('done', 'again', 'unknown', 'silent'),
      }),
      fc.record({ kind: fc.constant('crash' as const) }),
    ),
    { maxLength: 24, size: 'medium' },
  ),
});

interface Ours {
  status: string;
  reversedAt: string | null;
  refunds: { kind: string; status: string }[];
}

/** What must hold once the vendor answers truthfully again and recovery has run its course. */
function violations(ours: Ours, vendor: VendorTrade): string[] {
  const found: string[] = [];
  const reversals = ours.refunds.filter((r) => r.kind === 'REVERSAL' && r.status === 'REFUNDED').length;
  if (!['PAID', 'FAILED', 'CLOSED'].includes(ours.status)) found.push(`left undecided: ${ours.status}`);
  if (vendor.paid && !vendor.reversed && (ours.status !== 'PAID' || reversals > 0))
    found.push(`the vendor kept the money but the payment is ${ours.status} with ${reversals} reversal refund(s)`);
  if (vendor.reversed === 'refunded' && !(ours.status === 'PAID' && reversals === 1))
    found.push(
      `the vendor returned the money on reverse but the payment is ${ours.status} with ${reversals} reversal(s)`,
    );
  if (ours.status === 'PAID' && !vendor.paid) found.push('PAID here, never paid at the vendor');
  if (ours.status === 'FAILED' && !vendor.refused) found.push('FAILED without a definite refusal');
  if (ours.status === 'CLOSED' && vendor.paid) found.push('CLOSED here while the vendor took the money');
  return found;
}

/**
 * The barcode protocol under random vendor answers, buyers, waits and crashes, against the real database and the
 * real recovery engine: after every sequence the vendor turns truthful, recovery runs its course, and the books
 * must agree with the vendor's truth. The same generator, run against the protocol with one step removed, must
 * find a sequence that breaks them — the proof that the property can fail.
 */
describe('barcode protocol, property-based (e2e, real database)', () => {
  const vendor = new ScriptedBarcodeVendor();
  const clock = new TestClock();
  const config = {
    gateways: { timeoutMs: 1500 },
    barcode: { queryEveryMs: 5000, queryForMs: 30_000, reverseNotBeforeMs: 15_000, answerWaitMs: 0, waitMaxSeconds: 1 },
    recovery: { jobsEnabled: false, reconcilerEnabled: false },
  };
  const started: RunningApp[] = [];

  afterAll(async () => {
    for (const app of started) await app.close();
  });

  async function appWith(protocol: BarcodeProtocol): Promise<RunningApp> {
    const app = await startApp([vendor, new FakeGateway('alipay'), new FakeGateway('unionpay')], clock, config, 0, [
      { provide: BARCODE_PROTOCOL, useValue: protocol },
    ]);
    started.push(app);
    return app;
  }

  /** Plays one scenario; returns what broke (nothing when the books agree). */
  async function play(running: RunningApp, scenario: Scenario): Promise<string[]> {
    const engine = running.app.get(RecoveryEngine);
    const api = (path: string) => `${running.url}${path}`;
    const orderNo = (await http('POST', api('/api/orders'), orderBody(uniqueId('prop')))).body.orderNo as string;
    vendor.next = { pay: scenario.pay, query: 'truth', reverse: 'done' };
    const paid = await http('POST', api(`/api/orders/${orderNo}/pay`), { authCode: '134567890123456789' });
    if (paid.status !== 200) return [`pay answered ${paid.status} ${JSON.stringify(paid.body)}`];
    const paymentNo = paid.body.paymentNo as string;
    const status = async () => (await http('GET', api(`/api/payments/${paymentNo}`))).body.status as string;

    for (const step of scenario.steps) {
      switch (step.kind) {
        case 'wait':
          clock.advance(step.ms);
          break;
        case 'buyer_pays':
          vendor.buyerPays(paymentNo);
          break;
        case 'recover':
          vendor.next = { pay: scenario.pay, query: step.query, reverse: step.reverse };
          await engine.runNow('payment', paymentNo);
          break;
        case 'crash':
          if ((await status()) === 'CLOSING') vendor.reverseNow(paymentNo);
          break;
      }
    }
    // The vendor answers truthfully from now on and the buyer has left: recovery must bring it to an end.
    vendor.next = { pay: scenario.pay, query: 'truth', reverse: 'done' };
    for (let round = 0; round < 20 && !['PAID', 'FAILED', 'CLOSED'].includes(await status()); round++) {
      clock.advance(5000);
      await engine.runNow('payment', paymentNo);
    }
    const ours = (await http('GET', api(`/api/payments/${paymentNo}`))).body as Ours;
    return violations(ours, vendor.trade(paymentNo));
  }

  it('with the protocol as it is, no sequence of answers, waits and crashes breaks the books', async () => {
    const running = await appWith(BARCODE_PROTOCOL_TABLE);
    await fc.assert(
      fc.asyncProperty(scenarios, async (scenario) => {
        expect(await play(running, scenario)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  }, 300_000);

  it.each([
    [
      'a reverse that asks to be called again is taken as done (the recall step removed)',
      { ...BARCODE_PROTOCOL_TABLE, reverse: { ...BARCODE_PROTOCOL_TABLE.reverse, again: 'reversed' } },
    ],
    [
      'no answer to the pay is taken as a failure (the query step removed)',
      { ...BARCODE_PROTOCOL_TABLE, pay: { ...BARCODE_PROTOCOL_TABLE.pay, unknown: 'failed' } },
    ],
    [
      'an undecided query closes the payment (the reverse step removed)',
      { ...BARCODE_PROTOCOL_TABLE, query: { ...BARCODE_PROTOCOL_TABLE.query, not_paid: 'closed' } },
    ],
  ] as [string, BarcodeProtocol][])(
    'it bites: %s is caught',
    async (_, broken) => {
      const running = await appWith(broken);
      const result = await fc.check(
        fc.asyncProperty(scenarios, async (scenario) => (await play(running, scenario)).length === 0),
        { numRuns: 300, endOnFailure: true },
      );
      expect(result.failed).toBe(true);
      await running.close();
      started.splice(started.indexOf(running), 1);
    },
    300_000,
  );
});
