import { Injectable } from '@nestjs/common';

/** Sends webhook partners' deliveries (being written). */
@Injectable()
export class WebhookDispatcher {
  kick(): void {}
}
