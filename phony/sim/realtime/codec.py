"""The three audio formats a Realtime session may use, and the sim's cached synthetic speech.

``audio/pcmu`` (μ-law 8 kHz) is what a Twilio bridge uses; ``audio/pcm`` (16-bit little-endian 24 kHz)
is the API's default, so a client that forgets to ask for μ-law gets PCM from the sim too, as it would
from OpenAI. ``audio/pcma`` (A-law 8 kHz) completes the set. Speech is synthesised once as μ-law
(:func:`phony.sim.audio.speech`) and converted, so every format carries the same signal.
"""

from __future__ import annotations

import math
import sys
from array import array
from dataclasses import dataclass
from typing import Literal

from phony.sim import audio

FormatName = Literal["audio/pcmu", "audio/pcma", "audio/pcm"]
FRAME_MS = audio.FRAME_MS
_PCM_UPSAMPLE = 3  # 8 kHz script speech to the 24 kHz of audio/pcm


def _alaw_decode(a_val: int) -> int:
    # ITU-T G.711 A-law expansion (as in Sun's reference g711.c).
    a_val ^= 0x55
    t = (a_val & 0x0F) << 4
    seg = (a_val & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a_val & 0x80 else -t


def _alaw_encode(sample: int) -> int:
    # ITU-T G.711 A-law compression of a 16-bit sample.
    pcm = sample >> 3
    if pcm >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        pcm = -pcm - 1
    seg = 0
    while seg < 8 and pcm > (0x20 << seg) - 1:  # segment ends 0x1F, 0x3F, ... 0xFFF
        seg += 1
    if seg >= 8:
        return 0x7F ^ mask
    aval = seg << 4
    aval |= (pcm >> 1) & 0x0F if seg < 2 else (pcm >> seg) & 0x0F
    return aval ^ mask


_ALAW_DECODE = tuple(_alaw_decode(b) for b in range(256))
# μ-law byte -> A-law byte, for bytes.translate (one C call per chunk instead of a Python loop).
_MULAW_TO_ALAW = bytes(_alaw_encode(s) for s in audio.decode(bytes(range(256))))


def _pcm16_rms(data: bytes) -> float:
    samples = array("h")
    samples.frombytes(data[: len(data) - len(data) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def _alaw_rms(data: bytes) -> float:
    if not data:
        return 0.0
    return math.sqrt(sum(_ALAW_DECODE[b] ** 2 for b in data) / len(data))


def _mulaw_to_pcm24k(data: bytes) -> bytes:
    samples = array("h")
    for s in audio.decode(data):
        samples.extend((s,) * _PCM_UPSAMPLE)
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


@dataclass(frozen=True)
class AudioCodec:
    """One ``audio/*`` format: its byte rate, a frame-energy measure and conversion from μ-law."""

    name: FormatName
    bytes_per_ms: int

    @property
    def frame_bytes(self) -> int:
        """Bytes in one 20 ms VAD frame."""
        return self.bytes_per_ms * FRAME_MS

    def duration_ms(self, nbytes: int) -> int:
        """Milliseconds of audio in ``nbytes`` bytes of this format."""
        return nbytes // self.bytes_per_ms

    def rms(self, frame: bytes) -> float:
        """Root-mean-square level of a frame in 16-bit linear units (0 for digital silence)."""
        if self.name == "audio/pcmu":
            return audio.rms(frame)
        if self.name == "audio/pcma":
            return _alaw_rms(frame)
        return _pcm16_rms(frame)

    def from_mulaw(self, data: bytes) -> bytes:
        """Convert 8 kHz μ-law (the sim's speech) to this format."""
        if self.name == "audio/pcmu":
            return data
        if self.name == "audio/pcma":
            return data.translate(_MULAW_TO_ALAW)
        return _mulaw_to_pcm24k(data)


PCMU = AudioCodec("audio/pcmu", audio.SAMPLE_RATE // 1000)
PCMA = AudioCodec("audio/pcma", audio.SAMPLE_RATE // 1000)
PCM = AudioCodec("audio/pcm", 24 * 2)


def codec_named(name: str | None) -> AudioCodec:
    """The codec of a session's ``format.type`` (the API's default, 24 kHz PCM, when unset)."""
    if name == "audio/pcmu":
        return PCMU
    if name == "audio/pcma":
        return PCMA
    return PCM


class SpeechCache:
    """Synthetic speech for a line of the script, made once per (text, format) per simulator.

    Synthesis is pure Python (~10 ms a second of audio); a load test answers the same lines thousands
    of times, so the simulator keeps what it made instead of blocking its event loop again.
    """

    def __init__(self, max_entries: int = 512) -> None:
        self._cache: dict[tuple[str, FormatName, int], bytes] = {}
        self._max_entries = max_entries

    def speech(self, text: str, codec: AudioCodec, duration_ms: int) -> bytes:
        """``duration_ms`` of speech-like audio standing for ``text``, in ``codec``'s format."""
        key = (text, codec.name, duration_ms)
        found = self._cache.pop(key, None)
        if found is None:
            found = codec.from_mulaw(audio.speech(duration_ms, seed=len(text)))
            if len(self._cache) >= self._max_entries:
                # Verbatim lines (supervisors' words) are endless; keep the most recently used ones.
                del self._cache[next(iter(self._cache))]
        self._cache[key] = found
        return found
