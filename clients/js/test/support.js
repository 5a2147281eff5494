// What the tests share: the running Phony they are pointed at (PHONY_BASE_URL, PHONY_API_KEY,
// PHONY_ADMIN_KEY), fresh tenants, simulated calls, a TCP proxy that can drop sockets for real, and
// a stub HTTP server for answers Phony only gives under faults.

import http from 'node:http';
import net from 'node:net';
import { randomInt } from 'node:crypto';

import { PhonyClient } from 'phony-client';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: point the tests at a running Phony (see README.md)`);
  return value;
}

export const BASE_URL = required('PHONY_BASE_URL');
export const API_KEY = required('PHONY_API_KEY');
export const ADMIN_KEY = required('PHONY_ADMIN_KEY');

export const admin = new PhonyClient({ baseUrl: BASE_URL, apiKey: ADMIN_KEY });

/** A client with the session's tenant key. */
export function client(options = {}) {
  return new PhonyClient({ baseUrl: BASE_URL, apiKey: API_KEY, ...options });
}

/** A tenant of its own (so counts and limits are the test's alone), with a key and a client. */
export async function freshTenant({ limits, baseUrl = BASE_URL } = {}) {
  const tenant = await admin.tenants.create({ name: 'js-sdk-tests', ...(limits ? { limits } : {}) });
  const key = await admin.tenants.keys(tenant.id).create({ name: 'tests' });
  return { tenant, key: key.key, client: new PhonyClient({ baseUrl, apiKey: key.key }) };
}

/** An E.164 number no other test uses. */
export function uniqueNumber() {
  return `+1${2_000_000_000 + randomInt(0, 7_999_999_999)}`;
}

/** The callee the simulated Twilio answers as an ordinary person following `scenario`. */
export const CALLEE = '+15559876543';

/**
 * An agent with a fresh number and an outbound call to the simulated callee. Scenario `hold` keeps
 * the callee talking until the call is ended; `default` ends after two turns.
 */
export async function placeCall(sdk, scenario) {
  const agent = await sdk.agents.create({
    name: 'JS SDK test agent',
    greetingMessage: 'Hello from the JavaScript SDK test.',
    phoneNumbers: [uniqueNumber()],
  });
  const placed = await sdk.calls.create({ agentId: agent.id, toNumber: CALLEE, scenario });
  return { agent, callSid: placed.callSid, status: placed.status };
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with `probe()`'s first truthy value; fails after `within` ms. */
export async function waitFor(probe, { within = 45_000, interval = 100, what = 'the condition' } = {}) {
  const deadline = Date.now() + within;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${within} ms`);
    await sleep(interval);
  }
}

/** Seqs with neither gap nor duplicate: `[from, from+1, …]`. */
export function consecutive(from, count) {
  return Array.from({ length: count }, (_, i) => from + i);
}

/**
 * A TCP proxy in front of Phony. `drop()` resets the events WebSockets passing through it (the
 * client sees a connection reset, as when a network goes away); `upgrades` lists their request
 * paths, `open` how many are connected now; `onUpgrade(path)` is called as each one comes in.
 * `port` listens on that port (a proxy closed and opened again there is a server that restarted).
 */
export async function dropProxy(target = BASE_URL, { onUpgrade = () => {}, port: listenOn = 0 } = {}) {
  const { hostname, port } = new URL(target);
  const sockets = new Set(); // the WebSockets'
  const every = new Set(); // every connection's
  const upgrades = [];
  const server = net.createServer((downstream) => {
    const upstream = net.connect(Number(port), hostname);
    const pair = { downstream, upstream };
    every.add(pair);
    const end = () => {
      downstream.destroy();
      upstream.destroy();
      sockets.delete(pair);
      every.delete(pair);
    };
    for (const s of [downstream, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
    downstream.once('data', (head) => {
      const text = head.toString('latin1');
      if (/^GET \S*\/events\/ws/.test(text) && /^upgrade:\s*websocket/im.test(text)) {
        upgrades.push(text.split(' ')[1]);
        sockets.add(pair);
        onUpgrade(text.split(' ')[1]);
      }
      upstream.write(head);
      downstream.pipe(upstream);
      upstream.pipe(downstream);
    });
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(listenOn, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    port: server.address().port,
    upgrades,
    get open() {
      return sockets.size;
    },
    drop() {
      for (const { downstream, upstream } of sockets) {
        downstream.resetAndDestroy();
        upstream.destroy();
      }
      sockets.clear();
    },
    close() {
      for (const { downstream, upstream } of every) {
        downstream.destroy();
        upstream.destroy();
      }
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * An HTTP server answering with `answers` in turn (`{ status, headers, body }`, or `'hang'` to never
 * answer); `hits` records the requests' methods.
 */
export async function stubServer(answers) {
  const hits = [];
  const hanging = [];
  const server = http.createServer((request, response) => {
    hits.push(request.method);
    const answer = answers[Math.min(hits.length - 1, answers.length - 1)];
    request.resume();
    if (answer === 'hang') {
      hanging.push(response);
      return;
    }
    response.writeHead(answer.status, { 'Content-Type': 'application/json', ...(answer.headers ?? {}) });
    response.end(JSON.stringify(answer.body ?? {}));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    hits,
    close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** An envelope as Phony writes it. */
export function envelope(code, message, details = {}) {
  return { error: { code, message, details } };
}

/** A port nothing listens on. */
export async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}
