// The JavaScript SDK's side of tests/test_sdk_contract.py: what the SDK offers, read from its own
// JSDoc types by the TypeScript checker, and what it sends, recorded by calling every method.
//
//   node tests/sdk_contract_probe.mjs <clients/js>   < {"samples": {...}, "responses": [...]}
//
// stdin: `samples`, a valid value per wire name of any operation; `responses`, per operation of the server's OpenAPI its answer ({method, pattern, status,
// json | bytes}) and `samples`, a valid value per wire name of its parameters and body properties;
// `wireNames`, property names of the server's schemas. stdout: one JSON object:
//   api:   every public method ("agents.create", "tenants.keys().list"), its parameters and the
//          shape of what it resolves with (property names as the SDK spells them; `nullable`
//          where its type admits null);
//   calls: each method called twice, with only what it requires ("minimal") and with every
//          parameter and property it takes ("full", valued from the samples of the operation the
//          minimal call reached): the HTTP requests and WebSocket paths it made;
//   camel: each wire name as names.js gives it to the SDK's user (camelName).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(process.argv[2]);
const input = JSON.parse(readFileSync(0, 'utf8'));
const require = createRequire(path.join(root, 'package.json'));
const ts = require('typescript');
const sdk = await import(pathToFileURL(path.join(root, 'src', 'index.js')).href);
const { snakeName } = sdk;

// -- the API, from the types ---------------------------------------------------------------------

const program = ts.createProgram([path.join(root, 'src', 'index.js')], {
  allowJs: true,
  checkJs: true,
  noEmit: true,
  strict: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
  types: ['node'],
});
const checker = program.getTypeChecker();
const NOT_RESOURCES = new Set(['Transport']); // the HTTP layer every resource holds, not API

function classDeclared(file, name) {
  const source = program.getSourceFile(path.join(root, 'src', file));
  const decl = source.statements.find((s) => ts.isClassDeclaration(s) && s.name?.text === name);
  return checker.getDeclaredTypeOfSymbol(checker.getSymbolAtLocation(decl.name));
}

/** A class of the SDK with methods (a resource such as Agents or ApiKeys). */
function isResource(type) {
  const symbol = type.getSymbol();
  return Boolean(symbol && symbol.flags & ts.SymbolFlags.Class && !NOT_RESOURCES.has(symbol.name));
}

function isPublic(symbol) {
  const internal = symbol.getJsDocTags().some((tag) => tag.name === 'internal');
  const decl = symbol.valueDeclaration;
  const hash = decl && decl.name && ts.isPrivateIdentifier(decl.name);
  return !internal && !hash && !symbol.name.startsWith('_') && symbol.name !== 'constructor';
}

/** The shape of a value of `type`, with object keys in the wire's names. */
function shape(type, depth = 0) {
  if (depth > 8) return { kind: 'any' };
  if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return { kind: 'any' };
  if (type.flags & ts.TypeFlags.Void) return { kind: 'void' };
  if (type.isUnion()) {
    const members = type.types.filter((t) => !(t.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)));
    const nullable = members.length < type.types.length && type.types.some((t) => t.flags & ts.TypeFlags.Null);
    const shapes = members.map((t) => shape(t, depth + 1));
    const objects = shapes.filter((s) => s.kind !== 'scalar');
    const one = objects.length === 0 ? shapes[0] ?? { kind: 'void' } : objects.length === 1 ? objects[0] : { kind: 'union', members: objects };
    return nullable ? { ...one, nullable } : one;
  }
  if (type.flags & (ts.TypeFlags.StringLike | ts.TypeFlags.NumberLike | ts.TypeFlags.BooleanLike)) {
    const base = type.flags & ts.TypeFlags.StringLike ? 'string' : type.flags & ts.TypeFlags.NumberLike ? 'number' : 'boolean';
    return { kind: 'scalar', base };
  }
  if (checker.isArrayType(type)) return { kind: 'array', items: shape(checker.getTypeArguments(type)[0], depth + 1) };
  const name = type.getSymbol()?.name;
  if (name === 'ArrayBuffer') return { kind: 'bytes' };
  if (name === 'AsyncGenerator' || name === 'AsyncIterable') return { kind: 'iterator' };
  if (isResource(type)) return { kind: 'resource', methods: resource(type, depth + 1) };
  if (type.getCallSignatures().length > 0) return { kind: 'function' };
  if (type.getStringIndexType()) return { kind: 'map' };
  const props = {};
  const required = [];
  for (const prop of checker.getPropertiesOfType(type)) {
    const propType = checker.getTypeOfSymbol(prop);
    props[prop.name] = shape(propType, depth + 1);
    if (!(prop.flags & ts.SymbolFlags.Optional)) required.push(prop.name);
  }
  return { kind: 'object', props, required };
}

function method(signature, depth) {
  const params = signature.getParameters().map((p) => {
    const decl = p.valueDeclaration;
    const type = checker.getTypeOfSymbolAtLocation(p, decl);
    const optional = checker.isOptionalParameter(decl) || Boolean(decl.initializer);
    return { name: p.name, optional, shape: shape(checker.getNonNullableType(type), depth + 1) };
  });
  let returns = signature.getReturnType();
  returns = checker.getAwaitedType(returns) ?? returns;
  return { params, returns: shape(returns, depth + 1) };
}

