// Live calls: the tenant's calls still on the line, from the calls list, then kept current by the
// tenant-wide event stream (call.started adds a row before the projection has it; call.ended drops it).
// While that stream is reconnecting the rows are marked stale (a call may have ended meanwhile); each
// time it opens the list is read again, since a tenant stream cannot resume where it dropped.

import { AuthenticationError, PermissionDeniedError } from '/sdk/js/index.js';
import { $, clickableRow, clock, el, errorText } from './ui.js';

const ENDED = new Set(['completed', 'busy', 'no-answer', 'failed', 'canceled']);
const LIVE = ['queued', 'ringing', 'in-progress'];
const RETRY_MS = 2000;
/** A call seen starting this recently is kept though the (lagging) calls list lacks it. */
const PROJECTION_GRACE_MS = 15_000;

export class LiveView {
  /**
   * @param {import('/sdk/js/index.js').PhonyClient} client
   * @param {import('./conn.js').Connection} conn
   * @param {(e: unknown) => void} onAuthLost
   */
  constructor(client, conn, onAuthLost) {
    this.client = client;
    this.conn = conn;
    this.onAuthLost = onAuthLost;
    /** @type {Map<string, {callSid: string, from: string, to: string, agentId: string | null, status: string, startedAt: string, waiting: number}>} */
    this.calls = new Map();
    this.ended = new Set();
    this.unsubscribe = null;
    this.stopped = false;
    this.agents = new Map();
    /** When each call.started arrived: the calls list may not show such a call yet. */
    this.seenAt = new Map();
    /** The stream is open now (not reconnecting): a list read now makes the rows current again. */
    this.streamOpen = false;
    /** What the rows show may be behind: the stream dropped and the list has not been read since. */
    this.stale = false;
  }

  start() {
    this.stopped = false;
    this.subscribe();
  }

  stop() {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.retry);
  }

  /** Subscribe first, then list once the stream is open: a call that starts in between is seen by one or the other. */
  subscribe() {
    const unsubscribe = this.client.events.subscribe(null, (event) => this.onEvent(event), {
      onError: (error) => this.lost(error),
      onState: (change) => { if (!this.stopped) this.onState(change); },
    });
    this.unsubscribe = unsubscribe;
    unsubscribe.done.then((end) => {
      if (this.stopped || end.reason === 'unsubscribed') return;
      this.conn.set('live calls', 'offline', `live updates lost (${errorText(end.error ?? end.reason)}); trying again`);
      this.retry = setTimeout(() => this.subscribe(), RETRY_MS);
    });
  }

  /** @param {import('/sdk/js/index.js').ConnectionState} change */
  onState(change) {
    this.streamOpen = change.state === 'open';
    if (change.state === 'open') {
      this.conn.set('live calls', 'live');
      this.reload();
    } else if (change.state === 'connecting') {
      this.conn.set('live calls', 'connecting');
    } else if (change.state === 'reconnecting') {
      this.conn.set('live calls', 'reconnecting', `attempt ${change.attempt}: ${change.error.message}`);
      this.markStale();
    } else if (change.state === 'closed' && change.error) {
      this.markStale();
    }
  }

  markStale() {
    if (this.stale) return;
    this.stale = true;
    this.render();
  }

  lost(error) {
    if (error instanceof AuthenticationError || error instanceof PermissionDeniedError) {
      this.stopped = true;
      this.onAuthLost(error);
    }
  }

  async reload() {
    try {
      const [agents, ...pages] = await Promise.all([
        this.client.agents.list({ limit: 100 }),
        ...LIVE.map((status) => this.client.calls.list({ status, limit: 100 })),
      ]);
      for (const agent of agents.agents) this.agents.set(agent.id, agent.name);
      const open = new Set();
      for (const call of pages.flatMap((page) => page.calls)) {
        if (ENDED.has(call.status) || this.ended.has(call.callSid)) continue;
        open.add(call.callSid);
        this.calls.set(call.callSid, {
          callSid: call.callSid, from: call.from, to: call.to, agentId: call.agentId, status: call.status,
          startedAt: call.createdAt, waiting: (call.awaitingApproval?.length ?? 0) + (call.openQuestion ? 1 : 0),
        });
      }
      // A call the list shows as ended (or no longer shows) while this tab was away is gone.
      const settled = Date.now() - PROJECTION_GRACE_MS;
      for (const sid of [...this.calls.keys()]) if (!open.has(sid) && (this.seenAt.get(sid) ?? 0) < settled) this.calls.delete(sid);
      $('live-error').textContent = '';
      if (this.streamOpen) this.stale = false;
      this.render();
    } catch (error) {
      if (this.stopped) return;
      $('live-error').textContent = `cannot list calls: ${errorText(error)}`;
      this.markStale();
    }
  }

  onEvent(event) {
    const sid = event.callSid;
    if (!sid) return;
    const data = event.data ?? {};
    if (event.type === 'call.started') {
      this.seenAt.set(sid, Date.now());
      this.calls.set(sid, {
        callSid: sid, from: data.from, to: data.to, agentId: data.agentId ?? null, status: 'ringing',
        startedAt: data.timestamp ?? event.timestamp, waiting: 0,
      });
    } else if (event.type === 'call.ended') {
      this.ended.add(sid);
      this.calls.delete(sid);
    } else {
      const call = this.calls.get(sid);
      if (!call) return;
      if (event.type === 'call.answered' || event.type === 'media.started') call.status = 'in-progress';
      if (event.type === 'response.pending_approval' || event.type === 'clarification.requested') call.waiting += 1;
      if (event.type === 'response.approved' || event.type === 'clarification.answered') call.waiting = Math.max(0, call.waiting - 1);
    }
    this.render();
  }

  render() {
    const rows = $('live-rows');
    const calls = [...this.calls.values()].sort((a, b) => String(b.startedAt).localeCompare(String(a.startedAt)));
    const status = (c) => (this.stale ? el('span', { class: 'stale-status', title: 'not current: live updates are reconnecting' }, `${c.status}?`) : c.status);
    rows.replaceChildren(...calls.map((c) => {
      const row = clickableRow(
        [el('code', {}, c.callSid), c.from, c.to, this.agents.get(c.agentId) ?? c.agentId ?? '', status(c), clock(c.startedAt),
          c.waiting ? el('strong', { class: 'badge' }, `${c.waiting} waiting`) : ''],
        () => { location.hash = `#/calls/${encodeURIComponent(c.callSid)}`; },
      );
      row.dataset.callSid = c.callSid;
      if (this.stale) row.classList.add('stale');
      return row;
    }));
    $('live-count').textContent = `(${calls.length})`;
    $('live-empty').hidden = calls.length > 0;
    $('live-stale').hidden = !this.stale;
    $('live-table').classList.toggle('stale', this.stale);
  }
}
