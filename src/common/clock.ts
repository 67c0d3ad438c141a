import { Injectable } from '@nestjs/common';

/** The one source of "now" in the money path, so tests can move time instead of sleeping. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
