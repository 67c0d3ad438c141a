import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { EntityRows } from '../database/entity-rows';
import { EventDelivery, OutboxEvent } from './outbox.entity';
import { type PaymentEventBody, type PaymentEventType, topicMatches } from './payment-event';

/**
 * Writes a payment event into the outbox, and one delivery record per partner bound to its routing key,
 * in the caller's transaction: the event exists if and only if the change committed. Two plain INSERTs
 * (EntityRows): a repository's insert read each row back for its column defaults, two statements more per
 * state change.
 */
@Injectable()
export class OutboxWriter {
  private readonly eventRows: EntityRows<OutboxEvent>;
  private readonly deliveryRows: EntityRows<EventDelivery>;

  constructor(
    @Inject(AppConfig) private readonly config: AppConfig,
    @InjectDataSource() dataSource: DataSource,
  ) {
    this.eventRows = new EntityRows(dataSource, OutboxEvent);
    this.deliveryRows = new EntityRows(dataSource, EventDelivery);
  }

  async append(
    manager: EntityManager,
    event: {
      type: PaymentEventType;
      version: number;
      payment: PaymentEventBody['payment'];
      refund?: PaymentEventBody['refund'];
    },
    now: Date,
  ): Promise<PaymentEventBody> {
    const body: PaymentEventBody = {
      id: randomUUID(),
      type: event.type,
      occurredAt: now.toISOString(),
      version: event.version,
      payment: event.payment,
      ...(event.refund ? { refund: event.refund } : {}),
    };
    await this.eventRows.insert(
      manager,
      Object.assign(new OutboxEvent(), {
        eventId: body.id,
        type: body.type,
        paymentNo: body.payment.paymentNo,
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
    const partners = this.config.partners.filter((p) => p.bindings.some((b) => topicMatches(b, body.type)));
    if (partners.length > 0) {
      await this.deliveryRows.insertMany(
        manager,
        partners.map((partner) =>
          Object.assign(new EventDelivery(), {
            eventId: body.id,
            partner: partner.name,
            eventType: body.type,
            status: 'PENDING' as const,
            attempts: 0,
            lastError: null,
            publishedAt: null,
            failedAt: null,
            createdAt: now,
            updatedAt: now,
          }),
        ),
      );
    }
    return body;
  }
}
