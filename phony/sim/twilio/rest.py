"""The fake ``api.twilio.com``: the v2010 Calls resource as an ASGI app (Starlette, no FastAPI magic).

Requests are form-encoded and answered with Twilio's JSON shapes and error envelope, so the real
``twilio`` client parses them (and raises ``TwilioRestException`` with Twilio's codes).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from phony.sim.twilio.numbers import INVALID_NUMBER
from phony.sim.twilio.registry import CallRegistry, OutboundRequest
from phony.sim.twilio.resources import (
    API_VERSION,
    ERROR_AUTHENTICATE,
    ERROR_CALL_NOT_IN_PROGRESS,
    ERROR_INTERNAL,
    ERROR_INVALID_NUMBER,
    ERROR_MISSING_FROM,
    ERROR_MISSING_TO,
    ERROR_MISSING_URL,
    ERROR_NOT_FOUND,
    call_resource,
    calls_page,
    error_body,
    new_sid,
)
from phony.sim.twilio.verbs import Fetch, Inline

__all__ = ["build_rest_app"]

ERROR_INVALID_PARAMETER = 21218
ERROR_METHOD_NOT_ALLOWED = 20004
Form = dict[str, list[str]]


def _json(body: dict[str, Any], status: int) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Twilio-Request-Id": new_sid("RQ")})


def _error(code: int, message: str, status: int) -> JSONResponse:
    response = _json(error_body(code, message, status), status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return response


def _first(form: Form, name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


def _valid_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


async def _form(request: Request) -> Form:
    # Parsed by hand: Starlette's request.form() needs python-multipart, and Twilio only takes urlencoded.
    return parse_qs((await request.body()).decode(), keep_blank_values=True)


def build_rest_app(
    registry: CallRegistry,
    account_sid: str,
    auth_token: str,
    app_url: Callable[[], str | None] = lambda: None,
) -> Starlette:
    """The ASGI app serving ``/2010-04-01/Accounts/{AccountSid}/Calls…`` for one account."""

    def authenticate(request: Request) -> JSONResponse | None:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        user = password = ""
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = password = ""
        good = hmac.compare_digest(user, account_sid) and hmac.compare_digest(password, auth_token)
        if not good or request.path_params.get("account_sid") != account_sid:
            return _error(ERROR_AUTHENTICATE, "Authenticate", 401)
        return None

    def not_found(request: Request) -> JSONResponse:
        return _error(ERROR_NOT_FOUND, f"The requested resource {request.url.path} was not found", 404)

    async def create_call(request: Request) -> Response:
        if (denied := authenticate(request)) is not None:
            return denied
        form = await _form(request)
        to, from_ = _first(form, "To"), _first(form, "From")
        url, twiml = _first(form, "Url"), _first(form, "Twiml")
        if not to:
            return _error(ERROR_MISSING_TO, "No 'To' number is specified", 400)
        if not from_:
            return _error(ERROR_MISSING_FROM, "No 'From' number is specified", 400)
        if not url and not twiml:
            message = (
                "Url parameter is required. For more information, see http://www.twilio.com/docs/api/twiml"
            )
            return _error(ERROR_MISSING_URL, message, 400)
        if url and not _valid_url(url):
            return _error(ERROR_MISSING_URL, f"Url is not a valid URL: {url}", 400)
        if to == INVALID_NUMBER:
            return _error(ERROR_INVALID_NUMBER, f"The 'To' number {to} is not a valid phone number.", 400)
        # Clients send events as repeated fields; some send one space-separated field.
        events = frozenset(e for v in form.get("StatusCallbackEvent", []) for e in v.split()) or frozenset(
            {"completed"}
        )
        method = (_first(form, "Method") or "POST").upper()
        try:
            timeout_s = int(_first(form, "Timeout") or 60)
        except ValueError:
            return _error(ERROR_INVALID_PARAMETER, "Timeout must be an integer", 400)
        call = registry.create_outbound(
            OutboundRequest(
                to=to,
                from_=from_,
                # Twilio: when both are given, Url wins and Twiml is ignored.
                source=Fetch(url, method) if url else Inline(twiml or ""),
                url=url,
                method=method,
                status_callback=_first(form, "StatusCallback"),
                status_callback_events=events,
                status_callback_method=(_first(form, "StatusCallbackMethod") or "POST").upper(),
                timeout_s=timeout_s,
                send_digits=_first(form, "SendDigits"),
            )
        )
        return _json(call_resource(call), 201)

    async def list_calls(request: Request) -> Response:
        if (denied := authenticate(request)) is not None:
            return denied
        return _json(calls_page(account_sid, list(registry.calls.values())), 200)

    async def fetch_call(request: Request) -> Response:
        if (denied := authenticate(request)) is not None:
            return denied
        call = registry.calls.get(request.path_params["call_sid"])
        return not_found(request) if call is None else _json(call_resource(call), 200)

    async def update_call(request: Request) -> Response:
        if (denied := authenticate(request)) is not None:
            return denied
        controller = registry.controllers.get(request.path_params["call_sid"])
        if controller is None:
            return not_found(request)
        if registry.failing_updates.get(controller.call.sid, 0) > 0:
            registry.failing_updates[controller.call.sid] -= 1
            return _error(ERROR_INTERNAL, "Internal Server Error", 503)
        form = await _form(request)
        status, url, twiml = _first(form, "Status"), _first(form, "Url"), _first(form, "Twiml")
        if status is not None and status not in ("completed", "canceled"):
            return _error(ERROR_INVALID_PARAMETER, f"Invalid Status: {status}", 400)
        if url and not _valid_url(url):
            return _error(ERROR_MISSING_URL, f"Url is not a valid URL: {url}", 400)
        call = controller.call
        if callback := _first(form, "StatusCallback"):
            call.status_callback = callback
        if callback_method := _first(form, "StatusCallbackMethod"):
            call.status_callback_method = callback_method.upper()
        if status is not None:
            controller.hang_up("completed" if status == "completed" else "canceled")
        elif url or twiml:
            if controller.over or not controller.answered:
                return _error(ERROR_CALL_NOT_IN_PROGRESS, "Call is not in-progress. Cannot redirect.", 400)
            method = (_first(form, "Method") or "POST").upper()
            controller.redirect(Fetch(url, method) if url else Inline(twiml or ""))
        return _json(call_resource(call), 200)

    async def http_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            return _error(ERROR_METHOD_NOT_ALLOWED, "Method not allowed", 405)
        return not_found(request)

    async def ring_app(request: Request) -> Response:
        # Not Twilio's API: the simulated world's own control, so `phony sim call` can make a
        # simulated caller ring the app's number (the app's /receive_call webhook).
        base = app_url()
        if base is None:
            return JSONResponse({"error": "the sim does not know the app's URL"}, status_code=409)
        try:
            body = await request.json()
            from_, to = str(body["from"]), str(body["to"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "body must be JSON with 'from' and 'to'"}, status_code=400)
        scenario = body.get("scenario")
        call = registry.create_inbound(from_, to, base.rstrip("/") + "/receive_call", scenario)
        return JSONResponse({"sid": call.sid, "from": from_, "to": to, "scenario": scenario}, status_code=201)

    prefix = f"/{API_VERSION}/Accounts/{{account_sid}}"
    routes = [
        Route("/sim/inbound-calls", ring_app, methods=["POST"]),
        Route(f"{prefix}/Calls.json", create_call, methods=["POST"]),
        Route(f"{prefix}/Calls.json", list_calls, methods=["GET"]),
        Route(f"{prefix}/Calls/{{call_sid}}.json", fetch_call, methods=["GET"]),
        Route(f"{prefix}/Calls/{{call_sid}}.json", update_call, methods=["POST"]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error})
