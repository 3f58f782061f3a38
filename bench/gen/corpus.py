"""Shared vocabulary and body text, built once per run from the seed.

Bodies are slices of one large buffer (memoryview, no copy), so a 200 kB response costs a
slice, not a string build. JSON bodies are prefixes of one valid JSON array cut at a record
boundary and closed, so they stay valid JSON for dissectors that parse them.
"""

from __future__ import annotations

import bisect
import random

WORDS = (
    "alpha beta gamma delta order item cart user account price stock shipping invoice "
    "payment session search result product review rating image video stream cache edge "
    "region zone cluster node metric event alert trace span query index shard replica "
    "primary backup token secret config feature flag release build deploy status health"
).split()
TLDS = ("com", "net", "org", "io", "de", "fr", "co.uk", "cloud")
DOMAIN_STEMS = (
    "example", "shopfast", "newsdaily", "cdnhub", "mailbox", "videostar", "apigate",
    "fastsearch", "socialnet", "cloudstore", "payments", "maps", "weather", "sportsnow",
    "travelbook", "musicbox", "gamezone", "docs", "analytics", "adserve",
)
HOST_PREFIXES = ("www", "api", "static", "cdn", "img", "mail", "auth", "m", "app", "assets")
USER_AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "curl/8.5.0",
    "python-requests/2.31.0",
    "okhttp/4.12.0",
)
TEXT_BYTES = 4 << 20
JSON_RECORDS = 6000


class Corpus:
    """Deterministic text, JSON and name material for every protocol."""

    def __init__(self, rng: random.Random) -> None:
        self.domains = [f"{rng.choice(HOST_PREFIXES)}.{stem}{i or ''}.{rng.choice(TLDS)}"
                        for i, stem in enumerate(DOMAIN_STEMS * 12)]
        self.text = memoryview(self._text(rng))
        self.json, self._json_ends = self._json(rng)

    @staticmethod
    def _text(rng: random.Random) -> bytes:
        lines, size = [], 0
        while size < TEXT_BYTES:
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14)))
            line = f"<p class=\"{rng.choice(WORDS)}\">{words}</p>\n"
            lines.append(line)
            size += len(line)
        return "".join(lines).encode()

    @staticmethod
    def _json(rng: random.Random) -> tuple[bytes, list[int]]:
        parts, ends, size = [b'{"items":['], [], 10
        for i in range(JSON_RECORDS):
            rec = (f'{{"id":{i},"name":"{rng.choice(WORDS)} {rng.choice(WORDS)}",'
                   f'"price":{rng.randint(1, 99999) / 100},"tags":["{rng.choice(WORDS)}"],'
                   f'"active":{"true" if rng.random() < 0.7 else "false"}}}').encode()
            if i:
                rec = b"," + rec
            parts.append(rec)
            size += len(rec)
            ends.append(size)
        return b"".join(parts), ends

    def text_slice(self, rng: random.Random, length: int) -> memoryview:
        length = min(length, len(self.text))
        start = rng.randrange(0, len(self.text) - length + 1)
        return self.text[start:start + length]

    def json_body(self, length: int) -> bytes:
        """Valid JSON close to `length` bytes (at least one record)."""
        i = max(0, min(bisect.bisect_right(self._json_ends, length - 2), len(self._json_ends)) - 1)
        return self.json[:self._json_ends[i]] + b"]}"

    def word(self, rng: random.Random) -> str:
        return rng.choice(WORDS)
