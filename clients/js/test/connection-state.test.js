// `onState`: how a subscription's connection stands (connecting, open, reconnecting, closed), told
// through real sockets dropped or refused by the TCP proxy in front of Phony.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AuthenticationError, ConnectionError, PhonyClient } from 'phony-client';

import { API_KEY, BASE_URL, client, consecutive, dropProxy, placeCall, waitFor } from './support.js';

/** Collects what a subscription hands on and tells. */
function recorder() {
  const events = [];
  const errors = [];
  const states = [];
  return {
    events,
    errors,
    states,
    onEvent: (e) => events.push(e),
    options: { onError: (e) => errors.push(e), onState: (s) => states.push(s) },
    /** The states' names, in order. */
    get names() {
      return states.map((s) => s.state);
    },
    /** What was told, for a failure's message. */
    get told() {
      return states.map((s) => `${s.state}${s.attempt ?? ''}${s.error ? ` (${s.error.message})` : ''}`).join(', ');
    },
  };
}

test('onState says open, then reconnecting with the attempt and the error when the socket drops, open again, closed when the call ends', async () => {
  const proxy = await dropProxy();
  const direct = client();
  const { callSid } = await placeCall(direct, 'hold');
  try {
    const sdk = new PhonyClient({ baseUrl: proxy.url, apiKey: API_KEY });
    const seen = recorder();
    const unsubscribe = sdk.events.subscribe(callSid, seen.onEvent, { since: 0, ...seen.options });
    await waitFor(() => seen.events.length > 0, { what: 'a first event' });
    assert.deepEqual(seen.states.slice(0, 2), [
      { state: 'connecting', attempt: 0, lastSeq: null },
      { state: 'open', attempt: 0, lastSeq: 0 },
    ]);

    const before = seen.events.length;
    const at = seen.states.length;
    const upgrades = proxy.upgrades.length;
    proxy.drop();
    await waitFor(() => seen.states.length >= at + 2, { what: 'reconnecting, then open' });
    const [reconnecting, reopened] = seen.states.slice(at);
    assert.equal(reconnecting.state, 'reconnecting', seen.told);
    assert.equal(reconnecting.attempt, 1, seen.told);
    assert.ok(reconnecting.delayMs > 0 && reconnecting.delayMs <= 500, String(reconnecting.delayMs));
    assert.ok(reconnecting.error instanceof ConnectionError, String(reconnecting.error));
    assert.equal(reconnecting.error.details.closeCode, 1006, 'a reset connection closes abnormally');
    assert.equal(new URL(proxy.upgrades[upgrades], BASE_URL).searchParams.get('since'), String(reconnecting.lastSeq));
    assert.deepEqual(reopened, { state: 'open', attempt: 1, lastSeq: reconnecting.lastSeq });
    await waitFor(() => seen.events.length >= before + 2, { what: 'events after the reconnect' });

    await direct.overrides.end(callSid);
    const end = await unsubscribe.done;
    assert.equal(end.reason, 'ended');
    assert.deepEqual(seen.states.at(-1), { state: 'closed', reason: 'ended', lastSeq: end.lastSeq });
    assert.equal(seen.names.filter((n) => n === 'closed').length, 1, seen.told);
    assert.deepEqual(seen.events.map((e) => e.seq), consecutive(1, seen.events.length));
    assert.deepEqual(seen.errors, [], 'a drop it recovered from is no error');
  } finally {
    await direct.overrides.end(callSid).catch(() => {});
    await proxy.close();
  }
});

test('a server that comes back on the same port: reconnecting, attempt after attempt, until it does; then open, resumed with since=', async () => {
  let proxy = await dropProxy();
  const { port } = proxy;
  const direct = client();
  const { callSid } = await placeCall(direct, 'hold');
  try {
    const sdk = new PhonyClient({ baseUrl: proxy.url, apiKey: API_KEY });
    const seen = recorder();
    const unsubscribe = sdk.events.subscribe(callSid, seen.onEvent, { since: 0, ...seen.options });
    await waitFor(() => seen.events.some((e) => e.type === 'ai.response'), { what: 'the greeting' });

    const gone = seen.states.length;
    await proxy.close(); // the server is gone: every reconnect is refused until it is back
    const away = () => seen.states.slice(gone);
    await waitFor(() => away().length >= 3, { what: 'three reconnects' });
    assert.deepEqual(away().slice(0, 3).map((s) => `${s.state}${s.attempt}`), ['reconnecting1', 'reconnecting2', 'reconnecting3'], seen.told);
    const handed = seen.events.at(-1).seq;

    proxy = await dropProxy(BASE_URL, { port });
    await waitFor(() => seen.states.at(-1).state === 'open', { what: 'open again' });
    const [reopened, ...tried] = away().reverse();
    assert.ok(tried.every((s) => s.state === 'reconnecting'), seen.told);
    assert.equal(reopened.attempt, tried[0].attempt, 'opened by the last reconnect');
    assert.equal(new URL(proxy.upgrades[0], BASE_URL).searchParams.get('since'), String(handed));
    await waitFor(() => seen.events.length >= handed + 2, { what: 'events after the server came back' });

    await direct.overrides.end(callSid);
    assert.equal((await unsubscribe.done).reason, 'ended');
    assert.deepEqual(seen.errors, []);
    assert.deepEqual(seen.events, (await direct.calls.events(callSid)).events, 'every event once, as logged');
  } finally {
    await direct.overrides.end(callSid).catch(() => {});
    await proxy.close();
  }
});

