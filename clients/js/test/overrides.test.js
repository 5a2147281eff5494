import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ConflictError, NotFoundError } from 'phony-client';

import { client, placeCall, waitFor } from './support.js';

async function eventTypes(sdk, callSid) {
  return (await sdk.calls.events(callSid)).events.map((e) => e.type);
}

test('text, dtmf and end reach a live call and are recorded as its events', async () => {
  const sdk = client();
  const { callSid } = await placeCall(sdk, 'hold');
  await waitFor(async () => (await eventTypes(sdk, callSid)).includes('media.started'), { what: 'media' });

  assert.deepEqual(await sdk.overrides.text(callSid, 'A supervisor speaking.'), {
    success: true,
    message: 'Text sent successfully',
  });
  assert.equal((await sdk.overrides.dtmf(callSid, '12#')).success, true);
  await waitFor(
    async () => {
      const types = await eventTypes(sdk, callSid);
      return types.includes('supervisor.text_sent') && types.includes('dtmf.sent');
    },
    { what: 'supervisor.text_sent and dtmf.sent' },
  );
  const sent = (await sdk.calls.events(callSid)).events.find((e) => e.type === 'supervisor.text_sent');
  assert.equal(sent.data.text, 'A supervisor speaking.');

  assert.equal((await sdk.overrides.end(callSid)).message, 'Call ended successfully');
  await waitFor(async () => (await eventTypes(sdk, callSid)).includes('call.ended'), { what: 'call.ended' });
  await assert.rejects(sdk.overrides.text(callSid, 'too late'), NotFoundError);
});

test('transfer moves the caller to the target', async () => {
  const sdk = client();
  const { callSid } = await placeCall(sdk, 'hold');
  await waitFor(async () => (await eventTypes(sdk, callSid)).includes('media.started'), { what: 'media' });
  assert.equal((await sdk.overrides.transfer(callSid, '+15557654321')).message, 'Call transferred successfully');
  const call = await waitFor(async () => {
    const c = await sdk.calls.get(callSid);
    return c.endedAt ? c : null;
  }, { what: 'the call to end' });
  assert.equal(call.transferredTo, '+15557654321');
});

test('clarification and approve with nothing pending are ConflictErrors; an unknown call is a NotFoundError', async () => {
  const sdk = client();
  const { callSid } = await placeCall(sdk, 'hold');
  try {
    await waitFor(async () => (await eventTypes(sdk, callSid)).includes('media.started'), { what: 'media' });
    const asked = await sdk.overrides.clarification(callSid, 'yes').catch((e) => e);
    assert.ok(asked instanceof ConflictError);
    assert.match(asked.message, /no clarification is pending/);
    const held = await sdk.overrides.approve(callSid, 'resp_none', { text: 'ok' }).catch((e) => e);
    assert.ok(held instanceof ConflictError);
    assert.equal(held.details.response_id, 'resp_none');
    const unknown = await sdk.overrides.end('CAnope').catch((e) => e);
    assert.ok(unknown instanceof NotFoundError);
    assert.deepEqual(unknown.details, { callSid: 'CAnope' });
  } finally {
    await sdk.overrides.end(callSid);
  }
});
