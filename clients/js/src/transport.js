// HTTP to Phony: the key, the wire's names, timeouts, typed errors, and retries with backoff and
// jitter for requests that are safe to send twice.

import { ConnectionError, errorFromResponse, PhonyError, RateLimitedError, RequestTimeoutError } from './errors.js';
import { fromWire, toWire } from './names.js';

/** Methods that may be repeated: a retry cannot do anything twice. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
/** Statuses worth another try: over the rate limit, a dependency down. */
const RETRIED_STATUSES = new Set([429, 503]);
/** Longest `Retry-After` waited for; past it the error is thrown at once. */
const MAX_RETRY_AFTER_S = 60;

/**
 * @typedef {object} TransportOptions
 * @property {string} baseUrl
 * @property {string | undefined} apiKey
 * @property {number} timeout Milliseconds per attempt.
 * @property {number} maxRetries Further attempts after the first, for idempotent requests.
 * @property {typeof fetch} fetch
 */

/**
 * @typedef {object} RequestOptions
 * @property {unknown} [body] Sent as JSON, in the wire's names.
 * @property {Record<string, unknown>} [query] In the wire's names; `undefined` values are left out.
 * @property {'json' | 'bytes'} [expect] What the response holds (default JSON, in the SDK's names).
 * @property {AbortSignal} [signal]
 */

export class Transport {
  /** @param {TransportOptions} options */
  constructor(options) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.timeout = options.timeout;
    this.maxRetries = options.maxRetries;
    this.fetch = options.fetch;
  }

  /**
   * Send one request; resolves with the response body (`undefined` for 204).
   * @param {string} method
   * @param {string} path
   * @param {RequestOptions} [options]
   * @returns {Promise<any>}
   */
  async request(method, path, options = {}) {
    const url = this.url(path, options.query);
    const retries = IDEMPOTENT.has(method) ? this.maxRetries : 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(method, url, options);
      } catch (error) {
        const wait = attempt < retries ? retryDelay(error, attempt) : null;
        if (wait === null) throw error;
        await sleep(wait, options.signal);
      }
    }
  }

  /**
   * @param {string} path
   * @param {Record<string, unknown>} [query]
   */
  url(path, query) {
    const url = new URL(this.baseUrl + path);
    const wire = /** @type {Record<string, unknown>} */ (toWire(query ?? {}));
    for (const [key, value] of Object.entries(wire)) {
      if (value !== null) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  /**
   * @param {string} method
   * @param {string} url
   * @param {RequestOptions} options
   */
  async once(method, url, options) {
    /** @type {Record<string, string>} */
    const headers = { Accept: 'application/json' };
    if (this.apiKey) headers.Authorization = `Bearer ${this.apiKey}`;
    /** @type {string | undefined} */
    let body;
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(toWire(options.body));
    }
    const timeout = AbortSignal.timeout(this.timeout);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    try {
      const response = await this.fetch(url, { method, headers, body, signal });
      if (!response.ok) {
        throw errorFromResponse(response.status, response.headers, await response.text());
      }
      if (options.expect === 'bytes') return await response.arrayBuffer();
      if (response.status === 204) return undefined;
      const text = await response.text();
      return text ? fromWire(JSON.parse(text)) : undefined;
    } catch (error) {
      if (error instanceof PhonyError) throw error;
      if (timeout.aborted && !options.signal?.aborted) {
        throw new RequestTimeoutError(`${method} ${url} timed out after ${this.timeout} ms`, { cause: error });
      }
      if (options.signal?.aborted) throw error; // the caller's own abort: theirs to handle
      throw new ConnectionError(`${method} ${url} failed: ${describe(error)}`, { cause: error });
    }
  }
}

/**
 * Milliseconds before the next attempt after `error`, or `null` if it is not worth one.
 * @param {unknown} error
 * @param {number} attempt 0 for the first retry.
 * @returns {number | null}
 */
export function retryDelay(error, attempt) {
  if (!(error instanceof PhonyError)) return null;
  if (!(error instanceof ConnectionError) && !RETRIED_STATUSES.has(error.status)) return null;
  if (error instanceof RateLimitedError && error.retryAfter !== null) {
    return error.retryAfter <= MAX_RETRY_AFTER_S ? error.retryAfter * 1000 + Math.random() * 250 : null;
  }
  const after = error.headers ? Number(error.headers.get('retry-after')) : NaN;
  if (Number.isFinite(after) && after > 0 && after <= MAX_RETRY_AFTER_S) return after * 1000;
  return backoff(attempt);
}

/**
 * Exponential backoff with jitter: 0.5 s, 1 s, 2 s … (at most 8 s), each between half and all of it.
 * @param {number} attempt
 */
export function backoff(attempt) {
  const ceiling = Math.min(8000, 500 * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/**
 * @param {number} ms
 * @param {AbortSignal} [signal]
 * @returns {Promise<void>}
 */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** @param {unknown} error */
function describe(error) {
  if (!(error instanceof Error)) return String(error);
  const cause = /** @type {{ code?: string, message?: string } | undefined} */ (error.cause);
  return cause?.code ? `${error.message} (${cause.code})` : cause?.message ? `${error.message} (${cause.message})` : error.message;
}
