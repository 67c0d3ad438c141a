import { Controller, Get, Inject } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  type SchemaObject,
} from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { connect } from 'amqplib';
import { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config';
import { TAGS } from '../common/openapi/api-decorators';
import { REDIS } from '../common/redis/redis.module';

const indicators: SchemaObject = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    properties: { status: { type: 'string', enum: ['up', 'down'] } },
    additionalProperties: true,
  },
};

/** Terminus's report: `info` lists what answered, `error` what did not, `details` both. */
const healthReport = (status: 'ok' | 'error', example: object): SchemaObject => ({
  type: 'object',
  properties: {
    status: { type: 'string', enum: [status] },
    info: indicators,
    error: indicators,
    details: indicators,
  },
  required: ['status', 'details'],
  example,
});

/** GET /health: 200 when MariaDB, Redis and RabbitMQ answer, 503 naming the ones that do not. */
@ApiTags(TAGS.health)
@Controller('health')
export class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(TypeOrmHealthIndicator) private readonly database: TypeOrmHealthIndicator,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  @Get()
  // Documented here rather than by terminus, so the document does not depend on how terminus finds swagger.
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({ summary: 'Are the Payment Center, its database, Redis and RabbitMQ up?' })
  @ApiOkResponse({
    description: 'MariaDB, Redis and RabbitMQ answer.',
    schema: healthReport('ok', {
      status: 'ok',
      info: { database: { status: 'up' }, redis: { status: 'up' }, rabbitmq: { status: 'up' } },
      error: {},
      details: { database: { status: 'up' }, redis: { status: 'up' }, rabbitmq: { status: 'up' } },
    }),
  })
  @ApiServiceUnavailableResponse({
    description: 'At least one of them does not answer; it is marked `down` (this is not the error envelope).',
    schema: healthReport('error', {
      status: 'error',
      info: { database: { status: 'up' }, rabbitmq: { status: 'up' } },
      error: { redis: { status: 'down', message: 'connect ECONNREFUSED 127.0.0.1:6379' } },
      details: {
        database: { status: 'up' },
        redis: { status: 'down', message: 'connect ECONNREFUSED 127.0.0.1:6379' },
        rabbitmq: { status: 'up' },
      },
    }),
  })
  check() {
    return this.health.check([
      () => this.database.pingCheck('database', { timeout: 2000 }),
      () =>
        this.indicators
          .check('redis')
          .attempt(async () => {
            await this.redis.ping();
          })
          .withTimeout(2000),
      () =>
        this.indicators
          .check('rabbitmq')
          .attempt(async () => {
            const connection = await connect(this.config.rabbitmqUrl, { timeout: 2000 });
            await connection.close();
          })
          .withTimeout(3000),
    ]);
  }
}
