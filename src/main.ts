import 'reflect-metadata';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { validateEnvironment } from './config/environment';
import { isProduction } from './config/fail-closed';
import { provideLocalSecrets } from './config/local-secrets';

async function bootstrap(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  // Into process.env, so the configuration module reads the same values as the validation below.
  const generated = provideLocalSecrets(process.env);
  // Validate before any module is loaded so a bad value stops the process with the key's name, no stack.
  const env = validateEnvironment(process.env);
  const { AppModule } = await import('./app.module.js');
  const { configureApp, startConsumers } = await import('./app.setup.js');
  const app = await NestFactory.create(AppModule, {
    rawBody: true, // vendor callback signatures cover the exact bytes
    bufferLogs: true, // Nest's own start-up lines go to the JSON logger too
  });
  const logger = app.get(Logger);
  app.useLogger(logger);
  for (const line of generated) logger.warn(line, 'Config');
  if (isProduction(env) && env.GATEWAY_MODE === 'sandbox') {
    logger.warn(
      'GATEWAY_MODE=sandbox in production (ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION): every payment goes to the ' +
        'gateway sandbox; no real money is taken and anyone who reaches the sandbox can mark payments paid',
      'Config',
    );
  }
  configureApp(app);
  stopGracefullyOn(['SIGTERM', 'SIGINT'], app, logger, env.SHUTDOWN_TIMEOUT_MS);
  await app.listen(env.PORT);
  logger.log(`Payment Center listening on http://localhost:${env.PORT}`, 'Bootstrap');
  // Consumers connect in the background: a broker that is down must not keep the API from serving
  // (payments still complete; their events wait in the outbox). They start when the broker answers.
  void startConsumers(app).then(
    () => logger.log('Consumers started', 'Bootstrap'),
    (error: unknown) => logger.error(`Consumers failed to start: ${String(error)}`, 'Bootstrap'),
  );
}

/**
 * On SIGTERM:
 * 1. Stop taking connections and drain the open ones: requests in flight finish, and a request that arrives
 *    on a kept-alive connection is still served, with `Connection: close`. Idle connections are left to the
 *    client to close (Node's `server.close()` would cut them, racing a client that is sending on one
 *    right then — a request lost in the wire). Connections the kernel queued but the process had not
 *    accepted yet are reset when the listener closes: those requests were never read (clients retry them).
 * 2. Nest's shutdown: consumers stop (deliveries in hand are applied and acked, later ones requeued), query
 *    jobs (Bull waits for the active ones), crons and the relay (its pass finishes and marks what the broker
 *    confirmed) stop, then the pools close.
 * If that takes longer than SHUTDOWN_TIMEOUT_MS the process exits 1 anyway: what it held comes due again
 * (leases end, the broker requeues, vendors resend).
 */
function stopGracefullyOn(signals: NodeJS.Signals[], app: INestApplication, logger: Logger, timeoutMs: number): void {
  let stopping = false;
  app.use((_req: unknown, res: { setHeader(name: string, value: string): void }, next: () => void) => {
    if (stopping) res.setHeader('Connection', 'close');
    next();
  });
  const drain = () =>
    new Promise<void>((resolve) => {
      // net.Server's close: stops listening and calls back once every connection has ended.
      NetServer.prototype.close.call(app.getHttpServer() as Server, () => resolve());
    });
  for (const signal of signals) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.log(`${signal}: shutting down (at most ${timeoutMs} ms)`, 'Shutdown');
      setTimeout(() => {
        logger.error(`shutdown took longer than ${timeoutMs} ms; exiting`, 'Shutdown');
        void exitAfterLogs(1);
      }, timeoutMs).unref();
      drain()
        .then(() => app.close())
        .then(
          () => {
            logger.log('stopped', 'Shutdown');
            return exitAfterLogs(0);
          },
          (error: unknown) => {
            logger.error(`shutdown failed: ${String(error)}`, 'Shutdown');
            return exitAfterLogs(1);
          },
        );
    });
  }
}

/** Exits once the buffered log lines are out (at most a second later): the last lines say why it stopped. */
async function exitAfterLogs(code: number): Promise<never> {
  const { flushLogs } = await import('./common/logging/logging.module.js');
  await flushLogs();
  process.exit(code);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
