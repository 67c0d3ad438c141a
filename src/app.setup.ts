import type { INestApplication } from '@nestjs/common';
import { createValidationPipe } from './common/errors/validation';

/** What main.ts and the e2e tests both apply to the app, so tests run the same HTTP stack as production. */
export function configureApp(app: INestApplication): void {
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();
}
