import type { INestApplication } from '@nestjs/common';
import { mountQueueBoard } from './admin/queue-board';
import { createValidationPipe } from './common/errors/validation';
import { useRequestLog } from './common/logging/logging.module';
import { useHttpMetrics } from './metrics/http-metrics.middleware';
import { setupOpenApi } from './common/openapi/openapi';
import { AppConfig } from './config/app-config';
import { httpPlatform } from './common/http-platform';
import { ordersConsumerOptions } from './orders/orders-consumer.options';

/**
 * What main.ts and the e2e tests both apply to the app, so tests run the same stack as production. main.ts
 * runs on Express; on Fastify (bench/app-server.ts with BENCH_PLATFORM=fastify, measuring issue 27's first
 * lever) the checkout path runs the same, and the pieces that ride on Express only (trust proxy, Swagger UI,
 * the queue board) are not mounted: see docs/testing.md, "Express and Fastify".
 */
export function configureApp(app: INestApplication): void {
  const config = app.get(AppConfig);
  const express = httpPlatform(app) === 'express';
  // Before anything reads req.secure or req.ip: behind a TLS-terminating proxy they come from its headers.
  // Fastify takes it as its adapter's `trustProxy` option, when the app is created.
  if (express) {
    (app.getHttpAdapter().getInstance() as { set(setting: string, value: unknown): void }).set(
      'trust proxy',
      config.trustProxy,
    );
  }
  useRequestLog(app); // first: before the body parsers and everything else
  useHttpMetrics(app); // then timing, also before the body parsers: a body that is not JSON is counted
  app.useGlobalPipes(createValidationPipe());
  if (express) {
    setupOpenApi(app); // /docs, /docs-json, /docs-yaml
    mountQueueBoard(app); // /admin/queues, behind admin authentication
  }
  // Hybrid app: the HTTP API and the Orders consumer of payment events in one process.
  if (config.consumersEnabled) app.connectMicroservice(ordersConsumerOptions(config));
}

/** Starts the consumers connected by configureApp (before listening for HTTP). */
export async function startConsumers(app: INestApplication): Promise<void> {
  await app.startAllMicroservices();
}
