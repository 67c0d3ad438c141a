import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { addLogContext } from '../common/logging/log-context';
import { DomainError } from '../common/errors/domain-error';
import { inTransaction } from '../database/transaction';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { NotificationRejected, type RejectionReason } from '../gateways/notification-rejected';
import type { Channel, GatewayAck, GatewayNotification, RawNotification } from '../gateways/gateway.types';
import type { PaymentGateway } from '../gateways/payment-gateway';
import { MetricsService } from '../metrics/metrics.service';
import { describe, eventOf } from './gateway-answers';
import { NotificationReplays } from './intake/notification-replays.store';
import { OrphanNotificationsRepository } from './intake/orphan-notifications.repository';
import { isFinal } from './payment-state-machine';
import { PaymentStateService } from './payment-state.service';
import { PaymentNotFound } from './payment-errors';
import { PaymentsRepository } from './payments.repository';
import { RefundStateService } from './refunds/refund-state.service';
import { RefundsRepository } from './refunds/refunds.repository';

/** Why a notification was refused (a metric label): the adapter's reason, or what the lookup found. */
type RefusalReason =
  | RejectionReason
  | 'unknown_payment'
  | 'unknown_refund'
  | 'channel_mismatch'
  | 'unknown_account'
  | 'account_mismatch'
  | 'error';

type PaymentNotification = Extract<GatewayNotification, { kind: 'payment' }>;
type RefundNotification = Extract<GatewayNotification, { kind: 'refund' }>;

/**
 * A vendor's asynchronous notification: verify (in the adapter) → apply through the one locked state
 * change of the payment, or of the refund (a duplicate, reordered or late notification is a no-op there) →
 * acknowledge the vendor's way.
 * A notification the vendor gave an id (WeChat, Alipay) is applied once: its id is recorded in the applying
 * transaction, and a replay of it is acknowledged without being applied again (NotificationReplays).
 * A verified notification for a payment number we do not know is kept as an orphan and acknowledged: the
 * vendor would only resend it for a day, and nothing here can make it a payment.
 * Nothing slow runs here: the event for partners is an outbox row in the same transaction.
 */
@Injectable()
export class NotificationIntakeUseCase {
  private readonly logger = new Logger(NotificationIntakeUseCase.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(GatewayRegistry) private readonly gateways: GatewayRegistry,
    @Inject(PaymentStateService) private readonly state: PaymentStateService,
    @Inject(PaymentsRepository) private readonly payments: PaymentsRepository,
    @Inject(RefundsRepository) private readonly refunds: RefundsRepository,
    @Inject(RefundStateService) private readonly refundState: RefundStateService,
    @Inject(NotificationReplays) private readonly replays: NotificationReplays,
    @Inject(OrphanNotificationsRepository) private readonly orphans: OrphanNotificationsRepository,
    @Inject(MetricsService) private readonly metrics: MetricsService,
  ) {}

  /**
   * `accountId` is the account the notify URL names: only its keys verify (and, for WeChat, decrypt) the
   * notification, and it must be the account the payment or refund was made with.
   */
  async execute(channel: Channel, accountId: string, raw: RawNotification): Promise<GatewayAck> {
    const gateway = await this.gateways.find(channel, accountId);
    if (!gateway) {
      const fallback = this.gateways.get(channel);
      return this.refuse(
        channel,
        fallback.acknowledge.bind(fallback),
        `no ${channel} account ${accountId}`,
        'unknown_account',
      );
    }
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
    const id = notification.notificationId;
    if (id && (await this.replays.seenRecently(channel, id))) return this.replayed(channel, gateway, id, 'redis');
    return notification.kind === 'refund'
      ? this.applyRefund(channel, accountId, gateway, notification)
      : this.applyPayment(channel, accountId, gateway, notification, raw);
  }

