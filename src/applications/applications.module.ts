import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyAuthenticator } from './api-key.authenticator';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKey, Application } from './application.entity';
import { ApplicationsRepository } from './applications.repository';
import { ApplicationsService } from './applications.service';

export const APPLICATIONS_ENTITIES = [Application, ApiKey];

/**
 * Business callers: applications, their API keys, and the guard every business endpoint uses
 * (RequireApiKey). Depends on nothing but common/ and the database; orders, the PaymentCenter and admin use it.
 */
@Module({
  imports: [TypeOrmModule.forFeature(APPLICATIONS_ENTITIES)],
  providers: [ApplicationsRepository, ApplicationsService, ApiKeyAuthenticator, ApiKeyGuard],
  exports: [ApplicationsService, ApplicationsRepository, ApiKeyAuthenticator, ApiKeyGuard],
})
export class ApplicationsModule {}
