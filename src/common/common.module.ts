import { Global, Module } from '@nestjs/common';
import { Clock } from './clock';
import { IdempotencyKeyPurger } from './idempotency/idempotency-key.purger';
import { IdempotencyStore } from './idempotency/idempotency.store';

@Global()
@Module({
  providers: [Clock, IdempotencyStore, IdempotencyKeyPurger],
  exports: [Clock, IdempotencyStore],
})
export class CommonModule {}
