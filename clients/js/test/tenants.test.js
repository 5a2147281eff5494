import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AuthenticationError, PhonyClient } from 'phony-client';

import { BASE_URL, freshTenant } from './support.js';

test('tenants.me is the tenant of the key', async () => {
  const { tenant, client: sdk } = await freshTenant({ limits: { callsPerMinute: 50 } });
  const me = await sdk.tenants.me();
  assert.equal(me.id, tenant.id);
  assert.equal(me.status, 'active');
  assert.equal(me.limits.callsPerMinute, 50);
});

test('a tenant issues, lists and revokes its own keys; a revoked key is refused', async () => {
  const { client: sdk } = await freshTenant();
  const issued = await sdk.tenants.apiKeys.create({ name: 'second', expiresInSeconds: 3600 });
  assert.match(issued.key, /^pk_live_/);
  assert.ok(issued.expiresAt);
  const second = new PhonyClient({ baseUrl: BASE_URL, apiKey: issued.key });
  assert.equal((await second.tenants.me()).id, issued.tenantId);

  const { apiKeys } = await sdk.tenants.apiKeys.list();
  assert.deepEqual(apiKeys.map((k) => k.name), ['tests', 'second']);
  assert.equal(apiKeys[1].key, undefined, 'listed keys show their prefix only');
  assert.equal(apiKeys[1].prefix, issued.prefix);

  const revoked = await sdk.tenants.apiKeys.revoke(issued.id);
  assert.equal(revoked.active, false);
  await assert.rejects(second.tenants.me(), AuthenticationError);
});
