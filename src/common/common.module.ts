import { Global, Module } from '@nestjs/common';
import { Clock } from './clock';
import { IdempotencyStore } from './idempotency/idempotency.store';

@Global()
@Module({
  providers: [Clock, IdempotencyStore],
  exports: [Clock, IdempotencyStore],
})
export class CommonModule {}
