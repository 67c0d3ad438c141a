import { Module } from '@nestjs/common';
import { ApiKeyAuthenticator } from './api-key.authenticator';
import { ApiKeyGuard } from './api-key.guard';
import { ApplicationsRepository } from './applications.repository';
import { ApplicationsService } from './applications.service';

/**
 * Business callers: applications, their API keys, and the guard every business endpoint uses
 * (RequireApiKey). Depends on nothing but common/ and the database; orders, the PaymentCenter and admin use it.
 */
@Module({
  providers: [ApplicationsRepository, ApplicationsService, ApiKeyAuthenticator, ApiKeyGuard],
  exports: [ApplicationsService, ApplicationsRepository, ApiKeyAuthenticator, ApiKeyGuard],
})
export class ApplicationsModule {}
