import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SandboxModule } from './sandbox.module';
import { sandboxSettings } from './sandbox.settings';

/**
 * `node dist/sandbox/main.js`: the gateway sandbox on SANDBOX_HOST:SANDBOX_PORT (127.0.0.1:4010), keys in
 * SANDBOX_KEYS_DIR. Loopback by default: its pay endpoints take no credentials, so whoever reaches it can
 * mark a payment paid. A container sets SANDBOX_HOST=0.0.0.0 and publishes the port on the host's loopback.
 */
async function bootstrap(): Promise<void> {
  const port = Number(process.env.SANDBOX_PORT ?? 4010);
  const host = process.env.SANDBOX_HOST || '127.0.0.1';
  const settings = sandboxSettings(
    process.env.SANDBOX_KEYS_DIR ?? 'var/sandbox-keys',
    Number(process.env.SANDBOX_TIME_SCALE ?? 1),
  );
  const app = await NestFactory.create(SandboxModule.forRoot(settings), {
    rawBody: true,
    logger: ['error', 'warn', 'log'],
  });
  await app.listen(port, host);
  const logger = new Logger('Sandbox');
  const shown = host.includes(':') ? `[${host}]` : host;
  logger.log(`Gateway sandbox listening on http://${shown}:${port}`);
  logger.log(`Cashier of a payment: http://${shown}:${port}/sandbox/cashier/<paymentNo>`);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
