// `client.tenants`: the key's own tenant and keys (`/tenants/me`), and, with the operator key,
// every tenant and its keys.

/** @typedef {import('../transport.js').Transport} Transport */
/** @typedef {import('../types.js').Tenant} Tenant */
/** @typedef {import('../types.js').ApiKey} ApiKey */
/** @typedef {import('../types.js').ApiKeyCreated} ApiKeyCreated */
/** @typedef {import('../types.js').ApiKeyList} ApiKeyList */

/** A tenant's API keys (`me` for the key's own tenant, else an id, with the operator key). */
export class ApiKeys {
  /**
   * @param {Transport} http
   * @param {string} tenant
   */
  constructor(http, tenant) {
    this.http = http;
    this.base = `/tenants/${encodeURIComponent(tenant)}/api-keys`;
  }

  /**
   * Issue a key; the key itself is in this answer only.
   * @param {import('../types.js').ApiKeyCreateParams} [params]
   * @returns {Promise<ApiKeyCreated>}
   */
  create(params = {}) {
    return this.http.request('POST', this.base, { body: params });
  }

  /** @returns {Promise<ApiKeyList>} */
  list() {
    return this.http.request('GET', this.base);
  }

  /**
   * Revoke a key: refused from the moment this resolves.
   * @param {string} keyId
   * @returns {Promise<ApiKey>}
   */
  revoke(keyId) {
    return this.http.request('DELETE', `${this.base}/${encodeURIComponent(keyId)}`);
  }
}

export class Tenants {
  /** @param {Transport} http */
  constructor(http) {
    this.http = http;
    /** The key's own tenant's keys. */
    this.apiKeys = new ApiKeys(http, 'me');
  }

  /**
   * The tenant of the client's key.
   * @returns {Promise<Tenant>}
   */
  me() {
    return this.http.request('GET', '/tenants/me');
  }

  /**
   * Operator key: create a tenant.
   * @param {import('../types.js').TenantCreateParams} params
   * @returns {Promise<Tenant>}
   */
  create(params) {
    return this.http.request('POST', '/tenants/', { body: params });
  }

  /**
   * Operator key: one page of tenants, oldest first.
   * @param {import('../types.js').PageParams} [params]
   * @returns {Promise<import('../types.js').TenantList>}
   */
  list(params = {}) {
    return this.http.request('GET', '/tenants/', { query: { ...params } });
  }

  /**
   * Operator key: one tenant.
   * @param {string} tenantId
   * @returns {Promise<Tenant>}
   */
  get(tenantId) {
    return this.http.request('GET', `/tenants/${encodeURIComponent(tenantId)}`);
  }

  /**
   * Operator key: rename, suspend or reactivate (`status`), or set the rate limits.
   * @param {string} tenantId
   * @param {import('../types.js').TenantUpdateParams} params
   * @returns {Promise<Tenant>}
   */
  update(tenantId, params) {
    return this.http.request('PATCH', `/tenants/${encodeURIComponent(tenantId)}`, { body: params });
  }

  /**
   * Operator key: the keys of a tenant.
   * @param {string} tenantId
   */
  keys(tenantId) {
    return new ApiKeys(this.http, tenantId);
  }
}
