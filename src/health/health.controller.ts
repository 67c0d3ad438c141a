import { Controller, Get, Headers, Inject, ServiceUnavailableException } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  type SchemaObject,
} from '@nestjs/swagger';
import { HealthCheck } from '@nestjs/terminus';
import { AppConfig } from '../config/app-config';
import { TAGS } from '../common/openapi/api-decorators';
import { holdsMetricsToken } from '../metrics/metrics-token.guard';
import { HEALTH_CACHE_MS, HealthReport, withoutDetails } from './health-report';

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
    checkedAt: { type: 'string', format: 'date-time', description: 'When the check this answer comes from ran.' },
    info: indicators,
    error: indicators,
    details: indicators,
  },
  required: ['status', 'details', 'checkedAt'],
  example,
});

/**
 * GET /health: 200 when MariaDB, Redis and RabbitMQ answer, 503 naming the ones that do not. Anyone gets
 * each component's up/down; the error messages (hosts, ports) only with the METRICS_TOKEN bearer token,
 * which the monitoring that probes this already holds.
 */
@ApiTags(TAGS.health)
@Controller('health')
export class HealthController {
  constructor(
    @Inject(HealthReport) private readonly report: HealthReport,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  @Get()
  // Documented here rather than by terminus, so the document does not depend on how terminus finds swagger.
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({
    summary: 'Are the Payment Center, its database, Redis and RabbitMQ up?',
    description:
      `One check answers every caller for ${HEALTH_CACHE_MS} ms. Error messages only with the \`METRICS_TOKEN\` ` +
      'bearer token; anyone else sees each component as `up` or `down`.',
  })
  @ApiOkResponse({
    description: 'MariaDB, Redis and RabbitMQ answer.',
    schema: healthReport('ok', {
      status: 'ok',
      checkedAt: '2025-03-14T06:00:00.000Z',
      info: { database: { status: 'up' }, redis: { status: 'up' }, rabbitmq: { status: 'up' } },
      error: {},
      details: { database: { status: 'up' }, redis: { status: 'up' }, rabbitmq: { status: 'up' } },
    }),
  })
  @ApiServiceUnavailableResponse({
    description:
      'At least one of them does not answer; it is marked `down` (this is not the error envelope). The ' +
      '`message` is shown to the METRICS_TOKEN holder only.',
    schema: healthReport('error', {
      status: 'error',
      checkedAt: '2025-03-14T06:00:00.000Z',
      info: { database: { status: 'up' }, rabbitmq: { status: 'up' } },
      error: { redis: { status: 'down', message: 'connect ECONNREFUSED 127.0.0.1:6379' } },
      details: {
        database: { status: 'up' },
        redis: { status: 'down', message: 'connect ECONNREFUSED 127.0.0.1:6379' },
        rabbitmq: { status: 'up' },
      },
    }),
  })
  async check(@Headers('authorization') authorization: string | undefined) {
    const { ok, report, checkedAt } = await this.report.current();
    const shown = holdsMetricsToken(this.config, authorization) ? report : withoutDetails(report);
    const body = { ...shown, checkedAt };
    if (!ok) throw new ServiceUnavailableException(body);
    return body;
  }
}
