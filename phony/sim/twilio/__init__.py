"""A faithful fake Twilio: REST Calls API, call lifecycle, signed webhooks, Media Streams and a caller.

Start a :class:`TwilioSim`, point the real ``twilio`` client at it with
:class:`RedirectingHttpClient`, and the simulated other party speaks its scenario's lines over the
media stream the app's TwiML opens.
"""

from phony.sim.twilio.context import SimTimings
from phony.sim.twilio.http_client import RedirectingAsyncHttpClient, RedirectingHttpClient, redirect_url
from phony.sim.twilio.numbers import BUSY_NUMBER, FAILED_NUMBER, INVALID_NUMBER, NO_ANSWER_NUMBER
from phony.sim.twilio.records import (
    CallbackDelivery,
    CallError,
    SimCall,
    StatusChange,
    StreamError,
    StreamRecord,
)
from phony.sim.twilio.signature import SIGNATURE_HEADER, compute_signature
from phony.sim.twilio.sim import TwilioSim
from phony.sim.twilio.stream import MEDIA_RECEIVED, MEDIA_SENT, MediaObserver

__all__ = [
    "BUSY_NUMBER",
    "FAILED_NUMBER",
    "INVALID_NUMBER",
    "MEDIA_RECEIVED",
    "MEDIA_SENT",
    "NO_ANSWER_NUMBER",
    "SIGNATURE_HEADER",
    "CallError",
    "CallbackDelivery",
    "MediaObserver",
    "RedirectingAsyncHttpClient",
    "RedirectingHttpClient",
    "SimCall",
    "SimTimings",
    "StatusChange",
    "StreamError",
    "StreamRecord",
    "TwilioSim",
    "compute_signature",
    "redirect_url",
]
