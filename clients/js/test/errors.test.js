import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  AuthenticationError,
  ConflictError,
  ConnectionError,
  NotFoundError,
  PermissionDeniedError,
  PhonyClient,
  PhonyError,
  RateLimitedError,
  RequestTimeoutError,
  UnavailableError,
  ValidationError,
} from 'phony-client';

import { admin, BASE_URL, client, closedPort, envelope, freshTenant, stubServer, uniqueNumber } from './support.js';

test('a bad key is an AuthenticationError carrying the server envelope', async () => {
  const sdk = new PhonyClient({ baseUrl: BASE_URL, apiKey: 'pk_live_not-a-key' });
  const error = await sdk.agents.list().catch((e) => e);
  assert.ok(error instanceof AuthenticationError);
  assert.ok(error instanceof PhonyError);
  assert.equal(error.status, 401);
  assert.equal(error.code, 'UNAUTHORIZED');
  assert.equal(error.message, 'invalid API key');
  assert.equal(error.name, 'AuthenticationError');
});

test('an unknown id is a NotFoundError with the envelope details', async () => {
  const error = await client().agents.get('agent_nope').catch((e) => e);
  assert.ok(error instanceof NotFoundError);
  assert.equal(error.status, 404);
  assert.equal(error.code, 'NOT_FOUND');
  assert.equal(error.message, 'agent not found');
  assert.deepEqual(error.details, { id: 'agent_nope' });
});

test('an invalid field is a ValidationError naming the field and the value', async () => {
  const error = await client()
    .agents.create({ name: 'x', phoneNumbers: ['12345'] })
    .catch((e) => e);
  assert.ok(error instanceof ValidationError);
  assert.equal(error.status, 422);
  assert.equal(error.code, 'VALIDATION_ERROR');
  assert.equal(error.message, 'Invalid phone number format');
  assert.equal(error.details.field, 'phone_numbers');
  assert.equal(error.details.value, '12345');
});

test('a phone number another active agent has is a ConflictError', async () => {
  const sdk = client();
  const number = uniqueNumber();
  await sdk.agents.create({ name: 'first', phoneNumbers: [number] });
  const error = await sdk.agents.create({ name: 'second', phoneNumbers: [number] }).catch((e) => e);
  assert.ok(error instanceof ConflictError);
  assert.equal(error.status, 409);
  assert.equal(error.details.value, number);
});

test('a suspended tenant is a PermissionDeniedError', async () => {
  const { tenant, client: sdk } = await freshTenant();
  await admin.tenants.update(tenant.id, { status: 'suspended' });
  const error = await sdk.tenants.me().catch((e) => e);
  assert.ok(error instanceof PermissionDeniedError);
  assert.equal(error.status, 403);
  assert.equal(error.message, 'tenant suspended');
});

test('over the rate limit is a RateLimitedError with retryAfter from Retry-After', async () => {
  const { client: sdk } = await freshTenant({ limits: { agentsPerMinute: 1 } });
  // POST is never retried, so the 429 reaches the caller at once. The window is the calendar
  // minute: if it turns between two requests, the third one is over the limit.
  let error;
  for (let i = 0; i < 3 && !error; i++) error = await sdk.agents.create({ name: `agent ${i}` }).then(() => null, (e) => e);
  assert.ok(error instanceof RateLimitedError);
  assert.equal(error.status, 429);
  assert.equal(error.code, 'RATE_LIMITED');
  assert.ok(error.retryAfter > 0 && error.retryAfter <= 60, `retryAfter ${error.retryAfter}`);
  assert.equal(error.retryAfter, error.details.retry_after);
});

test('a server that is down is a ConnectionError once the retries are spent', async () => {
  const sdk = new PhonyClient({ baseUrl: `http://127.0.0.1:${await closedPort()}`, apiKey: 'k', maxRetries: 1 });
  const started = Date.now();
  const error = await sdk.agents.list().catch((e) => e);
  assert.ok(error instanceof ConnectionError);
  assert.equal(error.status, 0);
  assert.match(error.message, /ECONNREFUSED/);
  assert.ok(Date.now() - started >= 250, 'one retry after a backoff');
});

test('a GET is retried on 503 and 429; a POST is not', async () => {
  const unavailable = { status: 503, body: envelope('UNAVAILABLE', 'a dependency is unavailable') };
  const limited = { status: 429, headers: { 'Retry-After': '0' }, body: envelope('RATE_LIMITED', 'slow down') };
  const ok = { status: 200, body: { agents: [], total: 0, limit: 10, offset: 0 } };

  const get = await stubServer([unavailable, limited, ok]);
  const page = await new PhonyClient({ baseUrl: get.url, apiKey: 'k' }).agents.list();
  assert.deepEqual(page.agents, []);
  assert.deepEqual(get.hits, ['GET', 'GET', 'GET']);
  await get.close();

  const post = await stubServer([unavailable, ok]);
  const error = await new PhonyClient({ baseUrl: post.url, apiKey: 'k' }).agents.create({ name: 'x' }).catch((e) => e);
  assert.ok(error instanceof UnavailableError);
  assert.equal(error.message, 'a dependency is unavailable');
  assert.deepEqual(post.hits, ['POST']);
  await post.close();
});

test('a retry waits for Retry-After', async () => {
  const stub = await stubServer([
    { status: 429, headers: { 'Retry-After': '1' }, body: envelope('RATE_LIMITED', 'slow down') },
    { status: 200, body: { id: 't', name: 'n', status: 'active', limits: {}, created_at: 'x', updated_at: 'x' } },
  ]);
  const started = Date.now();
  const tenant = await new PhonyClient({ baseUrl: stub.url, apiKey: 'k' }).tenants.me();
  assert.equal(tenant.createdAt, 'x');
  assert.ok(Date.now() - started >= 1000, `retried after ${Date.now() - started} ms`);
  await stub.close();
});

test('a request with no answer in time is a RequestTimeoutError', async () => {
  const stub = await stubServer(['hang']);
  const sdk = new PhonyClient({ baseUrl: stub.url, apiKey: 'k', timeout: 200, maxRetries: 0 });
  const error = await sdk.calls.get('CA1').catch((e) => e);
  assert.ok(error instanceof RequestTimeoutError);
  assert.ok(error instanceof ConnectionError);
  assert.match(error.message, /timed out after 200 ms/);
  await stub.close();
});
