// `client.events`: live call events over `/events/ws`, resumed with `since=` after a drop so that the
// callback sees every event of a call once, in seq order; `onState` tells the caller how the
// connection stands meanwhile (a page can say "reconnecting" rather than show stale calls as live).

import { ConnectionError, errorFromClose, PhonyError } from './errors.js';
import { fromWire } from './names.js';
import { socketFactory } from './socket.js';
import { backoff } from './transport.js';

/** Close code of a refusal (bad key, unknown call, too many sockets): reconnecting cannot help. */
const POLICY_VIOLATION = 1008;
/** A socket that lived this long counts as healthy: its drop starts the backoff afresh. */
const HEALTHY_MS = 30_000;

/** @typedef {import('./types.js').PhonyEvent} PhonyEvent */
/** @typedef {import('./transport.js').Transport} Transport */
/** @typedef {import('./socket.js').SocketClass} SocketClass */
/** @typedef {import('./socket.js').SocketLike} SocketLike */

/**
 * @typedef {object} SubscribeOptions
 * @property {number} [since] Start after this seq (`0`: the call's whole log first). Default: from
 *   now on (a call that has already ended is replayed whole, so its `call.ended` still comes).
 * @property {(error: PhonyError) => void} [onError] Called when the subscription stops on an error
 *   (a refused key, an unknown call, the server unreachable after `maxReconnects`), and when the
 *   callback throws. Default: `console.error`.
 * @property {number} [maxReconnects] Consecutive failed reconnects before giving up (default 10).
 * @property {(state: ConnectionState) => void} [onState] Called each time the connection changes:
 *   `connecting`, then `open`; `reconnecting` after each drop; `closed` once, last. An error it
 *   throws goes to `onError`.
 */

/**
 * How a subscription's connection stands, as `onState` is told of it:
 * - `connecting`: the first socket is being opened.
 * - `open`: a socket is connected. `attempt` is the reconnect that opened it (0: the first socket).
 *   The server checks the key and the call after the handshake, so a refusal still comes, as
 *   `closed` with its error. A call's stream goes on after the last event it handed on; the tenant's
 *   (`subscribe(null, …)`) cannot: after an `open` with `attempt > 0`, read what you follow again.
 * - `reconnecting`: the socket dropped (`error` says how: a {@link ConnectionError} with the close
 *   code in `details.closeCode`); reconnect `attempt` (1, 2, … up to `maxReconnects`) is made in
 *   `delayMs`. Events shown until now may be stale until the next `open`.
 * - `closed`: the subscription stopped, for `reason` (with `error` when it stopped on one), as
 *   `done` then resolves. Nothing follows it.
 * @typedef {{ state: 'connecting', attempt: 0, lastSeq: number | null }
 *   | { state: 'open', attempt: number, lastSeq: number | null }
 *   | { state: 'reconnecting', attempt: number, delayMs: number, error: PhonyError, lastSeq: number | null }
 *   | { state: 'closed', reason: SubscriptionEnd['reason'], error?: PhonyError, lastSeq: number | null }} ConnectionState
 */

/**
 * How a subscription stopped: the call ended, `unsubscribe()` was called, or an error.
 * @typedef {{ reason: 'ended' | 'unsubscribed' | 'error', error?: PhonyError, lastSeq: number | null }} SubscriptionEnd
 */

/**
 * Stops the subscription; `done` resolves (never rejects) once it has stopped, for any reason.
 * @typedef {(() => void) & { done: Promise<SubscriptionEnd> }} Unsubscribe
 */

export class Events {
  /**
   * @param {Transport} http
   * @param {SocketClass} [WebSocket]
   */
  constructor(http, WebSocket) {
    this.http = http;
    this.WebSocket = WebSocket;
  }

  /**
   * Call `callback` with each event of call `callSid` (or, with `null`, of every call of the
   * tenant) as it happens. A dropped socket is reopened with `since=<last seq>`: no event is missed
   * or repeated. A call's subscription stops by itself after `call.ended`. `options.onState` follows
   * the connection (open, reconnecting, closed).
   * @param {string | null} callSid
   * @param {(event: PhonyEvent) => void} callback
   * @param {SubscribeOptions} [options]
   * @returns {Unsubscribe}
   */
  subscribe(callSid, callback, options = {}) {
    if (typeof callback !== 'function') throw new TypeError('subscribe(callSid, callback): callback must be a function');
    const subscription = new Subscription(this, callSid, callback, options);
    subscription.start();
    const unsubscribe = /** @type {Unsubscribe} */ (() => subscription.stop('unsubscribed'));
    unsubscribe.done = subscription.done;
    return unsubscribe;
  }
}

class Subscription {
  /**
   * @param {Events} events
   * @param {string | null} callSid
   * @param {(event: PhonyEvent) => void} callback
   * @param {SubscribeOptions} options
   */
  constructor(events, callSid, callback, options) {
    this.http = events.http;
    this.WebSocket = events.WebSocket;
    this.callSid = callSid;
    this.callback = callback;
    this.options = options;
    /** @type {number | null} seq of the last event handed to the callback (or to start after). */
    this.lastSeq = null;
    this.stopped = false;
    /** Reconnects in a row that got no event through (reset by an event or a long-lived socket). */
    this.failures = 0;
    /** @type {SocketLike | null} */
    this.socket = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    /** @type {(end: SubscriptionEnd) => void} */
    this.resolve = () => {};
    /** @type {Promise<SubscriptionEnd>} */
    this.done = new Promise((resolve) => {
      this.resolve = resolve;
    });
  }

