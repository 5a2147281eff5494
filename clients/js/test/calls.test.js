import assert from 'node:assert/strict';
import { test } from 'node:test';

import { freshTenant, placeCall } from './support.js';

test('a finished call reads back in camelCase: get, list, iterate, transcript, events, recording', async () => {
  const { client: sdk } = await freshTenant();
  const { agent, callSid, status } = await placeCall(sdk, 'default');
  assert.match(callSid, /^CA/);
  assert.equal(status, 'queued');
  await sdk.events.subscribe(callSid, () => {}, { since: 0 }).done;

  const call = await sdk.calls.get(callSid);
  assert.equal(call.callSid, callSid);
  assert.equal(call.agentId, agent.id);
  assert.equal(call.direction, 'outbound');
  assert.equal(call.from, agent.phoneNumbers[0]);
  assert.equal(call.status, 'completed');
  assert.equal(call.endReason, 'ai_ended');
  assert.ok(call.duration > 0 && call.endedAt && call.answeredAt);

  const page = await sdk.calls.list({ agentId: agent.id, status: 'completed' });
  assert.deepEqual(page.calls.map((c) => c.callSid), [callSid]);
  const walked = [];
  for await (const c of sdk.calls.iterate({ direction: 'outbound' })) walked.push(c.callSid);
  assert.deepEqual(walked, [callSid]);

  const transcript = await sdk.calls.transcript(callSid);
  assert.deepEqual(
    transcript.entries.map((e) => [e.speaker, e.text]),
    [
      ['ai', agent.greetingMessage],
      ['caller', "Hi, I'd like to check my order status."],
      ['ai', 'Sure. Your order shipped yesterday.'],
      ['caller', "Great, thanks, that's all."],
      ['ai', "You're welcome, goodbye!"],
    ],
  );

  const { events } = await sdk.calls.events(callSid);
  assert.equal(events.at(-1).type, 'call.ended');
  assert.equal(events.at(-1).seq, call.lastSeq);
  const later = await sdk.calls.events(callSid, { since: call.lastSeq - 1 });
  assert.deepEqual(later.events, [events.at(-1)]);

  const wav = new Uint8Array(await sdk.calls.recording(callSid));
  assert.equal(new TextDecoder().decode(wav.slice(0, 4)), 'RIFF');
  const reply = transcript.entries.find((e) => e.responseId);
  const audio = new Uint8Array(await sdk.calls.responseAudio(callSid, reply.responseId));
  assert.equal(new TextDecoder().decode(audio.slice(8, 12)), 'WAVE');
});
