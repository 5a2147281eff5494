// Errors as the server's envelope states them ({"error": {code, message, details}}), one class per
// status a caller may want to handle on its own, and ConnectionError when no answer came at all.

/**
 * Any failure of a Phony request. Errors the server answered carry its `status`, `code`, `message`
 * and `details`; a {@link ConnectionError} has `status` 0.
 */
export class PhonyError extends Error {
  /**
   * @param {string} message The server's message (or what went wrong before an answer came).
   * @param {{ status?: number, code?: string, details?: Record<string, unknown>, headers?: Headers, cause?: unknown }} [info]
   */
  constructor(message, info = {}) {
    super(message, info.cause === undefined ? undefined : { cause: info.cause });
    this.name = new.target.name;
    /** HTTP status (0 when the server gave no answer). */
    this.status = info.status ?? 0;
    /** The envelope's code, e.g. `NOT_FOUND`, `VALIDATION_ERROR`. */
    this.code = info.code ?? 'ERROR';
    /** The envelope's details (for validation: `field`, `value`, `errors`), as the server sent them. */
    this.details = info.details ?? {};
    /** The response headers, when there was a response. */
    this.headers = info.headers;
  }
}

/** 400: the request could not be read (e.g. the body is not JSON, or Twilio refused the number). */
export class BadRequestError extends PhonyError {}
/** 401: the API key is missing, unknown, revoked or expired. */
export class AuthenticationError extends PhonyError {}
/** 403: the key is valid but may not do this (e.g. the tenant is suspended). */
export class PermissionDeniedError extends PhonyError {}
/** 404: no such resource for this key's tenant (another tenant's ids are unknown too). */
export class NotFoundError extends PhonyError {}
/** 409: the request conflicts with the current state (a phone number in use, an inactive agent). */
export class ConflictError extends PhonyError {}
/** 422: a field is invalid; `details.field` names it and `details.value` is what was sent. */
export class ValidationError extends PhonyError {}

/** 429: over the key's rate limit; `retryAfter` is the seconds to wait (the `Retry-After` header). */
export class RateLimitedError extends PhonyError {
  /**
   * @param {string} message
   * @param {{ status?: number, code?: string, details?: Record<string, unknown>, headers?: Headers, retryAfter?: number | null }} [info]
   */
  constructor(message, info = {}) {
    super(message, info);
    /** Seconds until the limit resets, or `null` if the server did not say. */
    this.retryAfter = info.retryAfter ?? null;
  }
}

/** 503: a dependency of the server (Kafka, MongoDB, Redis) is down; the request was not carried out. */
export class UnavailableError extends PhonyError {}
/** 5xx other than 503: the server failed. */
export class InternalServerError extends PhonyError {}

/** No answer: the server could not be reached, the connection dropped, or the request timed out. */
export class ConnectionError extends PhonyError {}
/** No answer within the client's `timeout`. */
export class RequestTimeoutError extends ConnectionError {}

/** @type {Record<number, typeof PhonyError>} */
const BY_STATUS = {
  400: BadRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  422: ValidationError,
  503: UnavailableError,
};

/**
 * Seconds to wait from a `Retry-After` header (seconds or an HTTP date), or `null`.
 * @param {string | null} value
 * @returns {number | null}
 */
export function parseRetryAfter(value) {
  if (value == null || value.trim() === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000);
}

/**
 * The typed error for an error response, from its envelope when it has one.
 * @param {number} status
 * @param {Headers} headers
 * @param {string} text The response body.
 * @returns {PhonyError}
 */
export function errorFromResponse(status, headers, text) {
  let code = 'ERROR';
  let message = `HTTP ${status}`;
  /** @type {Record<string, unknown>} */
  let details = {};
  try {
    const body = JSON.parse(text);
    const error = body && typeof body === 'object' ? body.error : undefined;
    if (error && typeof error === 'object') {
      code = typeof error.code === 'string' ? error.code : code;
      message = typeof error.message === 'string' ? error.message : message;
      details = error.details && typeof error.details === 'object' ? error.details : {};
    }
  } catch {
    // Not the envelope (a proxy's page, say): keep its start as the message.
    if (text.trim()) message = `HTTP ${status}: ${text.trim().slice(0, 200)}`;
  }
  const info = { status, code, details, headers };
  if (status === 429) {
    return new RateLimitedError(message, { ...info, retryAfter: parseRetryAfter(headers.get('retry-after')) });
  }
  const Kind = BY_STATUS[status] ?? (status >= 500 ? InternalServerError : PhonyError);
  return new Kind(message, info);
}

/**
 * The typed error for an events socket the server closed with a reason (1008 policy violation:
 * a refused key, an unknown call, too many sockets).
 * @param {number} code WebSocket close code.
 * @param {string} reason
 * @returns {PhonyError}
 */
export function errorFromClose(code, reason) {
  const message = reason || `events socket closed (${code})`;
  const info = { status: 0, code: `WS_CLOSE_${code}`, details: { closeCode: code, reason } };
  if (/call not found/i.test(reason)) return new NotFoundError(message, { ...info, code: 'NOT_FOUND' });
  if (/too many/i.test(reason)) return new RateLimitedError(message, { ...info, code: 'RATE_LIMITED' });
  if (/suspended/i.test(reason)) return new PermissionDeniedError(message, { ...info, code: 'FORBIDDEN' });
  if (/key/i.test(reason)) return new AuthenticationError(message, { ...info, code: 'UNAUTHORIZED' });
  if (/since|callSid|parameter/i.test(reason)) return new ValidationError(message, { ...info, code: 'VALIDATION_ERROR' });
  return new PhonyError(message, info);
}
