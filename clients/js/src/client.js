// `new PhonyClient({ baseUrl, apiKey })`: the resources of the Phony API on one connection setup.

import { Events } from './events.js';
import { Agents } from './resources/agents.js';
import { Calls } from './resources/calls.js';
import { Overrides } from './resources/overrides.js';
import { Tenants } from './resources/tenants.js';
import { Transport } from './transport.js';

export const DEFAULT_BASE_URL = 'http://localhost:24187';

/**
 * @typedef {object} ClientOptions
 * @property {string} [baseUrl] Default: `PHONY_BASE_URL` (Node), else `http://localhost:24187`.
 * @property {string} [apiKey] A tenant key (`pk_live_…`) or the operator key. Default: `PHONY_API_KEY` (Node).
 * @property {number} [timeout] Milliseconds per request attempt (default 30 000).
 * @property {number} [maxRetries] Retries of idempotent requests (GET, PUT, DELETE) on 429, 503 and
 *   connection errors, with exponential backoff and jitter, or `Retry-After` (default 2).
 * @property {typeof fetch} [fetch] Default: the global `fetch`.
 * @property {import('./socket.js').SocketClass} [WebSocket] Default: the global `WebSocket`, else the `ws` package.
 */

/** @param {string} name */
function env(name) {
  const processLike = /** @type {{ process?: { env?: Record<string, string | undefined> } }} */ (globalThis).process;
  return processLike?.env?.[name] || undefined;
}

export class PhonyClient {
  /** @param {ClientOptions} [options] */
  constructor(options = {}) {
    const fetchFn = options.fetch ?? globalThis.fetch;
    if (typeof fetchFn !== 'function') throw new Error('no fetch here: pass one as new PhonyClient({ fetch })');
    const http = new Transport({
      baseUrl: options.baseUrl ?? env('PHONY_BASE_URL') ?? DEFAULT_BASE_URL,
      apiKey: options.apiKey ?? env('PHONY_API_KEY'),
      timeout: options.timeout ?? 30_000,
      maxRetries: options.maxRetries ?? 2,
      fetch: (input, init) => fetchFn(input, init), // called unbound, as browsers require
    });
    /** @internal */
    this.http = http;
    this.agents = new Agents(http);
    this.calls = new Calls(http);
    this.overrides = new Overrides(http);
    this.tenants = new Tenants(http);
    this.events = new Events(http, options.WebSocket);
  }

  /** The base URL requests go to. */
  get baseUrl() {
    return this.http.baseUrl;
  }

  /**
   * `GET /healthz`: the server's status and its dependencies' (a degraded server answers 503:
   * UnavailableError).
   * @returns {Promise<import('./types.js').Health>}
   */
  health() {
    return this.http.request('GET', '/healthz');
  }
}
