import { DomainError } from '../../common/errors/domain-error';

/**
 * The application asked to pay with an account it is not bound to. Said the same whether or not such an
 * account exists: an application must not learn which accounts other applications use.
 */
export class AccountNotAllowed extends DomainError {
  readonly code = 'ACCOUNT_NOT_ALLOWED';
  constructor(channel: string, accountId: string) {
    super(`This application cannot pay with ${channel} account "${accountId}".`);
  }
}

export class AccountNotFound extends DomainError {
  readonly code = 'ACCOUNT_NOT_FOUND';
  constructor(accountId: string) {
    super(`No channel account "${accountId}".`);
  }
}

/** Bad account material, a taken id, or no KEK to seal with: nothing was written. */
export class AccountRejected extends DomainError {
  readonly code = 'ACCOUNT_REJECTED';
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}
