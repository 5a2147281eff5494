// The supervisor dashboard: sign-in, hash routes (#/live, #/calls/<sid>, #/history, #/agents), and
// the tenant-wide live events that keep the live calls current. The API key lives in sessionStorage
// only: never in a URL the app navigates to, never logged.

import { AuthenticationError, PermissionDeniedError, PhonyClient } from '/sdk/js/index.js';
import { AgentsView } from './agents.js';
import { CallView } from './call.js';
import { Connection } from './conn.js';
import { HistoryView } from './history.js';
import { LiveView } from './live.js';
import { $, errorText } from './ui.js';

const KEY = 'phony.apiKey';
/** How often the key is checked and the live list re-read (a revoked key, events lost while away). */
const HEARTBEAT_MS = 10_000;

class Dashboard {
  constructor() {
    /** @type {PhonyClient | null} */ this.client = null;
    this.key = '';
    this.views = {};
    /** The header's indicator of the event streams (the live calls', the open call's). */
    this.conn = new Connection();
  }

  start() {
    $('signin-form').addEventListener('submit', (e) => { e.preventDefault(); this.signIn(/** @type {HTMLInputElement} */ ($('api-key')).value.trim()); });
    $('signout').addEventListener('click', () => this.signOut());
    window.addEventListener('hashchange', () => this.route());
    document.addEventListener('keydown', (e) => this.shortcut(e));
    const saved = sessionStorage.getItem(KEY);
    if (saved) this.signIn(saved);
    else this.showSignIn('');
  }

  /** @param {string} key */
  async signIn(key) {
    const client = new PhonyClient({ baseUrl: location.origin, apiKey: key });
    try {
      const me = await client.tenants.me();
      sessionStorage.setItem(KEY, key);
      this.client = client;
      this.key = key;
      $('who').textContent = me.name ?? me.id;
      $('signin').hidden = true;
      $('main').hidden = false;
      $('nav').hidden = false;
      $('signout').hidden = false;
      /** @type {HTMLInputElement} */ ($('api-key')).value = '';
      const onAuthLost = (error) => this.authLost(error);
      this.views = {
        live: new LiveView(client, this.conn, onAuthLost),
        call: new CallView(client, key, this.conn, onAuthLost),
        history: new HistoryView(client),
        agents: new AgentsView(client),
      };
      this.views.live.start();
      this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
      if (!location.hash || location.hash === '#') location.hash = '#/live';
      else this.route();
    } catch (error) {
      sessionStorage.removeItem(KEY);
      this.showSignIn(error instanceof AuthenticationError ? `Refused: ${error.message}` : errorText(error));
    }
  }

  signOut() {
    sessionStorage.removeItem(KEY);
    this.teardown();
    this.showSignIn('');
  }

  /** A key revoked while the dashboard is open: say so and ask for another. */
  authLost(error) {
    sessionStorage.removeItem(KEY);
    this.teardown();
    this.showSignIn(`Signed out: ${errorText(error)}`);
  }

  async beat() {
    const client = this.client;
    if (!client) return;
    try {
      await client.tenants.me();
      this.views.live?.reload();
    } catch (error) {
      if (client === this.client && (error instanceof AuthenticationError || error instanceof PermissionDeniedError)) this.authLost(error);
    }
  }

  teardown() {
    clearInterval(this.heartbeat);
    this.views.live?.stop();
    this.views.call?.close();
    this.views = {};
    this.client = null;
    this.key = '';
    this.conn.clear();
  }

  /** @param {string} message */
  showSignIn(message) {
    $('main').hidden = true;
    $('nav').hidden = true;
    $('signout').hidden = true;
    $('who').textContent = '';
    $('signin').hidden = false;
    $('signin-error').textContent = message;
    $('api-key').focus();
  }

  route() {
    if (!this.client) return;
    const [, section, arg] = location.hash.split('/');
    for (const name of ['live', 'history', 'agents', 'call']) $(`view-${name}`).hidden = true;
    for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.getAttribute('href') === `#/${section}`);
    if (section !== 'calls') this.views.call.close();
    if (section === 'calls' && arg) {
      $('view-call').hidden = false;
      this.views.call.open(decodeURIComponent(arg));
    } else if (section === 'history') {
      $('view-history').hidden = false;
      this.views.history.show();
    } else if (section === 'agents') {
      $('view-agents').hidden = false;
      this.views.agents.show();
    } else {
      $('view-live').hidden = false;
    }
  }

  /** Keys for a tool used all day: g l / g h / g a move between views; Escape leaves a call. */
  shortcut(e) {
    const target = /** @type {HTMLElement} */ (e.target);
    if (!this.client || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)) return;
    if (e.key === 'Escape' && location.hash.startsWith('#/calls/')) location.hash = '#/live';
    if (this.pendingG) {
      this.pendingG = false;
      const to = { l: '#/live', h: '#/history', a: '#/agents' }[e.key];
      if (to) location.hash = to;
    } else if (e.key === 'g') this.pendingG = true;
    else if (e.key === '/' && !$('view-call').hidden) { e.preventDefault(); $('say-input').focus(); }
  }
}

new Dashboard().start();
