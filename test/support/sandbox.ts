import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppConfig } from '../../src/config/app-config';
import { createGateways } from '../../src/gateways/gateway-factory';
import type { PaymentGateway } from '../../src/gateways/payment-gateway';
import { ensureSandboxKeys } from '../../sandbox/sandbox-keys';
import { SandboxModule } from '../../sandbox/sandbox.module';
import { sandboxSettings, type SandboxSettings } from '../../sandbox/sandbox.settings';
import { type RunningApp, startApp, TestClock } from './test-app';

export interface RunningSandbox {
  app: INestApplication;
  url: string;
  /** The folder of freshly generated test keys the providers under test load. */
  keys: string;
  settings: SandboxSettings;
}

/** The gateway sandbox on a free port with new keys; 0.0005 runs a vendor's day-long resend schedule in seconds. */
export async function startSandbox(timeScale = 0.0005): Promise<RunningSandbox> {
  return startSandboxOn(join(mkdtempSync(join(tmpdir(), 'pc-sandbox-')), 'keys'), timeScale);
}

/**
 * The gateway sandbox on a free port with the keys (and the merchants created on demand) of an existing folder:
 * a restart of a sandbox started before on `keys`.
 */
export async function startSandboxOn(keys: string, timeScale = 0.0005): Promise<RunningSandbox> {
  const settings = sandboxSettings(keys, timeScale);
  const app = await NestFactory.create(SandboxModule.forRoot(settings), { rawBody: true, logger: false });
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  return { app, url, keys, settings };
}

/**
 * A folder of fresh sandbox test keys, for an app started with GATEWAY_MODE=sandbox but no sandbox: the app only
 * reads keys, and a running sandbox would have generated them at its start.
 */
export function sandboxKeys(prefix = 'pc-sandbox-'): string {
  const keys = join(mkdtempSync(join(tmpdir(), prefix)), 'keys');
  ensureSandboxKeys(keys);
  return keys;
}

/** A port nobody listens on right now, for an app whose notify URLs must be known before it starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The production adapters of all three channels, built by the app's own factory in sandbox mode: they talk to
 * this sandbox with its keys and give vendors notify URLs on `appPort`.
 */
export function sandboxGateways(sandbox: RunningSandbox, appPort: number, timeoutMs = 1000): PaymentGateway[] {
  return createGateways({
    gatewayMode: 'sandbox',
    sandbox: { url: sandbox.url, keysDir: sandbox.keys },
    gateways: { timeoutMs },
    publicBaseUrl: `http://127.0.0.1:${appPort}`,
  } as AppConfig);
}

/**
 * The real app with the production adapters pointed at this sandbox: on a port chosen first, because the
 * adapters give vendors notify URLs on it, and the app its return pages and OAuth callbacks (PUBLIC_BASE_URL);
 * in sandbox mode on this sandbox, so what the app makes from the configuration (buyer identity) uses it too.
 */
export async function startAppOnSandbox(
  sandbox: RunningSandbox,
  config: Parameters<typeof startApp>[2] = {},
  clock: TestClock = new TestClock(),
): Promise<RunningApp> {
  const port = await freePort();
  const onSandbox = {
    gatewayMode: 'sandbox',
    sandbox: { url: sandbox.url, keysDir: sandbox.keys },
    publicBaseUrl: `http://127.0.0.1:${port}`,
  };
  return startApp(sandboxGateways(sandbox, port), clock, { ...onSandbox, ...config }, port);
}
