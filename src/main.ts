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
    logger: LEVELS.slice(0, LEVELS.indexOf(env.LOG_LEVEL) + 1),
  });
  configureApp(app);
  await startConsumers(app);
  await app.listen(env.PORT);
  new Logger('Bootstrap').log(`Payment Center listening on http://localhost:${env.PORT}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
