import { Body, Controller, Get, HttpCode, HttpStatus, Inject, Param, Post } from '@nestjs/common';
import { Idempotency, type IdempotencyContext } from '../common/idempotency/idempotency-context';
import { CreateOrderDto } from './dto/create-order.dto';
import { PayOrderDto } from './dto/pay-order.dto';
import { OrdersService } from './orders.service';

@Controller('api/orders')
export class OrdersController {
  constructor(@Inject(OrdersService) private readonly orders: OrdersService) {}

  @Post()
  create(@Body() dto: CreateOrderDto, @Idempotency() guard: IdempotencyContext | undefined) {
    return this.orders.create(dto, guard);
  }

  @Get(':orderNo')
  get(@Param('orderNo') orderNo: string) {
    return this.orders.get(orderNo);
  }

  @Post(':orderNo/pay')
  @HttpCode(HttpStatus.OK)
  pay(@Param('orderNo') orderNo: string, @Body() dto: PayOrderDto) {
    return this.orders.pay(orderNo, dto.channel);
  }
}
