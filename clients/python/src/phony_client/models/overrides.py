"""Bodies of ``/override/``: supervisor controls (``callSid`` as the seed spells it)."""

from __future__ import annotations

from phony_client.models._base import RequestModel, ResponseModel


class _CallRef(RequestModel):
    callSid: str


class TextOverride(_CallRef):
    text: str


class TransferOverride(_CallRef):
    target: str


class DtmfOverride(_CallRef):
    digits: str


class EndOverride(_CallRef):
    pass


class ClarificationOverride(_CallRef):
    response: str


class ApproveOverride(_CallRef):
    response_id: str
    text: str | None = None


class OverrideResult(ResponseModel):
    success: bool
    message: str
