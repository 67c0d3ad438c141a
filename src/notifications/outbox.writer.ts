import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { isWebhookPartner } from '../config/setting-values';
import { afterCommit } from '../database/transaction';
import { EventDelivery, OutboxEvent } from './outbox.entity';
import { OutboxRelay } from './outbox.relay';
import { OutboxRepository } from './outbox.repository';
import { whyNotDelivered } from './partner-filter';
import { WebhookDispatcher } from './webhook/webhook.dispatcher';
import {
  eventPayment,
  eventTypeForStatus,
  isAnnouncedRefundStatus,
  type PaymentEventBody,
  type PaymentEventType,
  type PaymentFacts,
  type RefundFacts,
} from './payment-event';

/**
 * Shapes partner events from a payment (and a refund) and writes them into the outbox, and one delivery
 * record per partner that takes it (bound to its routing key, and not restricted to other applications than
 * the payment's), in the caller's transaction: the event exists if and only if the change committed, and the
 * relay is woken when it has (its poll is the net). One read of the payment's application and two plain
 * INSERTs (EntityRows): a repository's insert read each row back for its column defaults, two statements
 * more per state change.
 */
@Injectable()
export class OutboxWriter {
  constructor(
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(OutboxRelay) private readonly relay: OutboxRelay,
    @Inject(OutboxRepository) private readonly outbox: OutboxRepository,
    @Inject(WebhookDispatcher) private readonly webhooks: WebhookDispatcher,
  ) {}

  /**
   * The partner event for the payment's current state, if partners are told about it (see
   * `eventTypeForStatus`): the caller holds the payment's row lock and has written its new state and version.
   */
  async appendStatusEvent(manager: EntityManager, payment: PaymentFacts, now: Date): Promise<void> {
    const type = eventTypeForStatus(payment.status);
    if (type) await this.append(manager, type, payment, now);
  }

  /**
   * Writes `type` for the payment as it now is (the caller holds its row lock and has bumped its version),
   * with the refund it is about, if any.
   */
  async append(
    manager: EntityManager,
    type: PaymentEventType,
    payment: PaymentFacts,
    now: Date,
    refund?: RefundFacts,
  ): Promise<PaymentEventBody> {
    if (refund && !isAnnouncedRefundStatus(refund.status)) {
      throw new Error(`refund ${refund.refundNo} is ${refund.status}: no partner event`);
    }
    const body: PaymentEventBody = {
      id: randomUUID(),
      type,
      occurredAt: now.toISOString(),
      version: payment.version,
      orderSequence: await this.outbox.nextOrderSequence(manager, payment.orderNo),
      payment: eventPayment(
        {
          ...payment,
          paidAt: payment.paidAt?.toISOString() ?? null,
          closedAt: payment.closedAt?.toISOString() ?? null,
        },
        payment.applicationId,
      ),
      ...(refund
        ? {
            refund: {
              refundNo: refund.refundNo,
              kind: refund.kind,
              amountFen: refund.amountFen,
              reason: refund.reason,
              status: refund.status as NonNullable<PaymentEventBody['refund']>['status'],
              gatewayRefundNo: refund.gatewayRefundNo,
              refundedAt: refund.refundedAt?.toISOString() ?? null,
              paymentRefundedFen: refund.paymentRefundedFen,
            },
          }
        : {}),
    };
    await this.outbox.insertEvent(
      manager,
      Object.assign(new OutboxEvent(), {
        eventId: body.id,
        type: body.type,
        paymentNo: body.payment.paymentNo,
        applicationId: payment.applicationId,
        version: body.version,
        body: JSON.stringify(body),
        occurredAt: now,
        nextAttemptAt: now,
        claimedBy: null,
        attempts: 0,
        lastError: null,
        publishedAt: null,
        createdAt: now,
      }),
    );
    const partners = this.config.partners.filter(
      (p) => !whyNotDelivered(p, { type, applicationId: payment.applicationId }),
    );
    if (partners.length > 0) {
      await this.outbox.insertDeliveries(
        manager,
        partners.map((partner) =>
          Object.assign(new EventDelivery(), {
            eventId: body.id,
            partner: partner.name,
            eventType: body.type,
            status: 'PENDING' as const,
            attempts: 0,
            // A webhook partner's delivery is due now on its own schedule; a queue partner's goes with the event.
            nextAttemptAt: isWebhookPartner(partner) ? now : null,
            claimedBy: null,
            scheduleStep: 0,
            lastError: null,
            publishedAt: null,
            failedAt: null,
            createdAt: now,
            updatedAt: now,
          }),
        ),
      );
    }
    afterCommit(manager, () => {
      this.relay.kick();
      if (partners.some(isWebhookPartner)) this.webhooks.kick();
    });
    return body;
  }
}
