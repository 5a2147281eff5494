// The header's connection indicator: how the page's event streams stand (the tenant's live stream,
// and the open call's), from the SDK's onState. The worst of them is shown: one stream reconnecting
// means what the page shows may be behind.

import { $ } from './ui.js';

/** @typedef {'live' | 'connecting' | 'reconnecting' | 'offline'} Standing */

/** @type {Record<Standing, string>} */
const LABEL = { live: '● live', connecting: '○ connecting…', reconnecting: '◌ reconnecting…', offline: '○ offline' };
/** @type {Standing[]} */
const WORST_LAST = ['live', 'connecting', 'reconnecting', 'offline'];

export class Connection {
  constructor() {
    /** @type {Map<string, {standing: Standing, detail: string}>} */
    this.streams = new Map();
  }

  /**
   * How the stream `name` stands now; `detail` (why it is not live) goes in the tooltip.
   * @param {string} name @param {Standing} standing @param {string} [detail]
   */
  set(name, standing, detail = '') {
    this.streams.set(name, { standing, detail });
    this.render();
  }

  /** The stream `name` is gone for a reason that is no fault (the call ended, the view closed). @param {string} name */
  drop(name) {
    this.streams.delete(name);
    this.render();
  }

  clear() {
    this.streams.clear();
    this.render();
  }

  render() {
    const conn = $('conn');
    const streams = [...this.streams.entries()];
    if (!streams.length) {
      conn.textContent = '';
      delete conn.dataset.state;
      conn.removeAttribute('title');
      conn.classList.remove('bad');
      return;
    }
    const rank = (/** @type {Standing} */ s) => WORST_LAST.indexOf(s);
    const [, worst] = streams.reduce((a, b) => (rank(b[1].standing) > rank(a[1].standing) ? b : a));
    conn.dataset.state = worst.standing;
    conn.textContent = LABEL[worst.standing];
    const details = streams.filter(([, s]) => s.standing !== 'live').map(([name, s]) => `${name}: ${s.detail || s.standing}`);
    conn.title = details.length ? details.join('\n') : 'every event stream is connected';
    conn.classList.toggle('bad', worst.standing !== 'live');
  }
}
