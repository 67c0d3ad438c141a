import type { IncomingMessage, ServerResponse } from 'node:http';
import type { INestApplication } from '@nestjs/common';

/**
 * Node's request under the HTTP platform's own. Express extends Node's objects (they are the same object);
 * Fastify wraps them (`raw`), and its middleware (@fastify/middie) are handed Node's. Whatever a guard
 * leaves for a middleware goes on this one.
 */
export function nodeRequest<T extends IncomingMessage = IncomingMessage>(request: object): T {
  return ((request as { raw?: T }).raw ?? request) as T;
}

/** Node's response under the platform's own (see nodeRequest): where 'finish' and 'close' are emitted. */
export function nodeResponse(response: object): ServerResponse {
  return ((response as { raw?: ServerResponse }).raw ?? response) as ServerResponse;
}

/** The HTTP platform Nest runs the app on (its adapter's type). */
export type HttpPlatform = 'express' | 'fastify';

export const httpPlatform = (app: INestApplication): HttpPlatform => app.getHttpAdapter().getType() as HttpPlatform;
