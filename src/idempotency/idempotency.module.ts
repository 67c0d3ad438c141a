import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DuplicateSubmissionInterceptor } from './duplicate-submission.interceptor';
import { IdempotencyKeyPurger } from './idempotency-key.purger';
import { IdempotencyRecord } from './idempotency-record.entity';
import { IdempotencyStore } from './idempotency.store';

export const IDEMPOTENCY_ENTITIES = [IdempotencyRecord];

/**
 * The duplicate-submission guard: the interceptor (Redis fast path; the app registers it for every route),
 * the database backstop for resources without a key column of their own (IdempotencyStore, refunds) and
 * the purge of expired keys. A module that writes through IdempotencyStore imports it; it imports no
 * feature module.
 */
@Module({
  imports: [TypeOrmModule.forFeature(IDEMPOTENCY_ENTITIES)],
  providers: [DuplicateSubmissionInterceptor, IdempotencyStore, IdempotencyKeyPurger],
  exports: [DuplicateSubmissionInterceptor, IdempotencyStore],
})
export class IdempotencyModule {}
