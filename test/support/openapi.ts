import type { INestApplication } from '@nestjs/common';

/** The parts of an OpenAPI 3.0 document the tests read. */
export interface Schema {
  $ref?: string;
  type?: string;
  nullable?: boolean;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  example?: unknown;
}

export interface MediaType {
  schema?: Schema;
  example?: unknown;
  examples?: Record<string, { summary?: string; value: unknown }>;
}

export interface ResponseDoc {
  description: string;
  headers?: Record<string, unknown>;
  content?: Record<string, MediaType>;
}

export interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema; example?: unknown }[];
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, ResponseDoc>;
  security?: Record<string, string[]>[];
  [extension: `x-${string}`]: unknown;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; securitySchemes?: Record<string, unknown> };
}

export const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

export interface DocumentedOperation {
  method: string;
  path: string;
  op: Operation;
}

export function operationsOf(doc: OpenApiDocument): DocumentedOperation[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    HTTP_METHODS.filter((method) => item[method]).map((method) => ({ method, path, op: item[method] })),
  );
}

export interface Endpoint {
  /** An HTTP method in lower case, or `*` for a sub-router mounted at `path`. */
  method: string;
  path: string;
}

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  rawPath?: string | string[];
  handle?: { stack?: unknown[] };
}

/** Nest applies middleware bound with forRoutes('*path') as an Express route for every method at this path. */
const MIDDLEWARE_WILDCARD = /^[{/]*\*\w+\}?$/;

/**
 * Everything the running Express app answers, read from its router: every route (Nest's controllers,
 * Swagger's pages, anything added with app.get) and every sub-router mounted at a path (bull-board, say).
 * Plain middleware (body parsers, static files, Nest's middleware for all routes) is not an endpoint.
 */
export function registeredEndpoints(app: INestApplication): Endpoint[] {
  const express = app.getHttpAdapter().getInstance() as { router: { stack: Layer[] } };
  const endpoints: Endpoint[] = [];
  for (const layer of express.router.stack) {
    if (layer.route) {
      const methods = Object.keys(layer.route.methods);
      const everyMethod = methods.includes('_all') || HTTP_METHODS.every((m) => methods.includes(m));
      for (const path of ([] as string[]).concat(layer.route.path)) {
        if (everyMethod && MIDDLEWARE_WILDCARD.test(path)) continue;
        if (everyMethod) endpoints.push({ method: '*', path });
        else for (const method of methods) endpoints.push({ method, path });
      }
    } else if (Array.isArray(layer.handle?.stack)) {
      for (const path of ([] as string[]).concat(layer.rawPath ?? '/')) endpoints.push({ method: '*', path });
    }
  }
  return endpoints;
}

/** `/api/orders/:orderNo` → `/api/orders/{orderNo}`. */
export function toOpenApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function resolve(doc: OpenApiDocument, ref: string): Schema {
  const name = ref.replace('#/components/schemas/', '');
  const schema = doc.components.schemas[name];
  if (!schema) throw new Error(`unresolved ${ref}`);
  return schema;
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A small OpenAPI 3.0 schema check, strict about objects: a property the schema does not list is an
 * error (unless `additionalProperties` allows it), so an undocumented field in a response is found.
 * Returns what is wrong, by JSON path; empty when the value fits.
 */
export function validate(doc: OpenApiDocument, schema: Schema, value: unknown, at = '$'): string[] {
  if (value === null) {
    if (schema.nullable) return [];
    if (schema.$ref) return validate(doc, resolve(doc, schema.$ref), value, at);
    return [`${at}: null is not allowed`];
  }
  if (schema.$ref) return validate(doc, resolve(doc, schema.$ref), value, at);
  if (schema.allOf) return schema.allOf.flatMap((part) => validate(doc, part, value, at));
  if (schema.anyOf) {
    const fits = schema.anyOf.some((option) => validate(doc, option, value, at).length === 0);
    return fits ? [] : [`${at}: matches none of the anyOf schemas`];
  }
  if (schema.oneOf) {
    const matches = schema.oneOf.filter((option) => validate(doc, option, value, at).length === 0).length;
    return matches === 1 ? [] : [`${at}: matches ${matches} of the oneOf schemas`];
  }
  const errors: string[] = [];
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${at}: ${JSON.stringify(value)} is not in the enum`);
  const type = schema.type ?? (schema.properties ? 'object' : undefined);
  switch (type) {
    case 'string':
      if (typeof value !== 'string') return [...errors, `${at}: expected a string`];
      if (schema.minLength !== undefined && value.length < schema.minLength) errors.push(`${at}: too short`);
      if (schema.maxLength !== undefined && value.length > schema.maxLength) errors.push(`${at}: too long`);
      if (schema.pattern && !new RegExp(schema.pattern).test(value)) errors.push(`${at}: does not match the pattern`);
      if (schema.format === 'date-time' && !ISO_DATE_TIME.test(value)) errors.push(`${at}: not a date-time`);
      break;
    case 'integer':
    case 'number':
      if (typeof value !== 'number' || (type === 'integer' && !Number.isInteger(value))) {
        return [...errors, `${at}: expected ${type === 'integer' ? 'an integer' : 'a number'}`];
      }
      if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${at}: below the minimum`);
      if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${at}: above the maximum`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') errors.push(`${at}: expected a boolean`);
      break;
    case 'array':
      if (!Array.isArray(value)) return [...errors, `${at}: expected an array`];
      if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(`${at}: too few items`);
      if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push(`${at}: too many items`);
      value.forEach((item, i) =>
        errors.push(...(schema.items ? validate(doc, schema.items, item, `${at}[${i}]`) : [])),
      );
      break;
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return [...errors, `${at}: expected an object`];
      const record = value as Record<string, unknown>;
      for (const name of schema.required ?? []) {
        if (!(name in record)) errors.push(`${at}.${name}: required but missing`);
      }
      for (const [name, property] of Object.entries(record)) {
        const declared = schema.properties?.[name];
        if (declared) errors.push(...validate(doc, declared, property, `${at}.${name}`));
        else if (typeof schema.additionalProperties === 'object') {
          errors.push(...validate(doc, schema.additionalProperties, property, `${at}.${name}`));
        } else if (schema.additionalProperties !== true) errors.push(`${at}.${name}: not in the schema`);
      }
      break;
    }
    default:
      break; // no type: anything goes
  }
  return errors;
}
