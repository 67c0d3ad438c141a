import type {
  Channel,
  CloseResult,
  CreatePaymentRequest,
  CreatePaymentResult,
  GatewayAck,
  GatewayNotification,
  GatewayResult,
  RefundResult,
  StatementResult,
} from '../../src/gateways/gateway.types';
import { PaymentGateway } from '../../src/gateways/payment-gateway';

export type CreateBehaviour = 'create' | 'reject' | 'unknown' | 'hang';

/**
 * A test-only adapter: records every call and answers as told. It stands in for a vendor until the real
 * adapters and the sandbox exist; it is registered in test modules only.
 */
export class FakeGateway extends PaymentGateway {
  readonly createCalls: CreatePaymentRequest[] = [];
  behaviour: CreateBehaviour = 'create';
  delayMs = 0;

  constructor(readonly channel: Channel) {
    super();
  }

  async createPayment(request: CreatePaymentRequest): Promise<CreatePaymentResult> {
    this.createCalls.push(request);
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    switch (this.behaviour) {
      case 'create':
        return {
          kind: 'created',
          credential: { type: 'code_url', codeUrl: `fake://${this.channel}/${request.paymentNo}` },
        };
      case 'reject':
        return { kind: 'rejected', code: 'INVALID_REQUEST', message: 'refused by the fake vendor' };
      case 'unknown':
        return { kind: 'unknown', reason: 'HTTP 503 from the fake vendor' };
      case 'hang':
        return new Promise<CreatePaymentResult>(() => undefined);
    }
  }

  callsFor(paymentNo: string): number {
    return this.createCalls.filter((call) => call.paymentNo === paymentNo).length;
  }

  readonly queryCalls: string[] = [];
  queryResult: GatewayResult = { kind: 'not_paid' };

  query(paymentNo: string): Promise<GatewayResult> {
    this.queryCalls.push(paymentNo);
    return Promise.resolve(this.queryResult);
  }

  close(): Promise<CloseResult> {
    return Promise.resolve({ kind: 'closed' });
  }

  refund(): Promise<RefundResult> {
    return Promise.resolve({ kind: 'unknown', reason: 'not supported by the fake' });
  }

  queryRefund(): Promise<RefundResult> {
    return Promise.resolve({ kind: 'unknown', reason: 'not supported by the fake' });
  }

  fetchStatement(): Promise<StatementResult> {
    return Promise.resolve({ kind: 'empty' });
  }

  parseNotification(): Promise<GatewayNotification> {
    return Promise.reject(new Error('not supported by the fake'));
  }

  acknowledge(): GatewayAck {
    return { status: 200, headers: {}, body: '' };
  }
}

export function fakeGateways(channels: Channel[] = ['wechat', 'alipay', 'unionpay']): Record<Channel, FakeGateway> {
  const all = {} as Record<Channel, FakeGateway>;
  for (const channel of channels) all[channel] = new FakeGateway(channel);
  return all;
}