/** The public methods of a resource class, and those of the resources it holds. */
function resource(type, depth = 0) {
  const out = {};
  for (const prop of checker.getPropertiesOfType(type)) {
    if (!isPublic(prop)) continue;
    const propType = checker.getTypeOfSymbol(prop);
    const signatures = propType.getCallSignatures();
    if (signatures.length > 0 && prop.flags & ts.SymbolFlags.Method) out[prop.name] = method(signatures[0], depth);
    else if (isResource(propType)) out[prop.name] = { kind: 'resource', methods: resource(propType, depth + 1) };
  }
  return out;
}

const api = resource(classDeclared('client.js', 'PhonyClient'));

// -- calling every method ------------------------------------------------------------------------

let requests = [];
let sockets = [];

function operationOf(method, pathname) {
  return input.responses.find((r) => r.method === method && new RegExp(r.pattern).test(pathname));
}

function answer(method, pathname) {
  const found = operationOf(method, pathname);
  if (!found) return new Response(JSON.stringify({ error: { code: 'not_found', message: 'no such route' } }), { status: 404 });
  if (found.bytes !== undefined) return new Response(Buffer.from(found.bytes, 'utf8'), { status: found.status });
  if (found.json === undefined) return new Response(null, { status: found.status });
  return new Response(JSON.stringify(found.json), { status: found.status, headers: { 'Content-Type': 'application/json' } });
}

async function fetchStub(url, init = {}) {
  const parsed = new URL(url);
  const method = init.method ?? 'GET';
  requests.push({
    method,
    path: parsed.pathname,
    query: Object.fromEntries(parsed.searchParams),
    body: init.body === undefined ? null : JSON.parse(init.body),
  });
  return answer(method, parsed.pathname);
}

/** A WebSocket that records where it was opened to, then is refused (1008) as a bad key would be. */
class SocketStub {
  constructor(url) {
    sockets.push(new URL(url).pathname);
    this.readyState = 0;
    this.listeners = {};
    setTimeout(() => {
      this.readyState = 3;
      for (const listener of this.listeners.close ?? []) listener({ code: 1008, reason: 'probe' });
    }, 0);
  }
  addEventListener(type, listener) {
    (this.listeners[type] ??= []).push(listener);
  }
  close() {
    this.readyState = 3;
  }
}

/** A value for a parameter or property the SDK calls `name`, of shape `s`. */
function sample(name, s, full, samples) {
  const wire = snakeName(name);
  if (s.kind !== 'object' && Object.hasOwn(samples, wire)) return samples[wire];
  if (s.kind === 'function') return () => {};
  if (s.kind === 'object') {
    const out = {};
    for (const [key, prop] of Object.entries(s.props)) {
      if (full || s.required.includes(key)) out[key] = sample(key, prop, full, samples);
    }
    return out;
  }
  if (s.kind === 'map') return {};
  if (s.kind === 'array') return [sample(name, s.items, full, samples)];
  if (s.kind === 'scalar') return s.base === 'string' ? `${wire}-1` : s.base === 'number' ? 1 : true;
  return undefined;
}

async function settle(value) {
  let result = await value;
  if (result && typeof result[Symbol.asyncIterator] === 'function') {
    for await (const _ of result); // walk every page
    result = undefined;
  } else if (typeof result === 'function' && result.done instanceof Promise) {
    await result.done; // a subscription: it ends when the stub socket is refused
  }
  return result;
}

const calls = [];
const client = new sdk.PhonyClient({ baseUrl: 'http://phony.test', apiKey: 'pk_probe', fetch: fetchStub, WebSocket: SocketStub, maxRetries: 0 });

async function callAll(target, methods, prefix) {
  for (const [name, entry] of Object.entries(methods)) {
    if (entry.kind === 'resource') {
      await callAll(target[name], entry.methods, `${prefix}${name}.`);
      continue;
    }
    let samples = input.samples;
    for (const variant of ['minimal', 'full']) {
      requests = [];
      sockets = [];
      const full = variant === 'full';
      const args = [];
      for (const p of entry.params) {
        if (!full && p.optional) break;
        args.push(sample(p.name, p.shape, full, samples));
      }
      let error = null;
      let result;
      try {
        result = await settle(target[name](...args));
      } catch (e) {
        error = `${e?.name}: ${e?.message}`;
      }
      calls.push({ method: `${prefix}${name}`, variant, requests, sockets, error });
      const last = requests.at(-1);
      if (!full) samples = { ...input.samples, ...((last && operationOf(last.method, last.path)?.samples) ?? {}) };
      if (entry.returns.kind === 'resource' && result && variant === 'full') {
        await callAll(result, entry.returns.methods, `${prefix}${name}().`);
      }
    }
  }
}

await callAll(client, api, '');
const camel = Object.fromEntries(input.wireNames.map((name) => [name, sdk.camelName(name)]));
process.stdout.write(JSON.stringify({ api, calls, camel }));
