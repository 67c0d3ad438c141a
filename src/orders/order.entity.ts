import {
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  OneToMany,
  PrimaryGeneratedColumn,
  type Relation,
} from 'typeorm';
import { fenColumn, type Fen } from '../common/money';
import type { Channel } from '../gateways/gateway.types';
import type { OrderStatus } from './order-state';

@Entity({ name: 'orders' })
export class Order {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Index('uq_orders_order_no', { unique: true })
  @Column({ name: 'order_no', type: 'varchar', length: 32 })
  orderNo: string;

  @Index('ix_orders_buyer')
  @Column({ name: 'buyer_id', type: 'varchar', length: 64 })
  buyerId: string;

  /** The application that created the order; only it sees the order, its payments and refunds. */
  @Column({ name: 'application_id', type: 'varchar', length: 32, nullable: true })
  applicationId: string | null;

  @Column({ type: 'char', length: 3 })
  currency: 'CNY';

  @Column({ name: 'amount_fen', type: 'bigint', transformer: fenColumn })
  amountFen: Fen;

  @Column({ type: 'varchar', length: 16 })
  status: OrderStatus;

  @Column({ name: 'expires_at', type: 'datetime', precision: 3 })
  expiresAt: Date;

  /** The payment most recently started for this order (the PaymentCenter owns the payment itself). */
  @Column({ name: 'payment_no', type: 'varchar', length: 32, nullable: true })
  paymentNo: string | null;

  @Column({ type: 'varchar', length: 16, nullable: true })
  channel: Channel | null;

  /** The aggregate code's secret (32 hex digits), once asked for: `/pay/code/{checkoutCode}` pays this order. */
  @Column({ name: 'checkout_code', type: 'char', length: 32, nullable: true })
  checkoutCode: string | null;

  /** When Orders' own timer next looks at this order (null once it is PAID or CLOSED). */
  @Index('ix_orders_next_check')
  @Column({ name: 'next_check_at', type: 'datetime', precision: 3, nullable: true })
  nextCheckAt: Date | null;

  @Column({ type: 'int', default: 0 })
  version: number;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt: Date;

  /**
   * The duplicate-submission key the order was created under (see OrdersService.create), with the request
   * it stands for and until when it holds. The unique index makes the order's INSERT the key's claim; a
   * key whose time is up is cleared when the same key comes again, so it can name a new order.
   */
  @Index('uq_orders_idempotency_key', { unique: true })
  @Column({ name: 'idempotency_key', type: 'varchar', length: 66, nullable: true })
  idempotencyKey: string | null;

  @Column({ name: 'idempotency_request_hash', type: 'char', length: 64, nullable: true })
  idempotencyRequestHash: string | null;

  @Column({ name: 'idempotency_expires_at', type: 'datetime', precision: 3, nullable: true })
  idempotencyExpiresAt: Date | null;

  @OneToMany(() => OrderItem, (item) => item.order, { cascade: ['insert'] })
  items: Relation<OrderItem[]>;
}

@Entity({ name: 'order_items' })
export class OrderItem {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @ManyToOne(() => Order, (order) => order.items, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'order_id' })
  order: Relation<Order>;

  @Column({ name: 'line_no', type: 'int' })
  lineNo: number;

  @Column({ type: 'varchar', length: 64 })
  sku: string;

  @Column({ type: 'varchar', length: 128 })
  name: string;

  @Column({ type: 'int' })
  quantity: number;

  @Column({ name: 'unit_price_fen', type: 'bigint', transformer: fenColumn })
  unitPriceFen: Fen;

  @Column({ name: 'amount_fen', type: 'bigint', transformer: fenColumn })
  amountFen: Fen;
}
