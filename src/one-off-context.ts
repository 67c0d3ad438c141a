import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { existsSync } from 'node:fs';
import { validateEnvironment } from './config/environment';

/**
 * The app, without HTTP, for a command that runs once (`npm run reconcile`, `npm run accounts`): `.env` read
 * if there is one, the settings checked as at boot, and no background workers in this process (the service's
 * instances keep running theirs, and their relays publish the events the command writes to the outbox).
 */
export async function oneOffAppContext(): Promise<INestApplicationContext> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  Object.assign(process.env, {
    RELAY_ENABLED: 'false',
    RECOVERY_JOBS_ENABLED: 'false',
    RECONCILER_ENABLED: 'false',
    ORDERS_CHECK_ENABLED: 'false',
    RECONCILIATION_ENABLED: 'false',
  });
  validateEnvironment(process.env);
  const { AppModule } = await import('./app.module.js');
  return NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'] });
}
