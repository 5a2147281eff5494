"""``client.tenants``: the key's own tenant (``me``) and its keys; with the operator key
(``PHONY_ADMIN_KEY``), every tenant and theirs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime

from phony_client._http import AsyncHttp, SyncHttp, path
from phony_client._paging import AsyncPage, SyncPage
from phony_client._types import NOT_GIVEN, NotGiven, given, sent
from phony_client.models.tenants import (
    ApiKey,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    Tenant,
    TenantCreate,
    TenantLimits,
    TenantList,
    TenantStatus,
    TenantUpdate,
)
from phony_client.resources._base import AsyncResource, SyncResource

PAGE_SIZE = 100


def _tenants(page: TenantList) -> list[Tenant]:
    return page.tenants


def _id(tenant: Tenant) -> str:
    return tenant.id


def _keys_url(tenant_id: str | None) -> str:
    """A tenant's keys: the caller's own (``me``) unless the operator names a tenant."""
    return "/tenants/me/api-keys" if tenant_id is None else path("/tenants/{}/api-keys", tenant_id)


class ApiKeys(SyncResource):
    """API keys of the caller's tenant, or (operator) of ``tenant_id``."""

    def create(
        self,
        *,
        name: str | NotGiven = NOT_GIVEN,
        expires_at: datetime | NotGiven | None = NOT_GIVEN,
        expires_in_seconds: int | NotGiven | None = NOT_GIVEN,
        tenant_id: str | None = None,
    ) -> ApiKeyCreated:
        """Issue a key; ``.key`` is in this answer only (the server keeps a hash)."""
        body = ApiKeyCreate.model_validate(sent(locals(), "tenant_id")).to_wire()
        return self._http.call("POST", ApiKeyCreated, _keys_url(tenant_id), body)

    def list(self, *, tenant_id: str | None = None) -> list[ApiKey]:
        """The keys (prefix and metadata, never the key), oldest first."""
        return self._http.get(ApiKeyList, _keys_url(tenant_id)).api_keys

    def revoke(self, key_id: str, *, tenant_id: str | None = None) -> ApiKey:
        """Revoke a key: it is refused from the moment this returns."""
        return self._http.call("DELETE", ApiKey, _keys_url(tenant_id) + path("/{}", key_id))


class Tenants(SyncResource):
    def __init__(self, http: SyncHttp) -> None:
        super().__init__(http)
        self.keys = ApiKeys(http)

    def me(self) -> Tenant:
        """The tenant of the client's key."""
        return self._http.get(Tenant, "/tenants/me")

    def create(self, *, name: str, limits: TenantLimits | NotGiven = NOT_GIVEN) -> Tenant:
        """(operator) Create a tenant."""
        body = TenantCreate.model_validate(sent(locals())).to_wire()
        return self._http.call("POST", Tenant, "/tenants/", body)

    def list(
        self, *, limit: int | NotGiven = NOT_GIVEN, offset: int | NotGiven = NOT_GIVEN
    ) -> SyncPage[Tenant]:
        """(operator) One page of tenants, oldest first; iterate it to walk them all."""
        return self._page(TenantList, "/tenants/", given(limit=limit, offset=offset), _tenants, _id)

    def list_all(self, *, page_size: int = PAGE_SIZE) -> Iterator[Tenant]:
        return iter(self.list(limit=page_size))

    def get(self, tenant_id: str) -> Tenant:
        return self._http.get(Tenant, path("/tenants/{}", tenant_id))

    def update(
        self,
        tenant_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        status: TenantStatus | NotGiven = NOT_GIVEN,
        limits: TenantLimits | NotGiven = NOT_GIVEN,
    ) -> Tenant:
        """(operator) Rename, suspend or reactivate, or set the tenant's rate limits."""
        body = TenantUpdate.model_validate(sent(locals(), "tenant_id")).to_wire()
        return self._http.call("PATCH", Tenant, path("/tenants/{}", tenant_id), body)

    def suspend(self, tenant_id: str) -> Tenant:
        """(operator) Suspend the tenant: its keys are refused (403) until it is reactivated."""
        return self.update(tenant_id, status="suspended")

    def activate(self, tenant_id: str) -> Tenant:
        return self.update(tenant_id, status="active")


class AsyncApiKeys(AsyncResource):
    async def create(
        self,
        *,
        name: str | NotGiven = NOT_GIVEN,
        expires_at: datetime | NotGiven | None = NOT_GIVEN,
        expires_in_seconds: int | NotGiven | None = NOT_GIVEN,
        tenant_id: str | None = None,
    ) -> ApiKeyCreated:
        body = ApiKeyCreate.model_validate(sent(locals(), "tenant_id")).to_wire()
        return await self._http.call("POST", ApiKeyCreated, _keys_url(tenant_id), body)

    async def list(self, *, tenant_id: str | None = None) -> list[ApiKey]:
        return (await self._http.get(ApiKeyList, _keys_url(tenant_id))).api_keys

    async def revoke(self, key_id: str, *, tenant_id: str | None = None) -> ApiKey:
        return await self._http.call("DELETE", ApiKey, _keys_url(tenant_id) + path("/{}", key_id))


class AsyncTenants(AsyncResource):
    def __init__(self, http: AsyncHttp) -> None:
        super().__init__(http)
        self.keys = AsyncApiKeys(http)

    async def me(self) -> Tenant:
        return await self._http.get(Tenant, "/tenants/me")

    async def create(self, *, name: str, limits: TenantLimits | NotGiven = NOT_GIVEN) -> Tenant:
        body = TenantCreate.model_validate(sent(locals())).to_wire()
        return await self._http.call("POST", Tenant, "/tenants/", body)

    async def list(
        self, *, limit: int | NotGiven = NOT_GIVEN, offset: int | NotGiven = NOT_GIVEN
    ) -> AsyncPage[Tenant]:
        return await self._page(TenantList, "/tenants/", given(limit=limit, offset=offset), _tenants, _id)

    async def list_all(self, *, page_size: int = PAGE_SIZE) -> AsyncIterator[Tenant]:
        async for tenant in await self.list(limit=page_size):
            yield tenant

    async def get(self, tenant_id: str) -> Tenant:
        return await self._http.get(Tenant, path("/tenants/{}", tenant_id))

    async def update(
        self,
        tenant_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        status: TenantStatus | NotGiven = NOT_GIVEN,
        limits: TenantLimits | NotGiven = NOT_GIVEN,
    ) -> Tenant:
        body = TenantUpdate.model_validate(sent(locals(), "tenant_id")).to_wire()
        return await self._http.call("PATCH", Tenant, path("/tenants/{}", tenant_id), body)

    async def suspend(self, tenant_id: str) -> Tenant:
        return await self.update(tenant_id, status="suspended")

    async def activate(self, tenant_id: str) -> Tenant:
        return await self.update(tenant_id, status="active")
