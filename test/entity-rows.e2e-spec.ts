import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { newOrderNo, newPaymentNo } from '../src/common/ids';
import { EntityRows } from '../src/database/entity-rows';
import { runSql } from '../src/database/sql';
import { dataSourceOptions } from '../src/database/typeorm-options';
import { Order, OrderItem } from '../src/orders/order.entity';
import { OrdersRepository } from '../src/orders/orders.repository';
import { Payment } from '../src/payment-center/payment.entity';
import { testDatabase } from './support/database';

/**
 * The money path's plain SQL (EntityRows) against MariaDB: what it writes, TypeORM's repositories read back
 * as the same entity, and the other way round — bigint keys as strings, money as numbers (the fen
 * transformer), DATETIME(3) in UTC to the millisecond, JSON credentials as objects, NULLs.
 */
describe('EntityRows: the same entities as TypeORM (integration)', () => {
  let dataSource: DataSource;
  let payments: EntityRows<Payment>;

  beforeAll(async () => {
    dataSource = new DataSource({
      ...dataSourceOptions({ ...testDatabase(), migrateOnStart: false }),
      entities: [Order, OrderItem, Payment],
    });
    await dataSource.initialize();
    payments = new EntityRows(dataSource, Payment);
  });

  afterAll(async () => {
    await dataSource.destroy();
  });

  function payment(overrides: Partial<Payment> = {}): Payment {
    const now = new Date('2026-12-01T10:20:30.456Z');
    return Object.assign(new Payment(), {
      paymentNo: newPaymentNo(new Date()),
      orderNo: newOrderNo(),
      channel: 'wechat',
      accountId: 'default',
      mode: 'barcode',
      returnUrl: null,
      payerId: null,
      appId: null,
      applicationId: null,
      amountFen: 123456789,
      currency: 'CNY',
      status: 'PAYING',
      gatewayTradeNo: null,
      payCredential: { type: 'form', action: 'https://pay.example/gateway', fields: { a: '1', 中文: '支付' } },
      gatewayRequestedAt: now,
      queryAttempts: 3,
      nextQueryAt: new Date(now.getTime() + 60_000),
      paidAmountFen: null,
      paidAt: null,
      closedAt: null,
      reversedAt: now,
      expiresAt: new Date(now.getTime() + 1_800_000),
      statusReason: null,
      version: 1,
      createdAt: now,
      updatedAt: now,
      ...overrides,
    } satisfies Omit<Payment, 'id'>);
  }

  it('a row it inserts is the entity TypeORM reads, and the entity it reads is the one TypeORM saved', async () => {
    const mine = await dataSource.transaction((manager) => payments.insert(manager, payment()));
    expect(mine.id).toMatch(/^\d+$/);
    const readByTypeorm = await dataSource.getRepository(Payment).findOneByOrFail({ paymentNo: mine.paymentNo });
    expect(readByTypeorm).toEqual(mine);

    const theirs = await dataSource.getRepository(Payment).save(
      payment({
        status: 'PAID',
        gatewayTradeNo: `42${Date.now()}${Math.floor(Math.random() * 1e6)}`, // unique: the test database keeps earlier runs' rows
        paidAmountFen: 1,
        paidAt: new Date(),
        payCredential: null,
      }),
    );
    const readByRows = await payments.selectOne(undefined, 'payment_no = ?', [theirs.paymentNo]);
    expect(readByRows).toEqual(await dataSource.getRepository(Payment).findOneByOrFail({ id: theirs.id }));
    expect(readByRows).toBeInstanceOf(Payment);
    expect(typeof readByRows?.amountFen).toBe('number');
  });

  it('update writes exactly the named fields, by primary key', async () => {
    const inserted = await dataSource.transaction((manager) => payments.insert(manager, payment()));
    const changed = Object.assign(new Payment(), inserted, {
      status: 'PAID',
      paidAmountFen: 123456789,
      paidAt: new Date('2026-12-01T10:21:00.001Z'),
      statusReason: 'left as it was', // not named below: must not be written
    });
    await dataSource.transaction((manager) => payments.update(manager, changed, ['status', 'paidAmountFen', 'paidAt']));
    const after = await dataSource.getRepository(Payment).findOneByOrFail({ id: inserted.id });
    expect(after).toEqual({ ...inserted, status: 'PAID', paidAmountFen: 123456789, paidAt: changed.paidAt });
  });

  it("an order and its lines, inserted and read back in one join, equal TypeORM's relation load", async () => {
    const orders = new OrdersRepository(dataSource);
    const now = new Date('2026-12-01T08:00:00.000Z');
    const order = Object.assign(new Order(), {
      orderNo: newOrderNo(),
      buyerId: 'buyer-rows',
      currency: 'CNY' as const,
      amountFen: 2 * 1250 + 3990,
      status: 'CREATED' as const,
      expiresAt: new Date(now.getTime() + 1_800_000),
      paymentNo: null,
      channel: null,
      nextCheckAt: null,
      version: 0,
      createdAt: now,
      updatedAt: now,
      items: [
        Object.assign(new OrderItem(), {
          lineNo: 1,
          sku: 'TEA-001',
          name: '龙井 250g',
          quantity: 2,
          unitPriceFen: 1250,
          amountFen: 2500,
        }),
        Object.assign(new OrderItem(), {
          lineNo: 2,
          sku: 'CUP-007',
          name: 'Cup',
          quantity: 1,
          unitPriceFen: 3990,
          amountFen: 3990,
        }),
      ],
    });
    await dataSource.transaction((manager) => orders.insert(manager, order));
    const mine = await orders.findByOrderNo(order.orderNo);
    const theirs = await dataSource.getRepository(Order).findOneOrFail({
      where: { orderNo: order.orderNo },
      relations: { items: true },
      order: { items: { lineNo: 'ASC' } },
    });
    expect(mine).toEqual(theirs);
    expect(mine?.items.map((item) => item.amountFen)).toEqual([2500, 3990]);
  });

  it('runSql runs on the transaction’s own connection: its writes are seen inside and rolled back with it', async () => {
    const row = payment();
    await expect(
      dataSource.transaction(async (manager) => {
        await payments.insert(manager, row);
        const [seen] = await runSql<{ n: number }[]>(
          dataSource,
          manager,
          'SELECT COUNT(*) AS n FROM payments WHERE payment_no = ?',
          [row.paymentNo],
        );
        expect(Number(seen.n)).toBe(1);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await payments.selectOne(undefined, 'payment_no = ?', [row.paymentNo])).toBeNull();
  });
});
