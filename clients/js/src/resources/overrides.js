// `client.overrides`: a supervisor's controls on a live call (`/override/`). Each resolves once the
// server has taken the command; the call's events show it carried out. None is retried.

/** @typedef {import('../transport.js').Transport} Transport */
/** @typedef {import('../types.js').OverrideResult} OverrideResult */

export class Overrides {
  /** @param {Transport} http */
  constructor(http) {
    this.http = http;
  }

  /**
   * One of the server's `/override/<action>` routes (private: a public `send` would let any
   * action be posted, one the server does not have).
   * @param {'text' | 'transfer' | 'dtmf' | 'end' | 'clarification' | 'approve'} action
   * @param {Record<string, unknown>} body
   * @returns {Promise<OverrideResult>}
   */
  #send(action, body) {
    return this.http.request('POST', `/override/${action}`, { body });
  }

  /**
   * Speak `text` to the caller, word for word, interrupting the AI.
   * @param {string} callSid
   * @param {string} text
   */
  text(callSid, text) {
    return this.#send('text', { callSid, text });
  }

  /**
   * Transfer the caller to `target` (E.164).
   * @param {string} callSid
   * @param {string} target
   */
  transfer(callSid, target) {
    return this.#send('transfer', { callSid, target });
  }

  /**
   * Send DTMF digits (`0-9`, `*`, `#`, `w` for a pause).
   * @param {string} callSid
   * @param {string} digits
   */
  dtmf(callSid, digits) {
    return this.#send('dtmf', { callSid, digits });
  }

  /**
   * Hang up the call.
   * @param {string} callSid
   */
  end(callSid) {
    return this.#send('end', { callSid });
  }

  /**
   * Answer the AI's `[[request_user:…]]` question (ConflictError when none is open).
   * @param {string} callSid
   * @param {string} response
   */
  clarification(callSid, response) {
    return this.#send('clarification', { callSid, response });
  }

  /**
   * Release a reply held for approval; `text` replaces its words.
   * @param {string} callSid
   * @param {string} responseId
   * @param {{ text?: string }} [options]
   */
  approve(callSid, responseId, options = {}) {
    return this.#send('approve', { callSid, responseId, text: options.text });
  }
}
