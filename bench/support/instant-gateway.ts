import type {
  BarcodePayRequest,
  BarcodePayResult,
  Channel,
  CloseResult,
  CreatePaymentRequest,
  CreatePaymentResult,
  GatewayAck,
  GatewayNotification,
  GatewayResult,
  RawNotification,
  RefundResult,
  StatementResult,
} from '../../src/gateways/gateway.types';
import { PaymentGateway } from '../../src/gateways/payment-gateway';

/**
 * A vendor that answers at once, so the benchmarks measure the Payment Center and not a vendor's latency:
 * creating a trade returns a code URL immediately, a buyer's payment code is paid at once (the counter's
 * pay-at-once case), a query says "not paid yet". Callbacks are still
 * verified by the real adapter of the channel (signature, decryption, merchant ids), when one is given.
 */
export class InstantGateway extends PaymentGateway {
  constructor(
    readonly channel: Channel,
    private readonly verifier?: PaymentGateway,
  ) {
    super();
  }

  createPayment(request: CreatePaymentRequest): Promise<CreatePaymentResult> {
    return Promise.resolve({
      kind: 'created',
      credential: { type: 'code_url', codeUrl: `bench://${this.channel}/${request.paymentNo}` },
    });
  }

  override barcodeUnsupported(): string | undefined {
    return undefined;
  }

  /** Paid in full; the trade number is the payment's, so it is unique per channel as the schema requires. */
  override payByCode(request: BarcodePayRequest): Promise<BarcodePayResult> {
    return Promise.resolve({
      kind: 'paid',
      gatewayTradeNo: `bench-${request.paymentNo}`,
      paidAmountFen: request.amountFen,
      paidAt: new Date(),
    });
  }

  query(): Promise<GatewayResult> {
    return Promise.resolve({ kind: 'not_paid' });
  }

  close(): Promise<CloseResult> {
    return Promise.resolve({ kind: 'closed' });
  }

  refund(): Promise<RefundResult> {
    return Promise.resolve({ kind: 'processing' });
  }

  queryRefund(): Promise<RefundResult> {
    return Promise.resolve({ kind: 'processing' });
  }

  fetchStatement(): Promise<StatementResult> {
    return Promise.resolve({ kind: 'empty' });
  }

  parseNotification(notification: RawNotification): Promise<GatewayNotification> {
    if (!this.verifier) return Promise.reject(new Error(`no ${this.channel} verifier in this benchmark`));
    return this.verifier.parseNotification(notification);
  }

  acknowledge(outcome: { accepted: true } | { accepted: false; reason: string }): GatewayAck {
    if (this.verifier) return this.verifier.acknowledge(outcome);
    return { status: outcome.accepted ? 204 : 400, headers: {}, body: '' };
  }
}
