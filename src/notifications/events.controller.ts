import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CallerApp, RequireApiKey } from '../applications/api-key.guard';
import { TAGS } from '../common/openapi/api-decorators';
import { ApiErrors } from '../common/openapi/api-errors';
import { EXAMPLE } from '../common/openapi/examples';
import { EventPageResponse, PaymentEventResponse } from './event.response';
import { EventIdParam, EventsQuery } from './events.dto';
import { EventsFeedService } from './events-feed.service';

/** The events API: an application's own payment events, to catch up or reconcile (docs/events.md). */
@ApiTags(TAGS.events)
@Controller('api/events')
export class EventsController {
  constructor(@Inject(EventsFeedService) private readonly feed: EventsFeedService) {}

  @Get()
  @ApiOperation({
    summary: "List the application's payment events, oldest first",
    description:
      'Ordered by creation time (ties in write order). Page with `after` = `nextAfter` of the previous page: no ' +
      'event is skipped or repeated, also across a restart of yours. Or read a time range with `from` / `to` ' +
      '(then continue with `after` and the same `to`). Events appear once they are EVENTS_FEED_DELAY_MS (2 s) ' +
      'old, so that one committed late is never passed by a cursor; they are kept EVENTS_RETENTION (30 days).',
  })
  @ApiOkResponse({ type: EventPageResponse, description: 'A page of events.' })
  @ApiErrors('VALIDATION_FAILED', 'EVENT_NOT_FOUND')
  @RequireApiKey('events:read')
  list(@CallerApp() applicationId: string, @Query() query: EventsQuery) {
    return this.feed.list(applicationId, query);
  }

  @Get(':eventId')
  @ApiOperation({ summary: 'Read one event', description: 'The body exactly as partners receive it.' })
  @ApiParam({ name: 'eventId', description: 'The event id (`id` of its body).', example: EXAMPLE.eventId })
  @ApiOkResponse({ type: PaymentEventResponse, description: 'The event.' })
  @ApiErrors('VALIDATION_FAILED', 'EVENT_NOT_FOUND')
  @RequireApiKey('events:read')
  get(@CallerApp() applicationId: string, @Param() params: EventIdParam) {
    return this.feed.get(applicationId, params.eventId);
  }
}