  private async applyRefund(
    channel: Channel,
    accountId: string,
    gateway: PaymentGateway,
    notification: RefundNotification,
  ): Promise<GatewayAck> {
    const ack = gateway.acknowledge.bind(gateway);
    const refund = await this.refunds.findByRefundNo(notification.refundNo);
    if (!refund) return this.refuse(channel, ack, `unknown refund ${notification.refundNo}`, 'unknown_refund');
    if (refund.channel !== channel)
      return this.refuse(channel, ack, `refund ${refund.refundNo} is a ${refund.channel} refund`, 'channel_mismatch');
    if (refund.accountId !== accountId) {
      const why = `refund ${refund.refundNo} was made with another account than ${accountId}`;
      return this.refuse(channel, ack, why, 'account_mismatch');
    }
    const id = notification.notificationId;
    // A definite result settles it (a repeat changes nothing) once its amount and trade match the refund;
    // anything else is left to the refund's queries.
    const outcome = await inTransaction(this.dataSource, async (manager) => {
      if (id && !(await this.replays.claim(manager, channel, id))) return 'replayed';
      await this.refundState.settle(refund.refundNo, notification.result, manager, notification.facts);
      return 'settled';
    });
    if (outcome === 'replayed') return this.replayed(channel, gateway, id ?? '', 'database');
    if (id) this.replays.remember(channel, id);
    return gateway.acknowledge({ accepted: true });
  }

  private async applyPayment(
    channel: Channel,
    accountId: string,
    gateway: PaymentGateway,
    notification: PaymentNotification,
    raw: RawNotification,
  ): Promise<GatewayAck> {
    const ack = gateway.acknowledge.bind(gateway);
    const payment = await this.payments.findByPaymentNo(notification.paymentNo);
    if (!payment) return this.keepOrphan(channel, gateway, notification, raw);
    if (payment.channel !== channel) {
      return this.refuse(
        channel,
        ack,
        `payment ${payment.paymentNo} is a ${payment.channel} payment`,
        'channel_mismatch',
      );
    }
    // Verified by one account, about a trade of another: never believed (the account's own URL and keys only).
    if (payment.accountId !== accountId) {
      const why = `payment ${payment.paymentNo} was made with another account than ${accountId}`;
      return this.refuse(channel, ack, why, 'account_mismatch');
    }
    const event = eventOf(notification.result);
    // A payment read as PAID is as it will stay (every event is a no-op there): a repeat of its result is
    // acknowledged without a transaction, so the vendor's resends never wait behind the payment's locks.
    if (!event || isFinal(payment.status)) return gateway.acknowledge({ accepted: true });
    const id = notification.notificationId;
    try {
      const claimed = await inTransaction(this.dataSource, async (manager) => {
        if (id && !(await this.replays.claim(manager, channel, id))) return false;
        await this.state.apply(payment, event, manager);
        return true;
      });
      if (!claimed) return this.replayed(channel, gateway, id ?? '', 'database');
      if (id) this.replays.remember(channel, id);
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
    return gateway.acknowledge({ accepted: true });
  }

  /**
   * Signed by the vendor for our merchant, but for a payment number we do not have: stored (once per trade)
   * for an operator and reconciliation, counted, and acknowledged so the vendor stops resending. Nothing
   * else is created: no payment, no order, no event.
   */
  private async keepOrphan(
    channel: Channel,
    gateway: PaymentGateway,
    notification: PaymentNotification,
    raw: RawNotification,
  ): Promise<GatewayAck> {
    const { result } = notification;
    const paid = result.kind === 'paid' ? result : undefined;
    const stored = await this.orphans.record({
      channel,
      paymentNo: notification.paymentNo.slice(0, 64),
      gatewayTradeNo: paid?.gatewayTradeNo.slice(0, 64),
      result: result.kind,
      amountFen: paid?.paidAmountFen,
      rawBody: raw.rawBody.toString('utf8'),
    });
    if (stored === 'new') this.metrics.orphanNotification(channel, result.kind);
    this.logger.warn(
      `${channel} notification for unknown payment ${notification.paymentNo} (${describe(result)}) ` +
        `kept as an orphan${stored === 'new' ? '' : ' (again)'}`,
    );
    return gateway.acknowledge({ accepted: true });
  }

  /** Applied before (the same notification id): acknowledged, so the vendor stops, and not applied again. */
  private replayed(channel: Channel, gateway: PaymentGateway, id: string, caughtBy: 'redis' | 'database') {
    this.metrics.notificationReplayed(channel, caughtBy);
    this.logger.log(`${channel} notification ${id} was applied before (${caughtBy}): acknowledged, not applied again`);
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
