import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SandboxModule } from './sandbox.module';
import { sandboxSettings } from './sandbox.settings';

/** `node dist/src/sandbox/main.js`: the gateway sandbox on SANDBOX_PORT (4010), keys in SANDBOX_KEYS_DIR. */
async function bootstrap(): Promise<void> {
  const port = Number(process.env.SANDBOX_PORT ?? 4010);
  const settings = sandboxSettings(
    process.env.SANDBOX_KEYS_DIR ?? 'var/sandbox-keys',
    Number(process.env.SANDBOX_TIME_SCALE ?? 1),
  );
  const app = await NestFactory.create(SandboxModule.forRoot(settings), {
    rawBody: true,
    logger: ['error', 'warn', 'log'],
  });
  await app.listen(port);
  const logger = new Logger('Sandbox');
  logger.log(`Gateway sandbox listening on http://localhost:${port}`);
  logger.log(`Cashier of a payment: http://localhost:${port}/sandbox/cashier/<paymentNo>`);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
