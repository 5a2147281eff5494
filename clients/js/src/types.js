// The shapes of requests and responses, in the SDK's camelCase names (the wire's snake_case names
// are mapped in names.js). Timestamps are ISO 8601 strings, as the server sends them.

/**
 * @typedef {'alloy' | 'ash' | 'ballad' | 'coral' | 'echo' | 'sage' | 'shimmer' | 'verse' | 'marin' | 'cedar'} Voice
 */

/**
 * What an agent is created (or replaced) with; omitted fields take the server's defaults.
 * @typedef {object} AgentCreateParams
 * @property {string} name
 * @property {string} [systemPrompt]
 * @property {Voice} [voice]
 * @property {string} [model]
 * @property {string | null} [greetingMessage]
 * @property {string[]} [phoneNumbers] E.164, unique across active agents.
 * @property {boolean} [isActive]
 * @property {number} [temperature] 0..2
 * @property {number | null} [maxTokens]
 * @property {string[]} [supportedLanguages]
 * @property {boolean} [languageDetection]
 * @property {string[]} [transferAllowlist] E.164 numbers or prefixes the AI may transfer to.
 * @property {boolean} [requireApproval] Each AI reply waits for `overrides.approve`.
 */

/**
 * Fields to change; those omitted stay as they are.
 * @typedef {Partial<AgentCreateParams>} AgentUpdateParams
 */

/**
 * @typedef {object} Agent
 * @property {string} id
 * @property {string} tenantId
 * @property {string} name
 * @property {string} systemPrompt
 * @property {string} voice
 * @property {string} model
 * @property {string | null} greetingMessage
 * @property {string[]} phoneNumbers
 * @property {boolean} isActive
 * @property {number} temperature
 * @property {number | null} maxTokens
 * @property {string[]} supportedLanguages
 * @property {boolean} languageDetection
 * @property {string[]} transferAllowlist
 * @property {boolean} requireApproval
 * @property {string} createdAt
 * @property {string} updatedAt
 */

/**
 * @typedef {object} PageParams
 * @property {number} [limit] 1..100 per page.
 * @property {number} [offset]
 */

/** @typedef {PageParams & { isActive?: boolean }} AgentListParams */

/**
 * @typedef {object} AgentList
 * @property {Agent[]} agents
 * @property {number} total
 * @property {number} limit
 * @property {number} offset
 */

/**
 * @typedef {'queued' | 'ringing' | 'in-progress' | 'completed' | 'busy' | 'no-answer' | 'failed' | 'canceled'} CallStatus
 */

/**
 * @typedef {object} CallCreateParams
 * @property {string} agentId
 * @property {string} toNumber E.164.
 * @property {string} [fromNumber] Default: the agent's first number.
 * @property {string} [scenario]
 * @property {Record<string, unknown>} [metadata] Passed to the agent's instructions (keys as given).
 */

/**
 * @typedef {object} CallPlaced
 * @property {string} callSid
 * @property {CallStatus} status
 */

/**
 * @typedef {object} Call
 * @property {string} callSid
 * @property {string} tenantId
 * @property {string | null} agentId
 * @property {'inbound' | 'outbound'} direction
 * @property {string} from
 * @property {string} to
 * @property {CallStatus} status
 * @property {string | null} scenario
 * @property {Record<string, unknown>} metadata
 * @property {string} createdAt
 * @property {string | null} answeredAt
 * @property {string | null} endedAt
 * @property {number | null} duration Seconds, once the call ended.
 * @property {string | null} endReason
 * @property {string | null} transferredTo
 * @property {string[]} awaitingApproval Replies held for `overrides.approve`.
 * @property {string | null} openQuestion The AI's question for `overrides.clarification`.
 * @property {number} lastSeq seq of the call's latest event.
 */

/**
 * Filters of the call list. `createdSince` (at or after) and `createdBefore` bound when the calls were
 * created: a Date, or an RFC 3339 string with its offset (a date alone is its midnight, UTC).
 * @typedef {PageParams & {
 *   status?: CallStatus,
 *   agentId?: string,
 *   direction?: 'inbound' | 'outbound',
 *   createdSince?: Date | string,
 *   createdBefore?: Date | string,
 * }} CallListParams
 */

/**
 * @typedef {object} CallList
 * @property {Call[]} calls
 * @property {number} total
 * @property {number} limit
 * @property {number} offset
 */

/**
 * @typedef {object} TranscriptEntry
 * @property {number} seq
 * @property {string} timestamp
 * @property {'caller' | 'ai' | 'supervisor'} speaker
 * @property {string} text
 * @property {string | null} [responseId]
 * @property {string | null} [audioUrl]
 * @property {boolean | null} [interrupted]
 */

/**
 * @typedef {object} Transcript
 * @property {string} callSid
 * @property {TranscriptEntry[]} entries
 */

/**
 * One event of a call's log (the events WebSocket and `calls.events` send the same form). `seq`
 * counts the call's events from 1 with no gap.
 * @typedef {object} PhonyEvent
 * @property {string} id
 * @property {string} type e.g. `call.started`, `speech.detected`, `ai.response`, `call.ended`.
 * @property {number} version
 * @property {string} aggregateType
 * @property {string} aggregateId
 * @property {string | null} [callSid]
 * @property {string} tenantId
 * @property {number} seq
 * @property {string} timestamp
 * @property {Record<string, any>} data The event's payload, in camelCase (`audioUrl`, `errorType`).
 */

/**
 * @typedef {object} CallEvents
 * @property {string} callSid
 * @property {PhonyEvent[]} events
 */

/**
 * @typedef {object} OverrideResult
 * @property {boolean} success
 * @property {string} message
 */

/**
 * @typedef {object} TenantLimits
 * @property {number | null} [agentsPerMinute]
 * @property {number | null} [callsPerMinute]
 * @property {number | null} [websockets]
 */

/**
 * @typedef {object} Tenant
 * @property {string} id
 * @property {string} name
 * @property {'active' | 'suspended'} status
 * @property {TenantLimits} limits
 * @property {string} createdAt
 * @property {string} updatedAt
 */

/**
 * @typedef {object} TenantCreateParams
 * @property {string} name
 * @property {TenantLimits} [limits]
 */

/**
 * @typedef {object} TenantUpdateParams
 * @property {string} [name]
 * @property {'active' | 'suspended'} [status]
 * @property {TenantLimits} [limits]
 */

/**
 * @typedef {object} TenantList
 * @property {Tenant[]} tenants
 * @property {number} total
 * @property {number} limit
 * @property {number} offset
 */

/**
 * @typedef {object} ApiKeyCreateParams
 * @property {string} [name]
 * @property {string} [expiresAt] ISO 8601.
 * @property {number} [expiresInSeconds]
 */

/**
 * An API key as listed: its prefix and metadata, never the key.
 * @typedef {object} ApiKey
 * @property {string} id
 * @property {string} tenantId
 * @property {string} name
 * @property {string} prefix
 * @property {string} createdAt
 * @property {string | null} expiresAt
 * @property {string | null} revokedAt
 * @property {boolean} active
 */

/** @typedef {ApiKey & { key: string }} ApiKeyCreated The new key is in `key`, shown only here. */

/**
 * @typedef {object} ApiKeyList
 * @property {ApiKey[]} apiKeys
 */

/**
 * @typedef {object} Health
 * @property {'ok' | 'degraded'} status
 * @property {number} uptime
 * @property {number | null} activeCalls Calls in progress; `null` when the server cannot count them
 *   (a dependency is down).
 * @property {Record<string, 'ok' | 'down'>} dependencies
 */

export {};
