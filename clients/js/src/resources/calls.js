// `client.calls`: placing calls and reading them back (`/calls/`).

import { everyPage, MAX_PAGE } from './pages.js';

/** @typedef {import('../transport.js').Transport} Transport */
/** @typedef {import('../types.js').Call} Call */

/**
 * A list filter's time as the API takes it.
 * @param {Date | string | undefined} at
 * @returns {string | undefined}
 */
function instant(at) {
  return at instanceof Date ? at.toISOString() : at;
}

export class Calls {
  /** @param {Transport} http */
  constructor(http) {
    this.http = http;
  }

  /**
   * Place an outbound call with an agent; resolves once the call exists (`call.started` is on its
   * log). Not retried: a second attempt could dial twice.
   * @param {import('../types.js').CallCreateParams} params
   * @returns {Promise<import('../types.js').CallPlaced>}
   */
  create(params) {
    return this.http.request('POST', '/calls/', { body: params });
  }

  /**
   * One page of the tenant's calls, newest first.
   * @param {import('../types.js').CallListParams} [params]
   * @returns {Promise<import('../types.js').CallList>}
   */
  list(params = {}) {
    const { createdSince, createdBefore, ...rest } = params;
    const query = { ...rest, createdSince: instant(createdSince), createdBefore: instant(createdBefore) };
    return this.http.request('GET', '/calls/', { query });
  }

  /**
   * Every call, page after page (newest first).
   * @param {import('../types.js').CallListParams} [params]
   * @returns {AsyncGenerator<Call, void, undefined>}
   */
  iterate(params = {}) {
    const { offset, limit = MAX_PAGE, ...filter } = params;
    return everyPage(async (at) => {
      const page = await this.list({ ...filter, limit, offset: at });
      return { items: page.calls, total: page.total };
    }, offset);
  }

  /**
   * @param {string} callSid
   * @returns {Promise<Call>}
   */
  get(callSid) {
    return this.http.request('GET', `/calls/${encodeURIComponent(callSid)}`);
  }

  /**
   * What the caller, the AI and the supervisor said, in order.
   * @param {string} callSid
   * @returns {Promise<import('../types.js').Transcript>}
   */
  transcript(callSid) {
    return this.http.request('GET', `/calls/${encodeURIComponent(callSid)}/transcript`);
  }

  /**
   * The call's event log in seq order (only events after `since`, if given).
   * @param {string} callSid
   * @param {{ since?: number }} [params]
   * @returns {Promise<import('../types.js').CallEvents>}
   */
  events(callSid, params = {}) {
    return this.http.request('GET', `/calls/${encodeURIComponent(callSid)}/events`, { query: { ...params } });
  }

  /**
   * The whole call as a stereo WAV file (caller left, AI right).
   * @param {string} callSid
   * @returns {Promise<ArrayBuffer>}
   */
  recording(callSid) {
    return this.http.request('GET', `/calls/${encodeURIComponent(callSid)}/recording`, { expect: 'bytes' });
  }

  /**
   * What the AI said in one response (an `ai.response`'s `audioUrl`), as a mono WAV file.
   * @param {string} callSid
   * @param {string} responseId
   * @returns {Promise<ArrayBuffer>}
   */
  responseAudio(callSid, responseId) {
    const path = `/calls/${encodeURIComponent(callSid)}/responses/${encodeURIComponent(responseId)}/audio`;
    return this.http.request('GET', path, { expect: 'bytes' });
  }
}
