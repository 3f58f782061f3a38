"""The suffix list is first read without the punycode forms of its IDN rules; only names
with a punycode label are looked up in the whole list. Every name must get the suffix the
whole list gives."""

from __future__ import annotations

import random

import pytest

psl = pytest.importorskip("publicsuffixlist")


def test_every_name_gets_the_suffix_the_whole_list_gives():
    from shardbeat.protocols.dns.domain import _suffix_of

    whole = psl.PublicSuffixList(accept_unknown=True).publicsuffix
    rules = sorted(psl.PublicSuffixList(accept_unknown=True)._publicsuffix)
    rng = random.Random(17)
    names = ["www.example.co.uk", "xn--85x722f.xn--55qx5d.cn", "a.XN--55QX5D.cn",
             "a.b.kawasaki.jp", "city.kawasaki.jp", "foo.xn--j1amh", "unknown-tld-zz",
             "x.\\195\\164.de"]
    for _ in range(3000):
        rule = rng.choice(rules).lstrip("!").replace("*", rng.choice(["a", "xn--p1ai"]))
        if rule.isascii():
            names.append(".".join(rng.choice(["www", "a", "xn--abc"]) for _ in
                                  range(rng.randrange(3))) + ("." if rng.random() < 0.7
                                                               else "") + rule)
    for name in names:
        name = name.lstrip(".")
        assert _suffix_of()(name) == whole(name), name
