import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AdminAudit } from './admin-audit.entity';
import { AdminAuditLog } from './admin-audit-log';
import { AdminAuthGuard } from './admin-auth.guard';

export const ADMIN_AUTH_ENTITIES = [AdminAudit];

/**
 * Operators' authentication (AdminAuthGuard: ADMIN_TOKENS with scopes) and the audit table every operator
 * action and refused sign-in is written to. Imports no feature module, so any module with an operator
 * controller (admin, reconciliation) imports it without a cycle.
 */
@Module({
  imports: [TypeOrmModule.forFeature(ADMIN_AUTH_ENTITIES)],
  providers: [AdminAuthGuard, AdminAuditLog],
  exports: [AdminAuthGuard, AdminAuditLog],
})
export class AdminAuthModule {}
