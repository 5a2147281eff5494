import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AuthenticationError, ConnectionError, NotFoundError, PhonyClient } from 'phony-client';

import { API_KEY, BASE_URL, client, consecutive, dropProxy, placeCall, waitFor } from './support.js';

/** Collects what a subscription hands on. */
function collector() {
  const events = [];
  const errors = [];
  return { events, errors, onEvent: (e) => events.push(e), onError: (e) => errors.push(e) };
}

test('subscribe hands on a call\'s events live, in seq order, and stops after call.ended', async () => {
  const sdk = client();
  const { callSid } = await placeCall(sdk, 'default');
  const seen = collector();
  const unsubscribe = sdk.events.subscribe(callSid, seen.onEvent, { onError: seen.onError });

  const end = await unsubscribe.done;
  assert.equal(end.reason, 'ended');
  assert.deepEqual(seen.errors, []);
  const seqs = seen.events.map((e) => e.seq);
  assert.deepEqual(seqs, consecutive(seqs[0], seqs.length));
  assert.equal(seen.events.at(-1).type, 'call.ended');
  assert.equal(end.lastSeq, seen.events.at(-1).seq);
  assert.ok(seen.events.some((e) => e.type === 'speech.detected'), 'the conversation came live');
  const reply = seen.events.find((e) => e.type === 'ai.response');
  assert.ok(reply.data.audioUrl && reply.data.responseId, 'event data is in camelCase');
  assert.equal(reply.callSid, callSid);
  assert.ok(reply.tenantId && reply.aggregateType === 'call');

  const log = await sdk.calls.events(callSid, { since: seqs[0] - 1 });
  assert.deepEqual(seen.events, log.events, 'what came live is the log');
});

test('a dropped socket is resumed with since=<last seq>: no event missed or repeated', async () => {
  const seen = collector();
  const handedBeforeUpgrade = [];
  const proxy = await dropProxy(BASE_URL, { onUpgrade: () => handedBeforeUpgrade.push(seen.events.length) });
  try {
    const direct = client();
    const sdk = new PhonyClient({ baseUrl: proxy.url, apiKey: API_KEY });
    const { callSid } = await placeCall(direct, 'hold');
    const unsubscribe = sdk.events.subscribe(callSid, seen.onEvent, { since: 0, onError: seen.onError });

    await waitFor(() => seen.events.some((e) => e.type === 'ai.response'), { what: 'the greeting' });
    proxy.drop();
    await waitFor(() => proxy.upgrades.length === 2, { what: 'a reconnect' });
    const resumedAfter = handedBeforeUpgrade[1];
    assert.ok(resumedAfter > 0);
    assert.equal(new URL(proxy.upgrades[1], BASE_URL).searchParams.get('since'), String(resumedAfter));
    await waitFor(() => seen.events.length >= resumedAfter + 3, { what: 'events after the reconnect' });

    await direct.overrides.end(callSid);
    const end = await unsubscribe.done;
    assert.equal(end.reason, 'ended');
    assert.deepEqual(seen.errors, []);
    assert.deepEqual(seen.events.map((e) => e.seq), consecutive(1, seen.events.length));
    const log = await direct.calls.events(callSid);
    assert.deepEqual(seen.events, log.events);
    // Each reconnect (the drop's, and any other the loaded machine causes) resumes after what was
    // handed over before it.
    proxy.upgrades.slice(1).forEach((url, i) => {
      assert.equal(new URL(url, BASE_URL).searchParams.get('since'), String(handedBeforeUpgrade[i + 1]));
    });
  } finally {
    await proxy.close();
  }
});

test('unsubscribe stops the callback and closes the socket', async () => {
  const proxy = await dropProxy();
  const direct = client();
  const { callSid } = await placeCall(direct, 'hold');
  try {
    const sdk = new PhonyClient({ baseUrl: proxy.url, apiKey: API_KEY });
    const seen = collector();
    const unsubscribe = sdk.events.subscribe(callSid, seen.onEvent, { since: 0, onError: seen.onError });
    await waitFor(() => seen.events.length > 0, { what: 'a first event' });

    unsubscribe();
    assert.equal((await unsubscribe.done).reason, 'unsubscribed');
    const handed = seen.events.length;
    await waitFor(() => proxy.open === 0, { what: 'the socket closed' });
    // The call goes on: its log grows while the callback hears nothing more.
    await waitFor(async () => (await direct.calls.get(callSid)).lastSeq >= handed + 3, {
      what: 'three more events on the call',
      interval: 250,
    });
    assert.equal(seen.events.length, handed);
    assert.deepEqual(seen.errors, []);
    assert.equal(proxy.upgrades.length, 1, 'no reconnect after unsubscribe');
  } finally {
    await direct.overrides.end(callSid).catch(() => {});
    await proxy.close();
  }
});

test('subscribing to an unknown call stops with a NotFoundError', async () => {
  const seen = collector();
  const unsubscribe = client().events.subscribe('CAnope', seen.onEvent, { onError: seen.onError });
  const end = await unsubscribe.done;
  assert.equal(end.reason, 'error');
  assert.ok(end.error instanceof NotFoundError);
  assert.deepEqual(seen.errors, [end.error]);
  assert.deepEqual(seen.events, []);
});

test('a key the events socket refuses stops the subscription with an AuthenticationError', async () => {
  const sdk = new PhonyClient({ baseUrl: BASE_URL, apiKey: 'pk_live_not-a-key' });
  const seen = collector();
  // since= skips the REST look-up: the refusal comes from the socket's close frame (1008).
  const end = await sdk.events.subscribe('CAany', seen.onEvent, { since: 0, onError: seen.onError }).done;
  assert.equal(end.reason, 'error');
  assert.ok(end.error instanceof AuthenticationError);
  assert.equal(end.error.message, 'invalid API key');
});

test('a server that stays away ends the subscription with a ConnectionError after maxReconnects', async () => {
  const proxy = await dropProxy();
  const direct = client();
  const { callSid } = await placeCall(direct, 'hold');
  try {
    const sdk = new PhonyClient({ baseUrl: proxy.url, apiKey: API_KEY });
    const seen = collector();
    const unsubscribe = sdk.events.subscribe(callSid, seen.onEvent, { since: 0, maxReconnects: 2, onError: seen.onError });
    await waitFor(() => seen.events.length > 0, { what: 'a first event' });
    await proxy.close(); // the socket goes, and so does the listener: every reconnect is refused

    const end = await unsubscribe.done;
    assert.equal(end.reason, 'error');
    assert.ok(end.error instanceof ConnectionError, String(end.error));
    assert.match(end.error.message, /gave up after 2 reconnects/);
    assert.deepEqual(seen.errors, [end.error]);
    assert.equal(end.lastSeq, seen.events.at(-1).seq);
  } finally {
    await direct.overrides.end(callSid).catch(() => {});
  }
});
