// One call: its live transcript and event timeline (from the call's whole log, then live), what
// waits for the supervisor, the controls, a per-turn latency chart and the audio players. While its
// event stream reconnects the call is marked stale; the stream resumes after the last event shown
// (since=), and one the SDK gave up on is opened again from there, so no event is missed or shown twice.

import { AuthenticationError, ConnectionError, NotFoundError, RateLimitedError } from '/sdk/js/index.js';
import { latencyChart } from './latency.js';
import { $, clock, el, errorText, withToken } from './ui.js';

/** One line of the timeline: what matters in an event's data, short. */
function summary(event) {
  const d = event.data ?? {};
  switch (event.type) {
    case 'call.started': return `${d.from} → ${d.to} (${d.direction}${d.scenario ? `, ${d.scenario}` : ''})`;
    case 'speech.detected': return `${d.speaker}: ${d.text}`;
    case 'ai.response': return `${d.interrupted ? '(interrupted) ' : ''}${d.text}`;
    case 'supervisor.text_sent': return d.text;
    case 'response.pending_approval': return `held: ${d.text}`;
    case 'response.approved': return `approved: ${d.text}`;
    case 'latency.measured': return `${d.metric} ${Math.round(d.ms)} ms`;
    case 'call.ended': return `${d.reason}, ${Math.round(d.duration ?? 0)} s`;
    case 'error.occurred': return `${d.code}: ${d.message}`;
    case 'command.executed': return `${d.command}${d.argument ? ` ${d.argument}` : ''} (${d.source})${d.accepted === false ? ` refused: ${d.reason}` : ''}`;
    default: {
      const text = JSON.stringify(d);
      return text === '{}' ? '' : text;
    }
  }
}

/** A stream that stopped on one of these may do better when opened again (others are refusals). */
const PASSING = [ConnectionError, RateLimitedError];
const passing = (error) => PASSING.some((kind) => error instanceof kind);
/** Wait before opening again a stream the SDK gave up on (the server away for long). */
const RETRY_MS = 2000;
const STREAM = 'this call';

export class CallView {
  /**
   * @param {import('/sdk/js/index.js').PhonyClient} client
   * @param {string} key
   * @param {import('./conn.js').Connection} conn
   * @param {(e: unknown) => void} onAuthLost
   */
  constructor(client, key, conn, onAuthLost) {
    this.client = client;
    this.key = key;
    this.conn = conn;
    this.onAuthLost = onAuthLost;
    this.sid = null;
    this.unsubscribe = null;
    /** Which subscription is current: callbacks of an older one are ignored. */
    this.generation = 0;
    this.wire();
  }

  wire() {
    const control = (formId, inputId, send) => {
      const form = $(formId);
      form.onsubmit = async (e) => {
        e.preventDefault();
        const input = /** @type {HTMLInputElement} */ ($(inputId));
        if (await this.act(() => send(input.value))) input.value = '';
      };
    };
    control('say-form', 'say-input', (text) => this.client.overrides.text(this.sid, text));
    control('transfer-form', 'transfer-input', (target) => this.client.overrides.transfer(this.sid, target));
    control('dtmf-form', 'dtmf-input', (digits) => this.client.overrides.dtmf(this.sid, digits));
    control('clarify-form', 'clarify-input', (answer) => this.client.overrides.clarification(this.sid, answer));
    $('end-button').onclick = () => this.act(() => this.client.overrides.end(this.sid));
  }

  /** Run an override; show the server's refusal, if any. True when it was accepted. */
  async act(send) {
    $('call-error').textContent = '';
    try {
      await send();
      return true;
    } catch (error) {
      $('call-error').textContent = errorText(error);
      if (error instanceof AuthenticationError) this.onAuthLost(error);
      return false;
    }
  }

