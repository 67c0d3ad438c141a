import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ADMIN_SCOPES } from '../../config/environment';
import { ADMIN_BEARER, API_KEY_BEARER, REQUIRED_SCOPE_EXTENSION, TAGS } from './api-decorators';
import { INTERNAL_ERROR_RESPONSE, internalErrorCodesMarkdown } from './api-errors';

export const OPENAPI_UI_PATH = 'docs'; // JSON at /docs-json, YAML at /docs-yaml

const DESCRIPTION = `
Checkout orders, payments through WeChat Pay, Alipay and UnionPay, refunds, and the operators' admin API.

- **Money** is integer fen (CNY minor units) everywhere: \`1250\` is 12.50 CNY.
- **Errors** are one envelope, \`{ "code", "message", "details"? }\` (schema \`ErrorResponse\`); each operation lists
  the codes it can answer under their HTTP status, with an example per code. Branch on \`code\`.
- **Writes** go through the duplicate-submission guard: send an \`Idempotency-Key\` (see the header on each write).
- **Business** endpoints (orders, payments, refunds) need an application's API key, \`Authorization: Bearer
  <secret>\`, with the scope named in their \`403\` response (and in \`${REQUIRED_SCOPE_EXTENSION}\`). An application
  sees only what it created: another application's order, payment or refund answers \`404\`.
- **Admin** endpoints need a bearer token from \`ADMIN_TOKENS\` with the scope named in their \`403\` response
  (and in \`${REQUIRED_SCOPE_EXTENSION}\`).
- **Payment results** also reach business systems as signed events over RabbitMQ: that contract is the AsyncAPI
  document \`docs/asyncapi.yaml\` in the repository. Set-up is in its \`README.md\`; this API in prose in
  \`docs/api.md\`, recovery in \`docs/recovery.md\`, operations in \`docs/operations.md\`.

Error codes that exist in the code base but are never answered by this API:
${internalErrorCodesMarkdown()}
`.trim();

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown'; // started from elsewhere than the project root: the document is still served
  }
}

/**
 * Serves the OpenAPI document of the REST API: Swagger UI at /docs (its assets from the swagger-ui-dist
 * package, nothing from a CDN), JSON at /docs-json, YAML at /docs-yaml. Built from the controllers'
 * explicit decorators on the first request (no CLI plugin: tests and production see the same document).
 */
export function setupOpenApi(app: INestApplication): void {
  const builder = new DocumentBuilder()
    .setTitle('Payment Center')
    .setVersion(packageVersion())
    .setDescription(DESCRIPTION)
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'opaque token',
        description: `A token from \`ADMIN_TOKENS\`. Scopes: ${ADMIN_SCOPES.map((s) => `\`${s}\``).join(', ')}.`,
      },
      ADMIN_BEARER,
    )
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'pcsk_<key id>_<64 hex digits>',
        description:
          "An application's API key secret (shown once, when the key is created through the admin API or " +
          '`npm run app:create`). Scopes: `orders:write`, `orders:read`, `payments:read`, `refunds:write`, ' +
          '`refunds:read`, `events:read`. An application sees only its own orders, payments, refunds and events ' +
          "(another one's answer `404`).",
      },
      API_KEY_BEARER,
    )
    .addTag(TAGS.orders, 'Checkout: create an order, pay it with a channel, read it with its payments.')
    .addTag(TAGS.payments, 'A payment as business systems see it: status, history, gateway attempts, refunds.')
    .addTag(TAGS.refunds, 'Refunds of paid payments, full or partial.')
    .addTag(
      TAGS.events,
      "The application's payment events, the same bodies partners receive, oldest first: page with `after` to " +
        'catch up after a restart or to reconcile what the queue or webhook delivered.',
    )
    .addTag(TAGS.buyers, "Who pays inside WeChat or Alipay (the vendors' OAuth), for in-app payments' `payerId`.")
    .addTag(
      TAGS.callbacks,
      "Vendor-facing: WeChat Pay, Alipay and UnionPay post their signed notifications here, in the vendor's own " +
        'format, and get the acknowledgement their protocol expects. Not for business systems.',
    )
    .addTag(TAGS.deliveries, 'Event deliveries to partner systems: list, retry one, retry many.')
    .addTag(TAGS.reconciliation, "Statement reconciliation: run a channel's day, list runs, read one.")
    .addTag(
      TAGS.review,
      'Payments that need an operator (NEEDS_REVIEW) with their history, and the resolutions: ask the vendor ' +
        'again, or close the trade. Nothing here records money the vendor did not confirm.',
    )
    .addTag(TAGS.applications, 'Business applications and their API keys: create, disable, add and revoke keys.')
    .addTag(
      TAGS.accounts,
      'Channel accounts (a vendor merchant account each, secrets sealed and never shown again): create, rotate ' +
        'keys, disable; which accounts an application pays with.',
    )
    .addTag(TAGS.session, 'Who a token is; signing in issues the queue board cookie (the board is at /admin/queues).')
    .addTag(TAGS.health, 'Liveness of the Payment Center and its database, Redis and RabbitMQ.')
    .addGlobalResponse(INTERNAL_ERROR_RESPONSE);
  const config = builder.build();
  SwaggerModule.setup(OPENAPI_UI_PATH, app, () => SwaggerModule.createDocument(app, config), {
    customSiteTitle: 'Payment Center API',
    // Swagger UI's default validator badge loads an image from validator.swagger.io: nothing leaves the host.
    swaggerOptions: { validatorUrl: null, displayRequestDuration: true },
  });
}
