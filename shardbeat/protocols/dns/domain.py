"""`dns.question.{registered_domain, top_level_domain, subdomain, etld_plus_one}`.

Packetbeat derives these with Go's x/net/publicsuffix (the Public Suffix List, private
domains included, unknown TLDs taken as public suffixes). shardbeat uses the
`publicsuffixlist` package, whose bundled copy of the list is read from disk once per
process: it never fetches anything at run time. Without the package only the `*` default
rule applies (the last label is the suffix), which is right for most names but not for
multi-label suffixes such as `co.uk`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable


@lru_cache(maxsize=1)
def _suffix_of() -> Callable[[str], str | None]:
    # Loaded on first use and shared read-only by every parser in the process. The list
    # is read without the punycode forms of its IDN rules: making them runs the pure-Python
    # IDNA codec over the list (some 300 million instructions per process), and only a
    # name with a punycode label can meet one of them, as each has such a label (names
    # read off the wire are ASCII, so the IDN rules themselves never match). Such names
    # go to the whole list, read the first time one comes.
    try:
        from publicsuffixlist import PublicSuffixList
    except ImportError:  # pragma: no cover - exercised only where the package is missing
        return lambda name: name.rsplit(".", 1)[-1]
    without_punycode = PublicSuffixList(accept_unknown=True,
                                        accept_encoded_idn=False).publicsuffix

    def suffix(name: str) -> str | None:
        if "xn--" in name.lower():
            return _with_punycode()(name)
        return without_punycode(name)

    return suffix


@lru_cache(maxsize=1)
def _with_punycode() -> Callable[[str], str | None]:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList(accept_unknown=True).publicsuffix


def etld_plus_one(name: str) -> str | None:
    """Go's publicsuffix.EffectiveTLDPlusOne, or None where it returns an error."""
    if not name or name.startswith(".") or name.endswith(".") or ".." in name:
        return None
    suffix = _suffix_of()(name)
    if not suffix:
        return None
    suffix_labels = suffix.count(".") + 1
    labels = name.split(".")
    if len(labels) <= suffix_labels:
        return None
    # Sliced from the name itself so that its case is kept, as Go's slice keeps it.
    return ".".join(labels[-suffix_labels - 1:])


@lru_cache(maxsize=4096)
def question_domain(name: str) -> dict[str, str]:
    """The ECS domain parts of a question name (already without its trailing dot).
    Cached because real traffic asks for the same names over and over; callers copy the
    result and never change it."""
    out: dict[str, str] = {}
    registered = etld_plus_one(name)
    if registered:
        out["etld_plus_one"] = registered
        out["registered_domain"] = registered
        dot = registered.find(".")
        if dot != -1:
            out["top_level_domain"] = registered[dot + 1:]
        if name.endswith(registered):
            subdomain = name[:-len(registered)].rstrip(".")
            if subdomain:
                out["subdomain"] = subdomain
    elif name.count(".") == 1:
        # Packetbeat's fallback for a name that is itself a public suffix ("co.uk").
        head, _, tail = name.partition(".")
        if tail:
            out["top_level_domain"] = tail
        out["registered_domain"] = name
    return out
