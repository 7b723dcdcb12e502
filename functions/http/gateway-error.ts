import { ERROR_CODES, type ErrorCode } from './error-codes.ts';

export interface GatewayErrorOptions {
  /** Extra response headers, e.g. `Retry-After` or `WWW-Authenticate`. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

/**
 * The one error type that reaches callers. Its `detail` is always safe to show: it never
 * holds a secret, a token or a request body. Anything thrown that is not a GatewayError is
 * a bug and leaves as a generic 500 `internal_error`.
 */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, detail: string, options: GatewayErrorOptions = {}) {
    super(detail, { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.title = ERROR_CODES[code].title;
    this.detail = detail;
    this.headers = options.headers ?? {};
  }
}
