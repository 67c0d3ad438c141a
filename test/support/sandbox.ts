import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxModule } from '../../src/sandbox/sandbox.module';
import { sandboxSettings, type SandboxSettings } from '../../src/sandbox/sandbox.settings';

export interface RunningSandbox {
  app: INestApplication;
  url: string;
  /** The folder of freshly generated test keys the providers under test load. */
  keys: string;
  settings: SandboxSettings;
}

/** The gateway sandbox on a free port with new keys; 0.0005 runs a vendor's day-long resend schedule in seconds. */
export async function startSandbox(timeScale = 0.0005): Promise<RunningSandbox> {
  const keys = join(mkdtempSync(join(tmpdir(), 'pc-sandbox-')), 'keys');
  const settings = sandboxSettings(keys, timeScale);
  const app = await NestFactory.create(SandboxModule.forRoot(settings), { rawBody: true, logger: false });
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  return { app, url, keys, settings };
}
