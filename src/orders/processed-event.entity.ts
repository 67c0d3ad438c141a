import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Payment events the Orders consumer has applied, written in the same transaction as the order change. */
@Entity({ name: 'order_processed_events' })
@Index('ix_order_processed_payment_version', ['paymentNo', 'version'])
@Index('ix_order_processed_order_sequence', ['orderNo', 'orderSequence'])
export class ProcessedEvent {
  @PrimaryColumn({ name: 'event_id', type: 'char', length: 36 })
  eventId: string;

  @Column({ name: 'payment_no', type: 'varchar', length: 32 })
  paymentNo: string;

  /** The payment's order (null on rows from before events carried an order sequence). */
  @Column({ name: 'order_no', type: 'varchar', length: 32, nullable: true })
  orderNo: string | null;

  @Column({ type: 'int' })
  version: number;

  /** The event's orderSequence; null for an event Orders made itself from the payment's state (its check). */
  @Column({ name: 'order_sequence', type: 'int', nullable: true })
  orderSequence: number | null;

  @Column({ type: 'varchar', length: 32 })
  type: string;

  /** applied, or why it was skipped (stale). */
  @Column({ type: 'varchar', length: 16 })
  outcome: string;

  @Column({ name: 'processed_at', type: 'datetime', precision: 3 })
  processedAt: Date;
}
