import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import type { ChannelAccount } from './channel-account.entity';
import { SecretBox } from './secret-box';

/**
 * Seals and opens an account's secrets. Each value is bound to its account and field (the associated data),
 * so a sealed value moved into another row or field does not open.
 */
@Injectable()
export class AccountVault {
  private readonly box: SecretBox;

  constructor(@Inject(AppConfig) config: AppConfig) {
    this.box = new SecretBox(config.accounts.keks);
  }

  get configured(): boolean {
    return this.box.configured;
  }

  get currentKekId(): string | undefined {
    return this.box.currentKekId;
  }

  /** The `secrets` column of an account: field → sealed value, as JSON. */
  seal(accountId: string, secrets: Record<string, string>): { sealed: string; kekId: string } {
    const sealed = Object.fromEntries(
      Object.entries(secrets).map(([field, value]) => [field, this.box.seal(value, `${accountId}/${field}`)]),
    );
    return { sealed: JSON.stringify(sealed), kekId: this.box.currentKekId ?? '' };
  }

  open(account: Pick<ChannelAccount, 'id' | 'secrets'>): Record<string, string> {
    const sealed = JSON.parse(account.secrets) as Record<string, string>;
    return Object.fromEntries(
      Object.entries(sealed).map(([field, value]) => [field, this.box.open(value, `${account.id}/${field}`)]),
    );
  }
}
