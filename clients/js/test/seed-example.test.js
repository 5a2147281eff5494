import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { freshTenant, uniqueNumber } from './support.js';

const EXAMPLE = fileURLToPath(new URL('../examples/seed-example.mjs', import.meta.url));

/** Runs `node <file>`; resolves with its exit code and output once it exits by itself. */
function run(file, env, within) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { env: { ...process.env, ...env } });
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

test("the seed's JavaScript example runs as written to the end of a simulated call", async () => {
  const { key } = await freshTenant();
  const { code, stdout, stderr } = await run(EXAMPLE, { PHONY_API_KEY: key, PHONY_PHONE_NUMBER: uniqueNumber() }, 90_000);
  assert.equal(code, 0, `exit ${code}\n${stderr}`);
  assert.equal(stderr, '');
  const received = stdout.split('\n').filter((line) => line.startsWith('Event received:'));
  assert.ok(received.length >= 3, stdout);
  assert.match(stdout, /type: 'speech\.detected'/);
  assert.match(stdout, /type: 'call\.ended'/);
});
