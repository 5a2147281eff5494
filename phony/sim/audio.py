"""G.711 μ-law audio for the simulators: encode/decode, speech-like signals, frame energy.

Twilio Media Streams and the Realtime API's ``audio/pcmu`` both carry raw μ-law at 8 kHz, 20 ms
frames of 160 bytes. The simulators synthesise "speech" as a voiced, amplitude-modulated signal whose
energy a voice-activity detector can find, and silence as μ-law zero (0xFF).
"""

from __future__ import annotations

import functools
import math

SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000  # 160
SILENCE_BYTE = 0xFF
_BIAS = 0x84
_CLIP = 32635


def _decode_byte(u: int) -> int:
    u = ~u & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    sample = ((mantissa << 3) + _BIAS) << exponent
    sample -= _BIAS
    return -sample if sign else sample


_DECODE = tuple(_decode_byte(b) for b in range(256))


def encode_sample(sample: int) -> int:
    """One 16-bit linear PCM sample to one μ-law byte (ITU-T G.711)."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sample < 0 else sample, _CLIP) + _BIAS
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not magnitude & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def decode(data: bytes) -> list[int]:
    """μ-law bytes to 16-bit linear PCM samples."""
    return [_DECODE[b] for b in data]


_SQUARED = tuple(sample * sample for sample in _DECODE)


@functools.lru_cache(maxsize=4096)
def rms(data: bytes) -> float:
    """Root-mean-square level of a μ-law buffer in linear PCM units (0 for silence).

    Cached: a call's audio repeats (silence frames, the party's few phrases), and a VAD asks this
    50 times a second per call.
    """
    if not data:
        return 0.0
    return math.sqrt(sum(map(_SQUARED.__getitem__, data)) / len(data))


def silence(ms: int) -> bytes:
    """``ms`` milliseconds of μ-law silence."""
    return bytes([SILENCE_BYTE]) * (SAMPLE_RATE * ms // 1000)


def speech(ms: int, pitch_hz: float = 180.0, level: float = 6000.0, seed: int = 0) -> bytes:
    """``ms`` milliseconds of a voiced, syllable-modulated signal (clearly above any VAD threshold)."""
    n = SAMPLE_RATE * ms // 1000
    out = bytearray(n)
    syllable_hz = 4.0 + (seed % 3) * 0.5
    for i in range(n):
        t = i / SAMPLE_RATE
        envelope = 0.55 + 0.45 * math.sin(2 * math.pi * syllable_hz * t)
        voiced = math.sin(2 * math.pi * pitch_hz * t) + 0.5 * math.sin(2 * math.pi * 2 * pitch_hz * t)
        out[i] = encode_sample(int(level * envelope * voiced / 1.5))
    return bytes(out)


def frames(data: bytes, size: int = FRAME_BYTES) -> list[bytes]:
    """Split audio into whole frames, padding the last one with silence."""
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    if chunks and len(chunks[-1]) < size:
        chunks[-1] = chunks[-1] + bytes([SILENCE_BYTE]) * (size - len(chunks[-1]))
    return chunks


def duration_ms(data: bytes) -> int:
    """Playback length of μ-law 8 kHz audio in milliseconds."""
    return len(data) * 1000 // SAMPLE_RATE
