import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Order } from './order.entity';

@Injectable()
export class OrdersRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  findByOrderNo(orderNo: string, manager?: EntityManager): Promise<Order | null> {
    return (manager ?? this.dataSource.manager)
      .getRepository(Order)
      .findOne({ where: { orderNo }, relations: { items: true } });
  }

  lockByOrderNo(manager: EntityManager, orderNo: string): Promise<Order | null> {
    return manager
      .getRepository(Order)
      .createQueryBuilder('o')
      .setLock('pessimistic_write')
      .where('o.orderNo = :orderNo', { orderNo })
      .getOne();
  }

  async insert(manager: EntityManager, order: Order): Promise<void> {
    await manager.getRepository(Order).save(order);
  }

  async save(manager: EntityManager, order: Order): Promise<void> {
    await manager.getRepository(Order).save(order);
  }
}
