import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { DatabaseGauges } from './database-gauges';
import { MatchedRouteGuard } from './http-metrics.middleware';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { MetricsTokenGuard } from './metrics-token.guard';

/**
 * Prometheus metrics at GET /metrics. Global so that any module (common/ included) records through
 * MetricsService without importing this module; it imports no feature module itself. HTTP requests are
 * timed by useHttpMetrics, which configureApp mounts.
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [MetricsService, DatabaseGauges, MetricsTokenGuard, { provide: APP_GUARD, useClass: MatchedRouteGuard }],
  exports: [MetricsService, DatabaseGauges],
})
export class MetricsModule {}