  /** @param {string} sid */
  open(sid) {
    if (this.sid === sid) return;
    this.close();
    this.sid = sid;
    this.events = [];
    /** seq of the last event shown: a stream opened again starts after it. */
    this.lastSeq = 0;
    this.held = new Map();
    this.question = null;
    this.ended = false;
    this.stale = false;
    this.status = { text: '…', kind: '' };
    $('call-sid').textContent = sid;
    $('call-error').textContent = '';
    $('call-parties').textContent = '';
    $('call-live').textContent = '';
    for (const id of ['transcript', 'timeline', 'held', 'latency']) $(id).replaceChildren();
    $('recording-box').replaceChildren(el('p', { class: 'empty' }, 'Available once the call has ended.'));
    for (const control of $('controls').querySelectorAll('input, button')) control.toggleAttribute('disabled', false);
    this.renderStatus();
    this.readStatus(sid);
    this.follow(sid);
    this.renderWaiting();
  }

  /** The call's status as the calls list has it, until its events (which are newer) say. @param {string} sid */
  readStatus(sid) {
    this.client.calls.get(sid).then((call) => {
      if (this.sid !== sid) return;
      $('call-parties').textContent = `${call.from} → ${call.to}`;
      if (!this.events.length) this.setStatus(call.status, call.status === 'in-progress' ? 'live' : '');
    }).catch(() => {}); // a call just started may not be projected yet: its events tell the rest
  }

  /** Follow the call's events after the last one shown. @param {string} sid */
  follow(sid) {
    const generation = ++this.generation;
    const current = () => this.sid === sid && this.generation === generation;
    const unsubscribe = this.client.events.subscribe(sid, (event) => { if (current()) this.onEvent(event); }, {
      since: this.lastSeq,
      onState: (change) => { if (current()) this.onState(sid, change); },
      onError: (error) => {
        if (!current()) return;
        if (passing(error)) return; // the connection's troubles: onState shows them, and tries again
        $('call-error').textContent = error instanceof NotFoundError ? `No such call: ${error.message}` : errorText(error);
        if (error instanceof AuthenticationError) this.onAuthLost(error);
      },
    });
    this.unsubscribe = unsubscribe;
  }

  /** @param {string} sid @param {import('/sdk/js/index.js').ConnectionState} change */
  onState(sid, change) {
    if (change.state === 'connecting') {
      this.conn.set(STREAM, 'connecting');
    } else if (change.state === 'open') {
      this.conn.set(STREAM, 'live');
      // Resumed after the last event shown (since=): what happened meanwhile comes first.
      if (this.stale) {
        this.stale = false;
        $('call-live').textContent = '';
        this.renderStatus();
      }
    } else if (change.state === 'reconnecting') {
      this.conn.set(STREAM, 'reconnecting', `attempt ${change.attempt}: ${change.error.message}`);
      this.markStale('not current: reconnecting…');
    } else if (change.reason !== 'error' || !passing(change.error)) {
      this.conn.drop(STREAM); // ended, or refused for good (the error says why)
      if (change.reason === 'error' && !this.ended) $('call-live').textContent = 'not live: events stopped';
    } else {
      // The SDK gave up (the server away for long): open it again from the last event shown.
      this.conn.set(STREAM, 'offline', errorText(change.error));
      this.markStale('not current: offline, trying again…');
      this.retry = setTimeout(() => { if (this.sid === sid) this.follow(sid); }, RETRY_MS);
    }
  }

  /** @param {string} why */
  markStale(why) {
    if (this.ended) return;
    this.stale = true;
    $('call-live').textContent = why;
    this.renderStatus();
  }

  close() {
    this.generation += 1;
    clearTimeout(this.retry);
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.sid = null;
    this.conn.drop(STREAM);
  }

  setStatus(text, kind) {
    this.status = { text, kind };
    this.renderStatus();
  }

  renderStatus() {
    const badge = $('call-status');
    const { text, kind } = this.status;
    badge.textContent = text;
    badge.className = `badge ${this.stale ? 'stale' : kind}`;
    if (this.stale) badge.title = 'not current: the call\'s events are reconnecting';
    else badge.removeAttribute('title');
  }

