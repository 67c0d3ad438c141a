import { DomainError } from '../common/errors/domain-error';

export class ApiKeyUnauthenticated extends DomainError {
  readonly code = 'UNAUTHENTICATED';
  constructor() {
    super('A valid API key is required (Authorization: Bearer <secret>).');
  }
}

export class ApiKeyForbidden extends DomainError {
  readonly code = 'FORBIDDEN';
  constructor(scope: string) {
    super(`This API key lacks the ${scope} scope.`);
  }
}

export class ApplicationNotFound extends DomainError {
  readonly code = 'APPLICATION_NOT_FOUND';
  constructor(id: string) {
    super(`Application ${id} does not exist.`);
  }
}

export class ApiKeyNotFound extends DomainError {
  readonly code = 'API_KEY_NOT_FOUND';
  constructor(applicationId: string, keyId: string) {
    super(`Application ${applicationId} has no API key ${keyId}.`);
  }
}
