import { randomBytes } from 'node:crypto';
import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { AppModule } from '../../src/app.module';
import { ConfigService } from '@nestjs/config';
import { configureApp, startConsumers } from '../../src/app.setup';
import { AppConfig } from '../../src/config/app-config';
import { Clock } from '../../src/common/clock';
import type { HttpPlatform } from '../../src/common/http-platform';
import { PAYMENT_GATEWAYS, type PaymentGateway } from '../../src/gateways/payment-gateway';
import { DataSource } from 'typeorm';
import { inTransaction } from '../../src/database/transaction';
import {
  type PaymentEvent,
  type PaymentRef,
  PaymentStateService,
  type TransitionOutcome,
} from '../../src/payment-center/payment-state.service';
import { TEST_API_KEY } from './api-keys';

/** A clock tests can move forward. */
export class TestClock extends Clock {
  private offsetMs = 0;
  private frozenAtMs?: number;

  override now(): Date {
    return new Date((this.frozenAtMs ?? Date.now()) + this.offsetMs);
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }

  /** Stops the clock where it is (`advance` still moves it), for a window a slow machine must not run out. */
  freeze(): void {
    this.frozenAtMs ??= Date.now();
  }

  /** Runs on from where it stood. */
  resume(): void {
    if (this.frozenAtMs === undefined) return;
    this.offsetMs += this.frozenAtMs - Date.now();
    this.frozenAtMs = undefined;
  }
}

export interface RunningApp {
  app: INestApplication;
  url: string;
  clock: TestClock;
  close(): Promise<void>;
}

/**
 * Boots the real AppModule (real MariaDB, Redis, RabbitMQ) listening on a free port, with fake gateway
 * adapters in place of the vendors. Several can run at once: each has its own pools, like separate instances.
 */
export async function startApp(
  gateways: PaymentGateway[],
  clock = new TestClock(),
  config: Partial<Record<keyof AppConfig, unknown>> = {},
  port = 0,
  /** Providers replaced for this app (e.g. a deliberately broken BARCODE_PROTOCOL table). */
  overrides: { provide: string | symbol; useValue: unknown }[] = [],
  /** The HTTP platform: Express as in production, or Fastify (what of the app runs there: src/app.setup.ts). */
  platform: HttpPlatform = 'express',
): Promise<RunningApp> {
  const compiling = slowPhase('compile');
  let builder = Test.createTestingModule({ imports: [AppModule] });
  for (const { provide, useValue } of overrides) builder = builder.overrideProvider(provide).useValue(useValue);
  const moduleRef = await builder
    .overrideProvider(AppConfig)
    .useFactory({
      // Per-app settings on top of the environment (partners, relay on/off...), like separate deployments.
      factory: (configService: ConfigService) => {
        const base = new AppConfig(configService as never);
        // Recovery settings merge, and each app gets its own job queue unless a test shares one on purpose.
        const recovery = {
          ...base.recovery,
          queuePrefix: `test-${randomBytes(4).toString('hex')}`,
          ...(config.recovery as Partial<AppConfig['recovery']> | undefined),
        };
        // Order settings merge too (one instance may refuse what others accept).
        const orders = { ...base.orders, ...(config.orders as Partial<AppConfig['orders']> | undefined) };
        return Object.assign(base, config, { recovery, orders });
      },
      inject: [ConfigService],
    })
    .overrideProvider(PAYMENT_GATEWAYS)
    .useValue(gateways)
    .overrideProvider(Clock)
    .useValue(clock)
    .compile();
  compiling.end();
  // TEST_LOG=1 shows the app's warnings and errors while debugging a test.
  const options: NestApplicationOptions = {
    logger: process.env.TEST_LOG ? ['error', 'warn'] : ['fatal'],
    rawBody: true,
  };
  const app =
    platform === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), options)
      : moduleRef.createNestApplication(options);
  configureApp(app);
  const booting = slowPhase('bootstrap and listen');
  try {
    await startConsumers(app);
    await app.listen(port, '127.0.0.1');
    booting.end();
  } catch (error) {
    // A boot refused (a test of it, say): what started before the refusal (pools, queues) is stopped, or the
    // test process would never exit.
    await app.close().catch(() => undefined);
    throw error;
  }
  const address = app.getHttpServer().address() as AddressInfo;
  const close = async () => {
    const closing = slowPhase('close');
    await app.close();
    closing.end();
  };
  return { app, url: `http://127.0.0.1:${address.port}`, clock, close };
}

/** An app phase past this long is reported on stderr, to tell a stalled boot or shutdown from a slow test. */
const SLOW_PHASE_MS = 5000;

function slowPhase(name: string): { end(): void } {
  const startedAt = Date.now();
  return {
    end() {
      const tookMs = Date.now() - startedAt;
      if (tookMs < SLOW_PHASE_MS) return;
      const suite = expect.getState().testPath ?? '?';
      process.stderr.write(`[test-app] ${name} took ${(tookMs / 1000).toFixed(1)} s in ${suite}\n`);
    },
  };
}

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** The business endpoints, which need an application's API key (vendor callbacks excepted). */
const BUSINESS_PATH = /^\/api\/(orders|payments|refunds|buyer-identities|events)(\/|$)(?!notify\/)/;

/**
 * Headers of a test request: to a business endpoint, the default test application's key unless the test
 * names an `authorization` of its own (an empty one sends none).
 */
export function withTestKey(url: string, headers: Record<string, string> = {}): Record<string, string> {
  const merged: Record<string, string> = { ...headers };
  if (!('authorization' in merged) && BUSINESS_PATH.test(new URL(url).pathname)) {
    merged.authorization = `Bearer ${TEST_API_KEY}`;
  }
  if (merged.authorization === '') delete merged.authorization;
  return merged;
}

/** Real HTTP, so concurrency tests go through sockets, Express and the whole interceptor chain. */
export async function http<T = any>(
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpResult<T>> {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...withTestKey(url, headers) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

let counter = 0;
/** A unique id for this test's data, so tests never see each other's rows. */
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${process.pid}-${counter}`;
}

export function orderBody(buyerId: string, unitPriceFen = 1250, quantity = 2) {
  return { buyerId, items: [{ sku: 'TEA-001', name: 'Longjing tea 250g', quantity, unitPriceFen }] };
}

/** The app's state service as its own callers use it: each event applied in a transaction of its own. */
export function paymentState(app: INestApplication): {
  apply(payment: PaymentRef, event: PaymentEvent): Promise<TransitionOutcome>;
} {
  const dataSource = app.get(DataSource);
  const state = app.get(PaymentStateService);
  return { apply: (payment, event) => inTransaction(dataSource, (manager) => state.apply(payment, event, manager)) };
}
