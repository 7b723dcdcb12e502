import type * as z from 'zod/mini';
import { GatewayError } from '../http/gateway-error.ts';
import { routeFor } from '../routes.ts';
import { surfaceOf } from '../routing/resolve-endpoint.ts';
import type { GatewayRuntime } from '../runtime/gateway-runtime.ts';
import { describeIssues } from '../validation/describe-issues.ts';
import { submissionForValidation } from '../validation/json-scan.ts';
import { jobPathSchema } from '../validation/request-schemas.ts';
import type { GatewayMiddleware } from './request-state.ts';

export interface RequestSchemas {
  readonly query: z.ZodMiniType;
  /** JSON body schema; routes without one ignore any body (RunPod's SDKs send `{}` or nothing). */
  readonly body?: z.ZodMiniType;
  readonly hasJobId: boolean;
}

function parsed<T>(schema: z.ZodMiniType<T>, value: unknown, part: string): T {
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) {
    throw new GatewayError('invalid_request', describeIssues(result.error.issues, part));
  }
  return result.data;
}

/**
 * Validates each part of the request on its own (surface, path, query, body) with the
 * operation's zod schemas, and enforces the request body limit before parsing anything.
 */
export function validateRequest(
  runtime: GatewayRuntime,
  schemas: RequestSchemas,
): GatewayMiddleware {
  const limit = runtime.settings.maxRequestBodyBytes;
  const perSurface = routeFor(runtime.operation).gatewayWide !== true;
  return {
    before: (request) => {
      const { event, context } = request;
      const state = context.gateway;
      if (perSurface) {
        const surfaceName = event.pathParameters?.surface ?? '';
        state.surface = surfaceOf(runtime.routing, surfaceName);
        state.surfaceName = surfaceName;
      }
      if (schemas.hasJobId) {
        state.jobId = parsed(jobPathSchema, { jobId: event.pathParameters?.jobId }, '').jobId;
      }
      state.query = parsed(schemas.query, event.queryStringParameters ?? {}, 'query');

      if (!schemas.body) return;
      const text = bodyTextOf(event.body, event.isBase64Encoded, limit);
      let json: unknown;
      try {
        // `input` is checked, not built: the raw text is what RunPod gets (json-scan.ts).
        json = submissionForValidation(text);
      } catch {
        throw new GatewayError('invalid_json', 'The request body must be a JSON object');
      }
      state.body = parsed(schemas.body, json, '');
      state.bodyText = text;
    },
  };
}

function bodyTextOf(body: string | null, isBase64Encoded: boolean, limit: number): string {
  if (body === null || body === '') {
    throw new GatewayError('invalid_request', 'A JSON body with an "input" object is required');
  }
  const bytes = isBase64Encoded ? Buffer.from(body, 'base64') : undefined;
  const size = bytes ? bytes.length : Buffer.byteLength(body, 'utf8');
  if (size > limit) {
    throw new GatewayError(
      'payload_too_large',
      `The request body is ${size} bytes; the limit is ${limit} bytes. Pass large inputs by URL (for example a presigned S3 URL in "input") instead of inline.`,
    );
  }
  return bytes ? bytes.toString('utf8') : body;
}
