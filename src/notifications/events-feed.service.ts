import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { DomainError, type FieldProblem, RequestValidationFailed } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';
import { OutboxRepository } from './outbox.repository';
import type { PaymentEventBody } from './payment-event';

export class EventNotFound extends DomainError {
  readonly code = 'EVENT_NOT_FOUND';
  constructor(eventId: string) {
    super(`Event ${eventId} does not exist.`);
  }
}

/** What a page asks for (EventsQuery, validated field by field). */
export interface EventFeedRequest {
  after?: string;
  from?: string;
  to?: string;
  limit?: number;
}

export interface EventPage {
  data: PaymentEventBody[];
  hasMore: boolean;
  nextAfter: string | null;
}

const DEFAULT_LIMIT = 50;

/**
 * The events API: an application reads its own payment events, the bodies partners receive, oldest first.
 * Another application's event is answered as unknown (404), never as forbidden: it must not learn it exists.
 */
@Injectable()
export class EventsFeedService {
  constructor(
    @Inject(OutboxRepository) private readonly outbox: OutboxRepository,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async list(applicationId: string, request: EventFeedRequest): Promise<EventPage> {
    const { from, to } = this.range(request);
    const limit = request.limit ?? DEFAULT_LIMIT;
    let after: { createdAt: Date; id: string } | undefined;
    if (request.after) {
      const cursor = await this.outbox.findEventOf(applicationId, request.after);
      if (!cursor) throw new EventNotFound(request.after);
      after = { createdAt: cursor.createdAt, id: cursor.id };
    }
    // The feed delay. created_at is stamped when the writing transaction runs, not when it commits, and ids are
    // taken at insert: a transaction still open (or slow to commit) can commit a row *before* the cursor of a
    // reader who already paged past that time, and `after` would never show it. Listing only rows at least
    // EVENTS_FEED_DELAY_MS old leaves them that long to commit (our transactions are short: lock, decide, write,
    // commit; longer than the delay only in an outage), so a reader paging with `after` misses none.
    const listedUntil = new Date(this.clock.now().getTime() - this.config.events.feedDelayMs);
    // One row more than asked for tells whether there is more, without a COUNT.
    const rows = await this.outbox.listFeed({ applicationId, after, from, to, listedUntil, limit: limit + 1 });
    const page = rows.slice(0, limit);
    return {
      data: page.map((row) => JSON.parse(row.body) as PaymentEventBody),
      hasMore: rows.length > limit,
      nextAfter: page.at(-1)?.eventId ?? null,
    };
  }

  async get(applicationId: string, eventId: string): Promise<PaymentEventBody> {
    const event = await this.outbox.findEventOf(applicationId, eventId);
    if (!event) throw new EventNotFound(eventId);
    return JSON.parse(event.body) as PaymentEventBody;
  }

  /** `after` and `from` name two different starts; `from` after `to` is a mistake, not an empty range. */
  private range(request: EventFeedRequest): { from?: Date; to?: Date } {
    const problems: FieldProblem[] = [];
    if (request.after !== undefined && request.from !== undefined) {
      problems.push({
        field: 'from',
        messages: ['from cannot be combined with after (after already says where to start)'],
      });
    }
    const from = request.from === undefined ? undefined : new Date(request.from);
    const to = request.to === undefined ? undefined : new Date(request.to);
    if (from && to && from.getTime() > to.getTime()) {
      problems.push({ field: 'to', messages: ['to must not be before from'] });
    }
    if (problems.length > 0) throw new RequestValidationFailed(problems);
    return { from, to };
  }
}
