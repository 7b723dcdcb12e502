import { ResponseType, type RestApi } from 'aws-cdk-lib/aws-apigateway';
import { ERROR_CODES, type ErrorCode } from '../../functions/http/error-codes.ts';
import { PROBLEM_CONTENT_TYPE } from '../../functions/http/problem.ts';
import { REQUEST_ID_HEADER } from '../../functions/http/response.ts';

/**
 * How API Gateway's own errors (those raised before a function runs) are shaped, so that a
 * caller sees the same RFC 9457 problem document as from the functions.
 */
export interface ProblemResponse {
  readonly type: ResponseType;
  readonly code: ErrorCode;
  /**
   * Whether to pin the HTTP status to the code's. The DEFAULT_* catch-alls keep the status
   * API Gateway chose (it varies), so their body leaves `status` out rather than guess it.
   */
  readonly pinStatus: boolean;
  /** A fixed detail; by default API Gateway's own message. */
  readonly detail?: string;
}

export const PROBLEM_RESPONSES: readonly ProblemResponse[] = [
  { type: ResponseType.UNAUTHORIZED, code: 'unauthorized', pinStatus: true },
  { type: ResponseType.ACCESS_DENIED, code: 'forbidden', pinStatus: true },
  { type: ResponseType.WAF_FILTERED, code: 'forbidden', pinStatus: true },
  // API Gateway answers an unknown path, or a known path with another method, with
  // MISSING_AUTHENTICATION_TOKEN (403 "Missing Authentication Token"), which misleads callers.
  {
    type: ResponseType.MISSING_AUTHENTICATION_TOKEN,
    code: 'not_found',
    pinStatus: true,
    detail: 'No route matches this method and path',
  },
  { type: ResponseType.RESOURCE_NOT_FOUND, code: 'not_found', pinStatus: true },
  { type: ResponseType.THROTTLED, code: 'throttled', pinStatus: true },
  { type: ResponseType.REQUEST_TOO_LARGE, code: 'payload_too_large', pinStatus: true },
  { type: ResponseType.INTEGRATION_FAILURE, code: 'gateway_error', pinStatus: true },
  { type: ResponseType.INTEGRATION_TIMEOUT, code: 'gateway_timeout', pinStatus: true },
  { type: ResponseType.DEFAULT_4XX, code: 'invalid_request', pinStatus: false },
  { type: ResponseType.DEFAULT_5XX, code: 'internal_error', pinStatus: false },
];

/**
 * The body mapping template. Gateway response templates are not run through VTL, but
 * `$context` variables are substituted; `$context.error.messageString` is already a quoted
 * JSON string. `error` repeats `detail`, as in the functions' problems (`http/problem.ts`).
 */
export function problemTemplate(response: ProblemResponse): string {
  const { status, title } = ERROR_CODES[response.code];
  const detail =
    response.detail === undefined
      ? '$context.error.messageString'
      : JSON.stringify(response.detail);
  const statusMember = response.pinStatus ? `"status":${status},` : '';
  return `{"type":"about:blank",${statusMember}"title":${JSON.stringify(title)},"detail":${detail},"code":"${response.code}","requestId":"$context.requestId","error":${detail}}`;
}

export function addProblemResponses(api: RestApi): void {
  for (const response of PROBLEM_RESPONSES) {
    api.addGatewayResponse(`Problem${response.type.responseType}`, {
      type: response.type,
      ...(response.pinStatus ? { statusCode: String(ERROR_CODES[response.code].status) } : {}),
      responseHeaders: {
        // Header values are mapping expressions: a literal is single-quoted, and `context.*`
        // maps a context variable (API Gateway also always sends `x-amzn-RequestId`).
        'Content-Type': `'${PROBLEM_CONTENT_TYPE}'`,
        [REQUEST_ID_HEADER]: 'context.requestId',
      },
      templates: { 'application/json': problemTemplate(response) },
    });
  }
}
