import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { freshTenant, uniqueNumber } from './support.js';

const EXAMPLE = fileURLToPath(new URL('../examples/seed-example.mjs', import.meta.url));

/** Runs `node <file>`; resolves with its exit code and output once it exits by itself. */
function run(file, env, within, flags = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, file], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`still running after ${within} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, within);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the example with a fresh tenant and number, through to its end; what it printed. */
async function runExample(flags = []) {
  const { key } = await freshTenant();
  const env = { PHONY_API_KEY: key, PHONY_PHONE_NUMBER: uniqueNumber() };
  const { code, stdout, stderr } = await run(EXAMPLE, env, 90_000, flags);
  assert.equal(code, 0, `exit ${code}\n${stderr}`);
  return { stdout, stderr };
}

test("the seed's JavaScript example runs as written to the end of a simulated call", async () => {
  const { stdout, stderr } = await runExample();
  assert.equal(stderr, '');
  const received = stdout.split('\n').filter((line) => line.startsWith('Event received:'));
  assert.ok(received.length >= 3, stdout);
  assert.match(stdout, /type: 'speech\.detected'/);
  assert.match(stdout, /type: 'call\.ended'/);
});

test("the seed's example runs on the platform's WebSocket too (the browsers' path: the key as ?token=)", async () => {
  // Node 20 has a global WebSocket (undici's, as browsers have) only behind this flag.
  const { stdout } = await runExample(['--experimental-websocket']);
  assert.match(stdout, /type: 'speech\.detected'/);
  assert.match(stdout, /type: 'call\.ended'/);
});
