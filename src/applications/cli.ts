import 'reflect-metadata';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { Global, Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { textProblem } from '../common/validation/text-field';
import { ConfigModule } from '../config/config.module';
import { validateEnvironment } from '../config/environment';
import { DatabaseModule } from '../database/database.module';
import { inTransaction } from '../database/transaction';
import { MetricsService } from '../metrics/metrics.service';
import { API_SCOPES, type ApiScope, keyIdOf } from './api-key-secret';
import { ApplicationsModule } from './applications.module';
import { ApplicationsRepository } from './applications.repository';
import { ApplicationsService } from './applications.service';

const USAGE = `Usage:
  npm run app:create -- --name "Tea shop" [--scopes orders:write,orders:read,...]
      a new application and its first API key
  npm run app:create -- --application app_… [--scopes …]
      one more key for an application (to rotate: create, switch the caller, revoke the old one in the admin API)
  npm run app:create -- --demo var/demo-api-key
      (npm start does this) the local demo application's key: reused from the file while it still works, else
      a new one written there
The secret is printed once; only its hash is stored. Scopes: ${API_SCOPES.join(', ')} (all by default).`;

export const DEMO_APPLICATION = 'Local demo';

@Injectable()
class Cli {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(ApplicationsService) private readonly applications: ApplicationsService,
    @Inject(ApplicationsRepository) private readonly repository: ApplicationsRepository,
  ) {}

  newApplication(name: string, scopes: ApiScope[] | undefined) {
    return inTransaction(this.dataSource, async (manager) => {
      const application = await this.applications.create(manager, name);
      const { key, secret } = await this.applications.createKey(manager, application.id, { scopes });
      return { applicationId: application.id, name, keyId: key.keyId, scopes: key.scopes, secret };
    });
  }

  newKey(applicationId: string, scopes: ApiScope[] | undefined) {
    return inTransaction(this.dataSource, async (manager) => {
      const { key, secret } = await this.applications.createKey(manager, applicationId, { scopes });
      return { applicationId, keyId: key.keyId, scopes: key.scopes, secret };
    });
  }

  /** The demo key in `file` while it still works (known, not revoked or expired, application active). */
  async demo(file: string): Promise<{ applicationId: string; secret: string; reused: boolean }> {
    const saved = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
    const keyId = keyIdOf(saved);
    const found = keyId ? await this.repository.findKeyWithApplication(keyId) : null;
    if (found && !found.key.revokedAt && !found.key.expiresAt && found.applicationStatus === 'ACTIVE') {
      return { applicationId: found.key.applicationId, secret: saved, reused: true };
    }
    const existing = await this.applications.findByName(DEMO_APPLICATION);
    const created =
      existing?.status === 'ACTIVE'
        ? await this.newKey(existing.id, undefined)
        : await this.newApplication(DEMO_APPLICATION, undefined);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${created.secret}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    return { applicationId: created.applicationId, secret: created.secret, reused: false };
  }
}

@Global()
@Module({ providers: [Clock, MetricsService], exports: [Clock, MetricsService] })
class CliCommonModule {}

@Module({ imports: [ConfigModule, DatabaseModule, CliCommonModule, ApplicationsModule], providers: [Cli] })
class CliModule {}

function scopesOf(value: string | undefined): ApiScope[] | undefined {
  if (value === undefined) return undefined;
  const scopes = value.split(',').map((s) => s.trim());
  const unknown = scopes.filter((s) => !(API_SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0 || scopes.length === 0) throw new Error(`unknown scope(s): ${unknown.join(', ')}\n${USAGE}`);
  return scopes as ApiScope[];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      name: { type: 'string' },
      application: { type: 'string' },
      scopes: { type: 'string' },
      demo: { type: 'string' },
    },
  });
  const chosen = [values.name, values.application, values.demo].filter((v) => v !== undefined);
  if (chosen.length !== 1) {
    console.error(USAGE);
    return 1;
  }
  const name = values.name?.trim();
  const problem = name === undefined ? undefined : textProblem(name, 1, 64);
  if (problem) {
    console.error(`--name ${problem}`);
    return 1;
  }
  const scopes = scopesOf(values.scopes);
  if (existsSync('.env')) process.loadEnvFile('.env');
  validateEnvironment(process.env);
  const app = await NestFactory.createApplicationContext(CliModule, { logger: ['error', 'warn'] });
  try {
    const cli = app.get(Cli);
    if (values.demo !== undefined) {
      const demo = await cli.demo(values.demo);
      console.log(
        `\n  Demo application ${demo.applicationId} (${DEMO_APPLICATION}): ` +
          `${demo.reused ? 'its API key, from' : 'a new API key, saved in'} ${values.demo}\n` +
          `    ${demo.secret}\n  Try: export PC_KEY=$(cat ${values.demo})\n` +
          `       curl -H "Authorization: Bearer $PC_KEY" http://localhost:${process.env.PORT ?? 3000}/api/orders/…\n`,
      );
    } else {
      const created =
        name !== undefined
          ? await cli.newApplication(name, scopes)
          : await cli.newKey(values.application as string, scopes);
      console.log(JSON.stringify(created, null, 2));
      console.error('The secret above is shown once; only its hash is stored.');
    }
    return 0;
  } finally {
    await app.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
