import type { GatewayResult } from '../gateways/gateway.types';
import type { PaymentEvent } from './payment-state.service';

/** The state change a gateway's answer calls for; none while it is not definite. */
export function eventOf(result: GatewayResult): PaymentEvent | undefined {
  switch (result.kind) {
    case 'paid':
      return {
        type: 'PAID_CONFIRMED',
        gatewayTradeNo: result.gatewayTradeNo,
        paidAmountFen: result.paidAmountFen,
        paidAt: result.paidAt,
      };
    case 'closed':
      return { type: 'CLOSED_CONFIRMED' };
    case 'failed':
      return { type: 'FAILED_CONFIRMED', reason: `${result.code}: ${result.message}` };
    case 'not_paid':
    case 'unknown':
      return undefined;
  }
}

/** One line for the attempt log and the payment's status reason. */
export function describe(result: GatewayResult): string {
  switch (result.kind) {
    case 'paid':
      return `paid (trade ${result.gatewayTradeNo}, ${result.paidAmountFen} fen)`;
    case 'not_paid':
      return 'not paid yet';
    case 'closed':
      return 'closed at the gateway';
    case 'failed':
      return `failed: ${result.code} ${result.message}`;
    case 'unknown':
      return `no answer: ${result.reason}`;
  }
}
