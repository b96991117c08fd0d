"""A small MP3 frame walker for tests: the audio's duration, and proof every byte is a frame."""

from __future__ import annotations

# kbit/s by bitrate index, for MPEG-1 and MPEG-2/2.5 layer III.
_BITRATES = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def mp3_duration(data: bytes) -> float:
    """Seconds of layer III audio in `data`; raises ValueError if a byte is not in a frame."""
    offset = 0
    seconds = 0.0
    if data[:3] == b"ID3":
        offset = 10 + int.from_bytes(bytes(b & 0x7F for b in data[6:10]), "big")
    frames = 0
    while offset < len(data):
        header = int.from_bytes(data[offset : offset + 4], "big")
        if header >> 21 != 0x7FF or (header >> 17) & 3 != 1:
            raise ValueError(f"no layer III frame at byte {offset} of {len(data)}")
        version = (header >> 19) & 3
        bitrate = _BITRATES[1 if version == 3 else 2][(header >> 12) & 15] * 1000
        rate = _RATES[version][(header >> 10) & 3]
        samples = 1152 if version == 3 else 576
        length = samples // 8 * bitrate // rate + ((header >> 9) & 1)
        offset += length
        seconds += samples / rate
        frames += 1
    if not frames:
        raise ValueError("no MP3 frames")
    return seconds