  async start() {
    this.tell({ state: 'connecting', attempt: 0, lastSeq: this.lastSeq });
    try {
      this.lastSeq = await this.startingSeq();
      await this.connect();
    } catch (error) {
      this.stop('error', asPhonyError(error));
    }
  }

  /**
   * Where a call's stream starts: after `since`, else after the call's latest event (so that a drop
   * before the first event still resumes without a gap).
   * @returns {Promise<number | null>}
   */
  async startingSeq() {
    if (this.options.since !== undefined) return this.options.since;
    if (this.callSid === null) return null;
    /** @type {import('./types.js').Call} */
    const call = await this.http.request('GET', `/calls/${encodeURIComponent(this.callSid)}`);
    return call.endedAt ? 0 : call.lastSeq;
  }

  async connect() {
    if (this.stopped) return;
    const { Socket, sendsHeaders } = await socketFactory(this.WebSocket);
    if (this.stopped) return;
    const url = new URL(this.http.baseUrl.replace(/^http/, 'ws') + '/events/ws');
    if (this.callSid !== null) url.searchParams.set('callSid', this.callSid);
    if (this.callSid !== null && this.lastSeq !== null) url.searchParams.set('since', String(this.lastSeq));
    const key = this.http.apiKey;
    if (key && !sendsHeaders) url.searchParams.set('token', key);
    const socket = sendsHeaders && key
      ? new Socket(url.toString(), { headers: { Authorization: `Bearer ${key}` } })
      : new Socket(url.toString());
    const opened = Date.now();
    const attempt = this.failures;
    this.socket = socket;
    socket.addEventListener('open', () => {
      if (socket === this.socket) this.tell({ state: 'open', attempt, lastSeq: this.lastSeq });
    });
    socket.addEventListener('message', (message) => {
      if (socket === this.socket) this.receive(socket, message.data);
    });
    socket.addEventListener('close', (close) => {
      if (socket === this.socket) this.dropped(close.code, close.reason, Date.now() - opened);
    });
    socket.addEventListener('error', () => {}); // a close event follows, and says more
  }

  /**
   * @param {SocketLike} socket
   * @param {unknown} data
   */
  receive(socket, data) {
    /** @type {PhonyEvent} */
    let event;
    try {
      event = fromWire(JSON.parse(String(data)));
    } catch (error) {
      this.report(new PhonyError('unreadable event from the server', { cause: error }));
      return;
    }
    this.failures = 0;
    if (this.callSid !== null) {
      if (this.lastSeq !== null && event.seq <= this.lastSeq) return; // already handed on
      if (this.lastSeq !== null && event.seq > this.lastSeq + 1) {
        // A gap the server should never leave: ask again from the last event we have.
        this.socket = null;
        socket.close(1000);
        this.retry(new PhonyError(`seq ${event.seq} came after ${this.lastSeq}`, { code: 'SEQ_GAP' }));
        return;
      }
      this.lastSeq = event.seq;
    }
    try {
      this.callback(event);
    } catch (error) {
      this.report(asPhonyError(error));
    }
    if (this.callSid !== null && event.type === 'call.ended') this.stop('ended');
  }

  /**
   * @param {number} code
   * @param {string} reason
   * @param {number} livedMs
   */
  dropped(code, reason, livedMs) {
    this.socket = null;
    if (this.stopped) return;
    if (code === POLICY_VIOLATION) {
      this.stop('error', errorFromClose(code, reason));
      return;
    }
    if (livedMs >= HEALTHY_MS) this.failures = 0;
    const message = `events socket closed (${reason ? `${code} ${reason}` : code})`;
    this.retry(new ConnectionError(message, { code: `WS_CLOSE_${code}`, details: { closeCode: code, reason } }));
  }

  /**
   * Reconnect after a backoff, unless that has failed `maxReconnects` times in a row.
   * @param {PhonyError} error Why the socket went.
   */
  retry(error) {
    this.failures += 1;
    const limit = this.options.maxReconnects ?? 10;
    if (this.failures > limit) {
      const message = `events socket kept closing: gave up after ${limit} reconnects (last: ${error.message})`;
      this.stop('error', new ConnectionError(message, { cause: error }));
      return;
    }
    const delayMs = backoff(this.failures - 1);
    this.timer = setTimeout(() => {
      this.connect().catch((failure) => this.stop('error', asPhonyError(failure)));
    }, delayMs);
    this.tell({ state: 'reconnecting', attempt: this.failures, delayMs, error, lastSeq: this.lastSeq });
  }

  /**
   * @param {SubscriptionEnd['reason']} reason
   * @param {PhonyError} [error]
   */
  stop(reason, error) {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
    if (error) this.report(error);
    const end = error ? { reason, error, lastSeq: this.lastSeq } : { reason, lastSeq: this.lastSeq };
    this.tell({ state: 'closed', ...end });
    this.resolve(end);
  }

  /**
   * Tell `onState` how the connection stands; what it throws is reported, never raised here.
   * @param {ConnectionState} state
   */
  tell(state) {
    if (!this.options.onState) return;
    try {
      this.options.onState(state);
    } catch (error) {
      this.report(asPhonyError(error));
    }
  }

  /** @param {PhonyError} error */
  report(error) {
    if (this.options.onError) this.options.onError(error);
    else console.error(`phony-client: events of ${this.callSid ?? 'the tenant'}:`, error);
  }
}

/**
 * @param {unknown} error
 * @returns {PhonyError}
 */
function asPhonyError(error) {
  if (error instanceof PhonyError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PhonyError(message, { cause: error });
}
