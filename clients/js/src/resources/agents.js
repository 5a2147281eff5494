// `client.agents`: a tenant's agents (`/agents/`).

import { everyPage, MAX_PAGE } from './pages.js';

/** @typedef {import('../transport.js').Transport} Transport */
/** @typedef {import('../types.js').Agent} Agent */

export class Agents {
  /** @param {Transport} http */
  constructor(http) {
    this.http = http;
  }

  /**
   * Create an agent (its phone numbers must not belong to another active agent: ConflictError).
   * @param {import('../types.js').AgentCreateParams} params
   * @returns {Promise<Agent>}
   */
  create(params) {
    return this.http.request('POST', '/agents/', { body: params });
  }

  /**
   * One page of the tenant's agents, oldest first.
   * @param {import('../types.js').AgentListParams} [params]
   * @returns {Promise<import('../types.js').AgentList>}
   */
  list(params = {}) {
    return this.http.request('GET', '/agents/', { query: { ...params } });
  }

  /**
   * Every agent, page after page: `for await (const agent of client.agents.iterate()) …`.
   * @param {Omit<import('../types.js').AgentListParams, 'offset'> & { offset?: number }} [params]
   * @returns {AsyncGenerator<Agent, void, undefined>}
   */
  iterate(params = {}) {
    const { offset, limit = MAX_PAGE, ...filter } = params;
    return everyPage(async (at) => {
      const page = await this.list({ ...filter, limit, offset: at });
      return { items: page.agents, total: page.total };
    }, offset);
  }

  /**
   * @param {string} agentId
   * @returns {Promise<Agent>}
   */
  get(agentId) {
    return this.http.request('GET', `/agents/${encodeURIComponent(agentId)}`);
  }

  /**
   * Change the fields given; the others stay (`null` clears `greetingMessage` or `maxTokens`).
   * @param {string} agentId
   * @param {import('../types.js').AgentUpdateParams} params
   * @returns {Promise<Agent>}
   */
  update(agentId, params) {
    return this.http.request('PATCH', `/agents/${encodeURIComponent(agentId)}`, { body: params });
  }

  /**
   * Replace the agent's settings; omitted fields take their defaults.
   * @param {string} agentId
   * @param {import('../types.js').AgentCreateParams} params
   * @returns {Promise<Agent>}
   */
  replace(agentId, params) {
    return this.http.request('PUT', `/agents/${encodeURIComponent(agentId)}`, { body: params });
  }

  /**
   * Delete the agent; its numbers are free for other agents at once.
   * @param {string} agentId
   * @returns {Promise<void>}
   */
  delete(agentId) {
    return this.http.request('DELETE', `/agents/${encodeURIComponent(agentId)}`);
  }
}
