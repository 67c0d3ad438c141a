import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { SANDBOX_SETTINGS, type SandboxSettings } from './sandbox.settings';
import { type SandboxFaults, type SandboxTrade, SandboxTrades } from './sandbox-trades';

/** What the merchant answered one send: the HTTP status (or a network error) and the body's text. */
export interface MerchantReply {
  status: number | 'error';
  reply?: string;
}

export interface NotificationPlan {
  /** Waits between sends after the first, in real vendor milliseconds (scaled by the time-scale setting). */
  resendScheduleMs: readonly number[];
  /** Sends one copy; `faults` are the trade's faults at the time the notification was triggered. */
  send(faults: SandboxFaults): Promise<MerchantReply>;
  /** The vendor's rule for "the merchant got it, stop resending". */
  acknowledged(reply: MerchantReply): boolean;
}

/**
 * How every sandbox vendor notifies: the trade's faults decide whether the notification is dropped, delayed,
 * duplicated or held back to be sent in reverse order; then it is resent on the vendor's schedule until the
 * merchant acknowledges it. Every send is recorded on the trade.
 */
@Injectable()
export class SandboxNotifier implements OnModuleDestroy {
  /** Notifications waiting for the reorder fault, across all channels. */
  private readonly held: (() => Promise<void>)[] = [];
  /** Pending waits between sends: a closed sandbox abandons its resends instead of keeping the process alive. */
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  onModuleDestroy(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  constructor(
    @Inject(SANDBOX_SETTINGS) private readonly settings: SandboxSettings,
    @Inject(SandboxTrades) private readonly trades: SandboxTrades,
  ) {}

  /** Starts the notification in the background; never throws. */
  notify(trade: SandboxTrade, plan: NotificationPlan): void {
    void this.deliver(trade, plan);
  }

  private async deliver(trade: SandboxTrade, plan: NotificationPlan): Promise<void> {
    const faults = this.trades.faultsFor(trade.outTradeNo);
    if (faults.dropNotifications) return;
    const run = () => this.sendUntilAcknowledged(trade, plan, faults);
    if (faults.reorderNotifications) {
      this.held.push(run);
      if (this.held.length < faults.reorderNotifications) return;
      const batch = this.held.splice(0).reverse();
      await Promise.all(batch.map((send, i) => this.wait(i * 50).then(send)));
      return;
    }
    await run();
  }

  private async sendUntilAcknowledged(trade: SandboxTrade, plan: NotificationPlan, faults: SandboxFaults) {
    if (faults.delayNotificationMs) await this.wait(faults.delayNotificationMs);
    for (const [attempt, delay] of [0, ...plan.resendScheduleMs].entries()) {
      await this.wait(delay * this.settings.timeScale);
      if (this.closed) return;
      const copies = Math.max(1, faults.duplicateNotifications ?? 1);
      const replies = await Promise.all(Array.from({ length: copies }, () => plan.send(faults)));
      for (const reply of replies)
        trade.notifications.push({ attempt: attempt + 1, ...reply, at: new Date().toISOString() });
      if (replies.some((reply) => plan.acknowledged(reply))) return;
    }
  }

  /** Resolves after `ms`, or never once the sandbox closes. */
  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

/** POSTs one notification and reads the answer; a network error or timeout is recorded, never thrown. */
export async function postNotification(
  url: string,
  init: { headers: Record<string, string>; body: string; timeoutMs: number },
): Promise<MerchantReply> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: init.headers,
      body: init.body,
      signal: AbortSignal.timeout(init.timeoutMs),
    });
    return { status: response.status, reply: (await response.text()).trim() };
  } catch {
    return { status: 'error' };
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