  onEvent(event) {
    if (event.seq <= this.lastSeq) return; // shown already (a stream opened again overlaps none, but be sure)
    this.lastSeq = event.seq;
    const d = event.data ?? {};
    this.events.push(event);
    $('timeline').append(el('li', { dataset: { type: event.type, seq: event.seq } },
      el('span', { class: 't' }, String(event.seq)), el('span', { class: 't' }, clock(event.timestamp)),
      el('span', { class: 'ty' }, event.type), el('span', { class: 'd', title: summary(event) }, summary(event))));
    $('timeline').lastElementChild?.scrollIntoView({ block: 'nearest' });
    switch (event.type) {
      case 'call.started': $('call-parties').textContent = `${d.from} → ${d.to}`; this.setStatus('ringing', ''); break;
      case 'media.started': case 'call.answered': this.setStatus('in-progress', 'live'); break;
      case 'speech.detected': this.line(event, d.speaker, d.text); break;
      case 'supervisor.text_sent': this.line(event, 'supervisor', d.text); break;
      case 'ai.response': this.line(event, 'ai', d.interrupted ? `${d.text} (cut off)` : d.text, d.audioUrl); break;
      case 'response.pending_approval': this.held.set(d.responseId, d.text); this.renderWaiting(); break;
      case 'response.approved': this.held.delete(d.responseId); this.renderWaiting(); break;
      case 'clarification.requested': this.question = d.question; this.renderWaiting(); break;
      case 'clarification.answered': this.question = null; this.renderWaiting(); break;
      case 'latency.measured': this.renderLatency(); break;
      case 'call.ended': this.onEnded(d); break;
      default: break;
    }
  }

  line(event, speaker, text, audioUrl) {
    const audio = audioUrl
      ? el('audio', { controls: true, preload: 'none', src: withToken(audioUrl, this.key), title: 'this reply' })
      : '';
    const list = $('transcript');
    list.append(el('li', { dataset: { speaker, seq: event.seq } },
      el('span', { class: `who-${speaker}` }, speaker === 'ai' ? 'AI' : speaker), el('span', { class: 'text' }, text), audio));
    list.lastElementChild?.scrollIntoView({ block: 'nearest' });
  }

  renderWaiting() {
    const held = $('held');
    held.replaceChildren(...[...this.held].map(([responseId, text]) => {
      const box = el('textarea', { rows: 2, 'aria-label': 'reply to approve (edit to change it)' });
      box.value = text;
      const approve = el('button', { type: 'button', class: 'approve' }, 'Approve');
      approve.onclick = () => this.act(() => this.client.overrides.approve(
        this.sid, responseId, box.value.trim() && box.value !== text ? { text: box.value } : {}));
      return el('li', { dataset: { responseId } }, box, approve);
    }));
    $('question').hidden = !this.question;
    $('question-text').textContent = this.question ?? '';
    $('nothing-waiting').hidden = this.held.size > 0 || Boolean(this.question) || this.ended;
  }

  renderLatency() {
    const turns = this.events.filter((e) => e.type === 'latency.measured' && e.data?.metric === 'turn_latency_ms');
    $('latency').replaceChildren(latencyChart(turns.map((e) => e.data.ms)));
  }

  onEnded(d) {
    this.ended = true;
    this.stale = false;
    this.held.clear();
    this.question = null;
    this.renderWaiting();
    this.setStatus(`ended: ${d.reason}`, 'ended');
    $('call-live').textContent = '';
    for (const control of $('controls').querySelectorAll('input, button')) control.toggleAttribute('disabled', true);
    const src = withToken(`/calls/${encodeURIComponent(this.sid)}/recording`, this.key);
    $('recording-box').replaceChildren(el('audio', { id: 'recording', controls: true, preload: 'none', src }));
  }
}
