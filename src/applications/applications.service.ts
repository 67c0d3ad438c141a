import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { API_SCOPES, type ApiScope, hashSecret, newApplicationId, newKeyId, newSecret } from './api-key-secret';
import { ApiKey, Application, type ApplicationStatus } from './application.entity';
import { ApiKeyNotFound, ApplicationNotFound } from './application-errors';
import { ApplicationsRepository } from './applications.repository';

export interface NewKey {
  name?: string;
  scopes?: readonly ApiScope[];
  expiresAt?: Date | null;
}

/** A key as anyone may see it: everything but the secret (which is never stored). */
export interface ApiKeyView {
  keyId: string;
  name: string;
  scopes: string[];
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  createdAt: string;
}

export interface ApplicationView {
  id: string;
  name: string;
  status: ApplicationStatus;
  /** Where its pay requests' `returnUrl` may point (origins). */
  returnOrigins: string[];
  createdAt: string;
  updatedAt: string;
  keys: ApiKeyView[];
}

/**
 * The origin a return URL is checked by (`https://host[:port]`, lower-case, default port left out), or undefined
 * for anything that is not an absolute http(s) URL without credentials.
 */
export function returnOriginOf(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
  if (parsed.username || parsed.password) return undefined;
  return parsed.origin;
}

const iso = (at: Date | null) => (at ? at.toISOString() : null);

export function toKeyView(key: ApiKey): ApiKeyView {
  return {
    keyId: key.keyId,
    name: key.name,
    scopes: key.scopes.split(' ').filter(Boolean),
    expiresAt: iso(key.expiresAt),
    lastUsedAt: iso(key.lastUsedAt),
    revokedAt: iso(key.revokedAt),
    createdAt: key.createdAt.toISOString(),
  };
}

function toApplicationView(application: Application, keys: ApiKey[]): ApplicationView {
  return {
    id: application.id,
    name: application.name,
    status: application.status,
    returnOrigins: application.returnOrigins.split(' ').filter(Boolean),
    createdAt: application.createdAt.toISOString(),
    updatedAt: application.updatedAt.toISOString(),
    keys: keys.filter((k) => k.applicationId === application.id).map(toKeyView),
  };
}

/**
 * Applications and their API keys. Writes take the caller's transaction, so an admin action and its audit
 * row commit together; whoever revokes or disables tells ApiKeyAuthenticator after the commit.
 */
@Injectable()
export class ApplicationsService {
  constructor(
    @Inject(ApplicationsRepository) private readonly repository: ApplicationsRepository,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async create(manager: EntityManager, name: string): Promise<Application> {
    const now = this.clock.now();
    const application = Object.assign(new Application(), {
      id: newApplicationId(),
      name,
      status: 'ACTIVE' as const,
      returnOrigins: '',
      createdAt: now,
      updatedAt: now,
    });
    await this.repository.insertApplication(manager, application);
    return application;
  }

  /** A new key; its secret is in the answer and nowhere else. */
  async createKey(
    manager: EntityManager,
    applicationId: string,
    options: NewKey = {},
  ): Promise<{ key: ApiKeyView; secret: string }> {
    const application = await this.repository.lockApplication(manager, applicationId);
    if (!application) throw new ApplicationNotFound(applicationId);
    const keyId = newKeyId();
    const secret = newSecret(keyId);
    const key = Object.assign(new ApiKey(), {
      keyId,
      applicationId,
      name: options.name ?? 'default',
      secretHash: hashSecret(secret),
      scopes: [...new Set(options.scopes ?? API_SCOPES)].join(' '),
      expiresAt: options.expiresAt ?? null,
      lastUsedAt: null,
      revokedAt: null,
      createdAt: this.clock.now(),
    });
    await this.repository.insertKey(manager, key);
    return { key: toKeyView(key), secret };
  }

  async setStatus(manager: EntityManager, applicationId: string, status: ApplicationStatus): Promise<Application> {
    const application = await this.repository.lockApplication(manager, applicationId);
    if (!application) throw new ApplicationNotFound(applicationId);
    application.status = status;
    application.updatedAt = this.clock.now();
    await this.repository.setApplicationStatus(manager, applicationId, status, application.updatedAt);
    return application;
  }

  /** Replaces the origins its pay requests' return URLs may be on (each already an origin: see returnOriginOf). */
  async setReturnOrigins(manager: EntityManager, applicationId: string, origins: readonly string[]): Promise<void> {
    const application = await this.repository.lockApplication(manager, applicationId);
    if (!application) throw new ApplicationNotFound(applicationId);
    const unique = [...new Set(origins)].join(' ');
    await this.repository.setReturnOrigins(manager, applicationId, unique, this.clock.now());
  }

  /**
   * Why the application may not send its buyers back to `url`, or undefined when it may: the URL's origin must be
   * one the operator listed for it (exact scheme, host and port).
   */
  async returnUrlRefusal(applicationId: string, url: string): Promise<string | undefined> {
    const application = await this.repository.findApplication(applicationId);
    const origin = returnOriginOf(url);
    if (!application || !origin) return 'returnUrl must be an absolute http(s) URL';
    if (!application.returnOrigins.split(' ').includes(origin)) {
      return `returnUrl's origin ${origin} is not one of the application's return origins`;
    }
    return undefined;
  }

  /** Revokes a key for good (revoking one already revoked changes nothing). */
  async revokeKey(manager: EntityManager, applicationId: string, keyId: string): Promise<ApiKeyView> {
    const key = await this.repository.lockKey(manager, applicationId, keyId);
    if (!key) throw new ApiKeyNotFound(applicationId, keyId);
    if (!key.revokedAt) {
      key.revokedAt = this.clock.now();
      await this.repository.revokeKey(manager, keyId, key.revokedAt);
    }
    return toKeyView(key);
  }

  async get(applicationId: string): Promise<ApplicationView> {
    const application = await this.repository.findApplication(applicationId);
    if (!application) throw new ApplicationNotFound(applicationId);
    return toApplicationView(application, await this.repository.keysOf([applicationId]));
  }

  async list(): Promise<ApplicationView[]> {
    const applications = await this.repository.listApplications();
    const keys = await this.repository.keysOf(applications.map((a) => a.id));
    return applications.map((application) => toApplicationView(application, keys));
  }

  findByName(name: string): Promise<Application | null> {
    return this.repository.findApplicationByName(name);
  }
}