test('the tenant stream tells its reconnects too: an open with attempt > 0 is the moment to read the calls again', async () => {
  const proxy = await dropProxy();
  try {
    const sdk = new PhonyClient({ baseUrl: proxy.url, apiKey: API_KEY });
    const seen = recorder();
    const unsubscribe = sdk.events.subscribe(null, seen.onEvent, seen.options);
    await waitFor(() => seen.names.at(-1) === 'open', { what: 'the tenant stream open' });
    assert.deepEqual(seen.states.slice(0, 2), [
      { state: 'connecting', attempt: 0, lastSeq: null },
      { state: 'open', attempt: 0, lastSeq: null },
    ]);

    const at = seen.states.length;
    const upgrades = proxy.upgrades.length;
    proxy.drop();
    await waitFor(() => seen.states.length >= at + 2, { what: 'reconnecting, then open' });
    assert.equal(seen.states[at].state, 'reconnecting', seen.told);
    assert.ok(seen.states[at].error instanceof ConnectionError);
    assert.deepEqual(seen.states[at + 1], { state: 'open', attempt: 1, lastSeq: null });
    assert.equal(new URL(proxy.upgrades[upgrades], BASE_URL).searchParams.get('since'), null, 'since= needs a call');

    unsubscribe();
    assert.equal((await unsubscribe.done).reason, 'unsubscribed');
    assert.deepEqual(seen.states.at(-1), { state: 'closed', reason: 'unsubscribed', lastSeq: null });
    assert.deepEqual(seen.errors, []);
  } finally {
    await proxy.close();
  }
});

test('a server that stays away: reconnecting up to maxReconnects, then closed with the ConnectionError', async () => {
  const proxy = await dropProxy();
  const direct = client();
  const { callSid } = await placeCall(direct, 'hold');
  try {
    const sdk = new PhonyClient({ baseUrl: proxy.url, apiKey: API_KEY });
    const seen = recorder();
    const unsubscribe = sdk.events.subscribe(callSid, seen.onEvent, { since: 0, maxReconnects: 2, ...seen.options });
    await waitFor(() => seen.events.length > 0, { what: 'a first event' });
    const gone = seen.states.length;
    await proxy.close();

    const end = await unsubscribe.done;
    assert.equal(end.reason, 'error');
    const away = seen.states.slice(gone).map((s) => `${s.state}${s.attempt ?? ''}`);
    assert.deepEqual(away, ['reconnecting1', 'reconnecting2', 'closed'], seen.told);
    const closed = seen.states.at(-1);
    assert.ok(closed.error instanceof ConnectionError);
    assert.equal(closed.error, end.error);
    assert.match(closed.error.message, /gave up after 2 reconnects \(last: events socket closed \(1006\)\)/);
    assert.equal(closed.lastSeq, seen.events.at(-1).seq);
  } finally {
    await direct.overrides.end(callSid).catch(() => {});
  }
});

test('a refused key: open (the handshake is accepted), then closed with the AuthenticationError, never reconnecting', async () => {
  const sdk = new PhonyClient({ baseUrl: BASE_URL, apiKey: 'pk_live_not-a-key' });
  const seen = recorder();
  const end = await sdk.events.subscribe('CAany', seen.onEvent, { since: 0, ...seen.options }).done;
  assert.ok(end.error instanceof AuthenticationError);
  assert.deepEqual(seen.names, ['connecting', 'open', 'closed'], seen.told);
  assert.equal(seen.states.at(-1).error, end.error);
});

test('an onState that throws is reported to onError; the subscription goes on', async () => {
  const direct = client();
  const { callSid } = await placeCall(direct, 'default');
  const seen = recorder();
  const unsubscribe = direct.events.subscribe(callSid, seen.onEvent, {
    since: 0,
    onError: seen.options.onError,
    onState: (s) => {
      seen.states.push(s);
      if (s.state === 'open') throw new Error('a broken indicator');
    },
  });
  const end = await unsubscribe.done;
  assert.equal(end.reason, 'ended');
  assert.equal(seen.events.at(-1).type, 'call.ended');
  // One error per `open` told: a loaded machine may drop and reopen the socket on its own.
  const opens = seen.names.filter((name) => name === 'open').length;
  assert.ok(opens >= 1, seen.told);
  assert.deepEqual(seen.errors.map((e) => e.message), Array(opens).fill('a broken indicator'), seen.told);
  assert.equal(seen.names[0], 'connecting', seen.told);
  assert.equal(seen.names.at(-1), 'closed', seen.told);
});
