import assert from 'node:assert/strict';
import { test } from 'node:test';

import { NotFoundError } from 'phony-client';

import { API_KEY, BASE_URL, client, freshTenant, uniqueNumber } from './support.js';

async function wire(path) {
  const response = await fetch(BASE_URL + path, { headers: { Authorization: `Bearer ${API_KEY}` } });
  return response.json();
}

test('agents are created, read, changed and deleted in camelCase, stored under the wire names', async () => {
  const sdk = client();
  const number = uniqueNumber();
  const agent = await sdk.agents.create({
    name: 'Support Bot',
    systemPrompt: 'You are a technical support agent',
    voice: 'echo',
    greetingMessage: 'Hello!',
    phoneNumbers: [number],
    maxTokens: 150,
    transferAllowlist: ['+1555'],
    requireApproval: false,
  });
  assert.match(agent.id, /^agent_/);
  assert.equal(agent.systemPrompt, 'You are a technical support agent');
  assert.deepEqual(agent.phoneNumbers, [number]);
  assert.equal(agent.greetingMessage, 'Hello!');
  assert.equal(agent.maxTokens, 150);
  assert.deepEqual(agent.transferAllowlist, ['+1555']);
  assert.equal(agent.isActive, true);
  assert.ok(agent.createdAt && agent.updatedAt && agent.tenantId);
  assert.equal(agent.system_prompt, undefined);

  const stored = await wire(`/agents/${agent.id}`);
  assert.equal(stored.system_prompt, 'You are a technical support agent');
  assert.deepEqual(stored.phone_numbers, [number]);
  assert.equal(stored.max_tokens, 150);

  assert.deepEqual(await sdk.agents.get(agent.id), agent);

  const changed = await sdk.agents.update(agent.id, { greetingMessage: null, isActive: false, maxTokens: 200 });
  assert.equal(changed.greetingMessage, null);
  assert.equal(changed.isActive, false);
  assert.equal(changed.maxTokens, 200);
  assert.equal(changed.systemPrompt, agent.systemPrompt, 'fields not sent stay as they are');

  const replaced = await sdk.agents.replace(agent.id, { name: 'Replaced', phoneNumbers: [number] });
  assert.equal(replaced.name, 'Replaced');
  assert.equal(replaced.maxTokens, null, 'a replaced agent takes the defaults of what is not given');

  assert.equal(await sdk.agents.delete(agent.id), undefined);
  await assert.rejects(sdk.agents.get(agent.id), NotFoundError);
});

test('agents.iterate walks every page in order', async () => {
  const { client: sdk } = await freshTenant();
  const created = [];
  for (let i = 0; i < 5; i++) created.push((await sdk.agents.create({ name: `agent ${i}` })).id);

  const page = await sdk.agents.list({ limit: 2, offset: 2 });
  assert.deepEqual(page.agents.map((a) => a.id), created.slice(2, 4));
  assert.deepEqual([page.total, page.limit, page.offset], [5, 2, 2]);

  const walked = [];
  for await (const agent of sdk.agents.iterate({ limit: 2 })) walked.push(agent.id);
  assert.deepEqual(walked, created);
});

test('agents.list filters with camelCase query names (isActive)', async () => {
  const { client: sdk } = await freshTenant();
  const active = await sdk.agents.create({ name: 'on' });
  await sdk.agents.create({ name: 'off', isActive: false });
  const page = await sdk.agents.list({ isActive: true });
  assert.deepEqual(page.agents.map((a) => a.id), [active.id]);
  assert.equal(page.total, 1);
});
