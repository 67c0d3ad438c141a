import { Body, Controller, HttpCode, HttpStatus, Inject, Module, Post } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { SkipIdempotency } from '../../src/idempotency/idempotency-context';
import { CreateOrderDto } from '../../src/orders/dto/create-order.dto';
import { OrdersService } from '../../src/orders/orders.service';

/**
 * Endpoints that exist only in the benchmark's app, to measure against:
 * - POST /bench/noop: the whole HTTP stack (Express, logging, metrics, interceptors, validation pipe) and
 *   nothing else: the ceiling of any endpoint in this app.
 * - POST /bench/orders: POST /api/orders without the duplicate-submission guard (no Redis, the order's key
 *   column left NULL),
 *   the same OrdersService.create otherwise.
 */
@Controller('bench')
export class ProbeController {
  constructor(@Inject(ModuleRef) private readonly moduleRef: ModuleRef) {}

  @Post('noop')
  @HttpCode(HttpStatus.OK)
  @SkipIdempotency()
  noop(): { ok: true } {
    return { ok: true };
  }

  @Post('orders')
  @SkipIdempotency()
  createUnguarded(@Body() dto: CreateOrderDto) {
    return this.moduleRef.get(OrdersService, { strict: false }).create('app_bench_unguarded', dto, undefined);
  }
}

@Module({ controllers: [ProbeController] })
export class ProbeModule {}
