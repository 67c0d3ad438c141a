import { Inject, Injectable, Logger } from '@nestjs/common';
import { addLogContext } from '../common/logging/log-context';
import { DomainError } from '../common/errors/domain-error';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { NotificationRejected, type RejectionReason } from '../gateways/notification-rejected';
import type { Channel, GatewayAck, GatewayNotification, RawNotification } from '../gateways/gateway.types';
import { MetricsService } from '../metrics/metrics.service';
import { eventOf } from './gateway-answers';
import { isFinal } from './payment-state-machine';
import { PaymentStateService } from './payment-state.service';
import { PaymentNotFound } from './payment-errors';
import { PaymentsRepository } from './payments.repository';
import { RefundStateService } from './refunds/refund-state.service';
import { RefundsRepository } from './refunds/refunds.repository';

/** Why a notification was refused (a metric label): the adapter's reason, or what the lookup found. */
type RefusalReason = RejectionReason | 'unknown_payment' | 'unknown_refund' | 'channel_mismatch' | 'error';

/**
 * A vendor's asynchronous notification: verify (in the adapter) → apply through the one locked state
 * change of the payment, or of the refund (a duplicate, reordered or late notification is a no-op there) →
 * acknowledge the vendor's way.
 * Nothing slow runs here: the event for partners is an outbox row in the same transaction.
 */
@Injectable()
export class NotificationIntakeUseCase {
  private readonly logger = new Logger(NotificationIntakeUseCase.name);

  constructor(
    @Inject(GatewayRegistry) private readonly gateways: GatewayRegistry,
    @Inject(PaymentStateService) private readonly state: PaymentStateService,
    @Inject(PaymentsRepository) private readonly payments: PaymentsRepository,
    @Inject(RefundsRepository) private readonly refunds: RefundsRepository,
    @Inject(RefundStateService) private readonly refundState: RefundStateService,
    @Inject(MetricsService) private readonly metrics: MetricsService,
  ) {}

  async execute(channel: Channel, raw: RawNotification): Promise<GatewayAck> {
    const gateway = this.gateways.get(channel);
    const ack = gateway.acknowledge.bind(gateway);
    let notification: GatewayNotification;
    try {
      notification = await gateway.parseNotification(raw);
    } catch (error) {
      const reason = error instanceof NotificationRejected ? error.reason : 'error'; // 'error': an adapter bug
      return this.refuse(channel, ack, (error as Error).message, reason);
    }
    addLogContext(
      notification.kind === 'refund' ? { refundNo: notification.refundNo } : { paymentNo: notification.paymentNo },
    );
    this.logger.log(`${channel} ${notification.kind} notification verified`);
    if (notification.kind === 'refund') {
      const refund = await this.refunds.findByRefundNo(notification.refundNo);
      if (!refund) return this.refuse(channel, ack, `unknown refund ${notification.refundNo}`, 'unknown_refund');
      if (refund.channel !== channel)
        return this.refuse(channel, ack, `refund ${refund.refundNo} is a ${refund.channel} refund`, 'channel_mismatch');
      // A definite result settles it (a repeat changes nothing); anything else is left to the refund's queries.
      await this.refundState.settle(refund.refundNo, notification.result);
      return gateway.acknowledge({ accepted: true });
    }
    const payment = await this.payments.findByPaymentNo(notification.paymentNo);
    if (!payment) {
      return this.refuse(channel, ack, `unknown payment ${notification.paymentNo}`, 'unknown_payment');
    }
    if (payment.channel !== channel) {
      return this.refuse(
        channel,
        ack,
        `payment ${payment.paymentNo} is a ${payment.channel} payment`,
        'channel_mismatch',
      );
    }
    const event = eventOf(notification.result);
    // A payment read as PAID is as it will stay (every event is a no-op there): a repeat of its result is
    // acknowledged without a transaction, so the vendor's resends never wait behind the payment's locks.
    if (event && isFinal(payment.status)) return gateway.acknowledge({ accepted: true });
    if (event) {
      try {
        await this.state.apply(payment, event);
      } catch (error) {
        if (error instanceof PaymentNotFound) {
          return this.refuse(channel, ack, error.message, 'unknown_payment');
        }
        if (error instanceof DomainError) {
          this.logger.warn(`${channel} notification for ${notification.paymentNo}: ${error.message}`);
          return gateway.acknowledge({ accepted: true }); // a fact we recorded or cannot use; resending won't help
        }
        throw error; // database down: the vendor resends
      }
    }
    return gateway.acknowledge({ accepted: true });
  }

  private refuse(
    channel: Channel,
    acknowledge: (o: { accepted: false; reason: string }) => GatewayAck,
    reason: string,
    kind: RefusalReason,
  ) {
    this.metrics.notificationRefused(channel, kind);
    this.logger.warn(`${channel} notification refused: ${reason}`);
    return acknowledge({ accepted: false, reason });
  }
}
