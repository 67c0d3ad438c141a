import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Payment, PaymentAttempt, PaymentIntent, PaymentTransition } from './payment.entity';

/** All SQL on payment tables. Methods named lock* take row locks and need the caller's transaction. */
@Injectable()
export class PaymentsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Records the order's intent if it is new, in its own autocommitted statement: the start transaction then
   * only ever locks an existing row (a record lock, no gap locks that deadlock concurrent first starts).
   */
  async ensureIntent(intent: Omit<PaymentIntent, 'id'>): Promise<void> {
    await this.dataSource.query(
      `INSERT IGNORE INTO payment_intents (order_no, amount_fen, currency, description, expires_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
      [intent.orderNo, intent.amountFen, intent.currency, intent.description, intent.expiresAt, intent.createdAt],
    );
  }

  lockIntent(manager: EntityManager, orderNo: string): Promise<PaymentIntent> {
    return manager
      .getRepository(PaymentIntent)
      .createQueryBuilder('i')
      .setLock('pessimistic_write')
      .where('i.orderNo = :orderNo', { orderNo })
      .getOneOrFail();
  }

  /** The intent row lock, when the order has one (payments made outside the start use case may not). */
  async lockIntentIfAny(manager: EntityManager, orderNo: string): Promise<void> {
    await manager
      .getRepository(PaymentIntent)
      .createQueryBuilder('i')
      .setLock('pessimistic_write')
      .where('i.orderNo = :orderNo', { orderNo })
      .getOne();
  }

  /** A payment's order number (it never changes, so no lock is needed to read it). */
  async orderNoOf(manager: EntityManager, paymentNo: string): Promise<string | undefined> {
    const payment = await manager.getRepository(Payment).findOne({ select: { orderNo: true }, where: { paymentNo } });
    return payment?.orderNo;
  }

  lockByPaymentNo(manager: EntityManager, paymentNo: string): Promise<Payment | null> {
    return manager
      .getRepository(Payment)
      .createQueryBuilder('p')
      .setLock('pessimistic_write')
      .where('p.paymentNo = :paymentNo', { paymentNo })
      .getOne();
  }

  findByOrderNo(manager: EntityManager | undefined, orderNo: string): Promise<Payment[]> {
    return (manager ?? this.dataSource.manager)
      .getRepository(Payment)
      .find({ where: { orderNo }, order: { id: 'ASC' } });
  }

  /**
   * The order's payments as last committed, for decisions made under the intent lock. FOR UPDATE, not a
   * shared lock: TypeORM 1.1 writes `pessimistic_read` as `FOR SHARE`, which MariaDB does not accept.
   */
  readOrderPaymentsLocked(manager: EntityManager, orderNo: string): Promise<Payment[]> {
    return manager
      .getRepository(Payment)
      .createQueryBuilder('p')
      .setLock('pessimistic_write')
      .where('p.orderNo = :orderNo', { orderNo })
      .getMany();
  }

  findByGatewayTradeNo(
    manager: EntityManager,
    channel: Payment['channel'],
    gatewayTradeNo: string,
  ): Promise<Payment | null> {
    return manager.getRepository(Payment).findOneBy({ channel, gatewayTradeNo });
  }

  /** The newest-changed payments in a status (ix_payments_status_updated), for operators. */
  findByStatus(status: Payment['status'], limit: number, channel?: Payment['channel']): Promise<Payment[]> {
    return this.dataSource.getRepository(Payment).find({
      where: channel ? { status, channel } : { status },
      order: { updatedAt: 'DESC', id: 'DESC' },
      take: limit,
    });
  }

  findByPaymentNo(paymentNo: string): Promise<Payment | null> {
    return this.dataSource.getRepository(Payment).findOneBy({ paymentNo });
  }

  insert(manager: EntityManager, payment: Omit<Payment, 'id'>): Promise<Payment> {
    const repository = manager.getRepository(Payment);
    return repository.save(repository.create(payment));
  }

  async save(manager: EntityManager, payment: Payment): Promise<void> {
    await manager.getRepository(Payment).save(payment);
  }

  async appendTransition(manager: EntityManager, transition: Omit<PaymentTransition, 'id'>): Promise<void> {
    await manager.getRepository(PaymentTransition).insert(transition);
  }

  transitionsOf(paymentNo: string): Promise<PaymentTransition[]> {
    return this.dataSource.getRepository(PaymentTransition).find({ where: { paymentNo }, order: { id: 'ASC' } });
  }

  attemptsOf(paymentNo: string): Promise<PaymentAttempt[]> {
    return this.dataSource.getRepository(PaymentAttempt).find({ where: { paymentNo }, order: { id: 'ASC' } });
  }
}
