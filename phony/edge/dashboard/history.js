// Call history: the tenant's calls, newest first, filtered by status, agent and the days they were
// made (the browser's days), a page at a time.

import { $, clickableRow, dateTime, duration, el, errorText } from './ui.js';

const PAGE = 25;

/**
 * The browser's midnight `days` after a date input's day (`To` is inclusive: its next midnight).
 * @param {string} value `YYYY-MM-DD`, or '' for none
 * @param {number} days
 * @returns {Date | null}
 */
function dayStart(value, days) {
  const [y, m, d] = value.split('-').map(Number);
  return value ? new Date(y, m - 1, d + days) : null;
}

export class HistoryView {
  /** @param {import('/sdk/js/index.js').PhonyClient} client */
  constructor(client) {
    this.client = client;
    this.offset = 0;
    this.total = 0;
    this.agents = new Map();
    $('history-filters').onsubmit = (e) => { e.preventDefault(); this.offset = 0; this.load(); };
    $('f-status').onchange = () => { this.offset = 0; this.load(); };
    $('f-agent').onchange = () => { this.offset = 0; this.load(); };
    $('f-from').onchange = () => { this.offset = 0; this.load(); };
    $('f-to').onchange = () => { this.offset = 0; this.load(); };
    $('history-prev').onclick = () => { this.offset = Math.max(0, this.offset - PAGE); this.load(); };
    $('history-next').onclick = () => { if (this.offset + PAGE < this.total) { this.offset += PAGE; this.load(); } };
  }

  async show() {
    await this.loadAgents();
    await this.load();
  }

  async loadAgents() {
    try {
      const select = /** @type {HTMLSelectElement} */ ($('f-agent'));
      const chosen = select.value;
      this.agents.clear();
      for await (const agent of this.client.agents.iterate()) this.agents.set(agent.id, agent.name);
      select.replaceChildren(el('option', { value: '' }, 'any'),
        ...[...this.agents].map(([id, name]) => el('option', { value: id }, `${name} (${id.slice(0, 8)})`)));
      select.value = chosen;
    } catch (error) {
      $('history-error').textContent = errorText(error);
    }
  }

  async load() {
    const status = /** @type {HTMLSelectElement} */ ($('f-status')).value;
    const agentId = /** @type {HTMLSelectElement} */ ($('f-agent')).value;
    const from = dayStart(/** @type {HTMLInputElement} */ ($('f-from')).value, 0);
    const to = dayStart(/** @type {HTMLInputElement} */ ($('f-to')).value, 1);
    $('history-error').textContent = '';
    try {
      const page = await this.client.calls.list({
        limit: PAGE, offset: this.offset, ...(status ? { status } : {}), ...(agentId ? { agentId } : {}),
        ...(from ? { createdSince: from } : {}), ...(to ? { createdBefore: to } : {}),
      });
      this.total = page.total;
      $('history-rows').replaceChildren(...page.calls.map((c) => {
        const row = clickableRow(
          [el('code', {}, c.callSid), c.from, c.to, this.agents.get(c.agentId) ?? c.agentId ?? '', c.status,
            dateTime(c.createdAt), duration(c.duration), c.endReason ?? ''],
          () => { location.hash = `#/calls/${encodeURIComponent(c.callSid)}`; },
        );
        row.dataset.callSid = c.callSid;
        return row;
      }));
      const last = Math.min(this.offset + PAGE, page.total);
      $('history-total').textContent = page.total ? `${this.offset + 1}–${last} of ${page.total}` : 'no calls';
    } catch (error) {
      $('history-error').textContent = errorText(error);
    }
  }
}
