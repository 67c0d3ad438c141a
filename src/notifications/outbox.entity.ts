import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** A payment event waiting to be (or already) published. Written in the payment change's transaction. */
@Entity({ name: 'outbox_events' })
@Index('ix_outbox_due', ['publishedAt', 'nextAttemptAt'])
@Index('ix_outbox_application_feed', ['applicationId', 'createdAt', 'id'])
export class OutboxEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Index('uq_outbox_event_id', { unique: true })
  @Column({ name: 'event_id', type: 'char', length: 36 })
  eventId: string;

  @Column({ type: 'varchar', length: 32 })
  type: string;

  @Column({ name: 'payment_no', type: 'varchar', length: 32 })
  paymentNo: string;

  /** The application of the event's payment (as in the body); null for payments of no application. */
  @Column({ name: 'application_id', type: 'varchar', length: 32, nullable: true })
  applicationId: string | null;

  @Column({ type: 'int' })
  version: number;

  /** The exact JSON body partners receive. */
  @Column({ type: 'text' })
  body: string;

  @Column({ name: 'occurred_at', type: 'datetime', precision: 3 })
  occurredAt: Date;

  /** Due time; while a relay holds a claim it is the claim's expiry (a lease). */
  @Column({ name: 'next_attempt_at', type: 'datetime', precision: 3 })
  nextAttemptAt: Date;

  @Column({ name: 'claimed_by', type: 'varchar', length: 64, nullable: true })
  claimedBy: string | null;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ name: 'last_error', type: 'varchar', length: 512, nullable: true })
  lastError: string | null;

  @Column({ name: 'published_at', type: 'datetime', precision: 3, nullable: true })
  publishedAt: Date | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;
}

export const DELIVERY_STATUSES = ['PENDING', 'PUBLISHED', 'FAILED'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * One event for one partner: pending → published → (failed, when the partner dead-letters it or a webhook's
 * retry schedule runs out).
 */
@Entity({ name: 'event_deliveries' })
@Index('uq_delivery_event_partner', ['eventId', 'partner'], { unique: true })
@Index('ix_delivery_status_partner', ['status', 'partner', 'createdAt'])
@Index('ix_delivery_partner_due', ['partner', 'status', 'nextAttemptAt'])
export class EventDelivery {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'event_id', type: 'char', length: 36 })
  eventId: string;

  @Column({ type: 'varchar', length: 40 })
  partner: string;

  @Column({ name: 'event_type', type: 'varchar', length: 32 })
  eventType: string;

  @Column({ type: 'varchar', length: 16 })
  status: DeliveryStatus;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  /**
   * A webhook partner's delivery: when it is due (while a dispatcher holds a claim, the claim's expiry). Null for a
   * RabbitMQ partner's, which goes out with its event.
   */
  @Column({ name: 'next_attempt_at', type: 'datetime', precision: 3, nullable: true })
  nextAttemptAt: Date | null;

  @Column({ name: 'claimed_by', type: 'varchar', length: 64, nullable: true })
  claimedBy: string | null;

  /** Failed sends in the current round of a webhook's retry schedule (a replay or a retry starts a new one). */
  @Column({ name: 'schedule_step', type: 'int', default: 0 })
  scheduleStep: number;

  @Column({ name: 'last_error', type: 'varchar', length: 512, nullable: true })
  lastError: string | null;

  @Column({ name: 'published_at', type: 'datetime', precision: 3, nullable: true })
  publishedAt: Date | null;

  @Column({ name: 'failed_at', type: 'datetime', precision: 3, nullable: true })
  failedAt: Date | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt: Date;
}
