// phony-client: the JavaScript SDK of Phony, for browsers (a plain ES module, no bundler needed) and
// Node.js 20+ (where the `ws` package supplies the WebSocket).

export { DEFAULT_BASE_URL, PhonyClient } from './client.js';
export {
  AuthenticationError,
  BadRequestError,
  ConflictError,
  ConnectionError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  PhonyError,
  RateLimitedError,
  RequestTimeoutError,
  UnavailableError,
  ValidationError,
} from './errors.js';
export { camelName, fromWire, snakeName, toWire } from './names.js';

/** @typedef {import('./client.js').ClientOptions} ClientOptions */
/** @typedef {import('./events.js').ConnectionState} ConnectionState */
/** @typedef {import('./events.js').SubscribeOptions} SubscribeOptions */
/** @typedef {import('./events.js').SubscriptionEnd} SubscriptionEnd */
/** @typedef {import('./events.js').Unsubscribe} Unsubscribe */
/** @typedef {import('./types.js').Agent} Agent */
/** @typedef {import('./types.js').AgentCreateParams} AgentCreateParams */
/** @typedef {import('./types.js').AgentUpdateParams} AgentUpdateParams */
/** @typedef {import('./types.js').AgentList} AgentList */
/** @typedef {import('./types.js').AgentListParams} AgentListParams */
/** @typedef {import('./types.js').Call} Call */
/** @typedef {import('./types.js').CallCreateParams} CallCreateParams */
/** @typedef {import('./types.js').CallPlaced} CallPlaced */
/** @typedef {import('./types.js').CallList} CallList */
/** @typedef {import('./types.js').CallListParams} CallListParams */
/** @typedef {import('./types.js').CallStatus} CallStatus */
/** @typedef {import('./types.js').CallEvents} CallEvents */
/** @typedef {import('./types.js').PhonyEvent} PhonyEvent */
/** @typedef {import('./types.js').Transcript} Transcript */
/** @typedef {import('./types.js').TranscriptEntry} TranscriptEntry */
/** @typedef {import('./types.js').OverrideResult} OverrideResult */
/** @typedef {import('./types.js').Tenant} Tenant */
/** @typedef {import('./types.js').TenantLimits} TenantLimits */
/** @typedef {import('./types.js').ApiKey} ApiKey */
/** @typedef {import('./types.js').ApiKeyCreated} ApiKeyCreated */
/** @typedef {import('./types.js').Health} Health */
/** @typedef {import('./types.js').Voice} Voice */
