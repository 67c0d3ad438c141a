import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { validateEnvironment } from './config/environment';

const LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;

async function bootstrap(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  // Validate before any module is loaded so a bad value stops the process with the key's name, no stack.
  const env = validateEnvironment(process.env);
  const { AppModule } = await import('./app.module.js');
  const { configureApp, startConsumers } = await import('./app.setup.js');
  const app = await NestFactory.create(AppModule, {
    rawBody: true, // vendor callback signatures cover the exact bytes
    logger: LEVELS.slice(0, LEVELS.indexOf(env.LOG_LEVEL) + 1),
  });
  configureApp(app);
  await app.listen(env.PORT);
  const logger = new Logger('Bootstrap');
  logger.log(`Payment Center listening on http://localhost:${env.PORT}`);
  // Consumers connect in the background: a broker that is down must not keep the API from serving
  // (payments still complete; their events wait in the outbox). They start when the broker answers.
  void startConsumers(app).then(
    () => logger.log('Consumers started'),
    (error: unknown) => logger.error(`Consumers failed to start: ${String(error)}`),
  );
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
