import type { INestApplication } from '@nestjs/common';
import { mountQueueBoard } from './admin/queue-board';
import { createValidationPipe } from './common/errors/validation';
import { useRequestLog } from './common/logging/logging.module';
import { useHttpMetrics } from './metrics/http-metrics.middleware';
import { setupOpenApi } from './common/openapi/openapi';
import { AppConfig } from './config/app-config';
import { ordersConsumerOptions } from './orders/orders-consumer.options';

/** What main.ts and the e2e tests both apply to the app, so tests run the same stack as production. */
export function configureApp(app: INestApplication): void {
  useRequestLog(app); // first: before the body parsers and everything else
  useHttpMetrics(app); // then timing, also before the body parsers: a body that is not JSON is counted
  app.useGlobalPipes(createValidationPipe());
  setupOpenApi(app); // /docs, /docs-json, /docs-yaml
  mountQueueBoard(app); // /admin/queues, behind admin authentication
  const config = app.get(AppConfig);
  // Hybrid app: the HTTP API and the Orders consumer of payment events in one process.
  if (config.consumersEnabled) app.connectMicroservice(ordersConsumerOptions(config));
}

/** Starts the consumers connected by configureApp (before listening for HTTP). */
export async function startConsumers(app: INestApplication): Promise<void> {
  await app.startAllMicroservices();
}
