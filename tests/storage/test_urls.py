from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from songforge.errors import Unauthorized
from songforge.storage.urls import UrlSigner


@pytest.fixture
def signer():
    return UrlSigner(b"k" * 32, ttl_s=60, base_url="http://h:1/")


def _parts(url):
    q = parse_qs(urlsplit(url).query)
    return q["expires"][0], q["sig"][0]


def test_sign_and_verify(signer):
    url = signer.sign("job1/song.mp3", now_s=1000)
    assert url.startswith("http://h:1/files/job1/song.mp3?expires=1080&sig=")  # 1060 rounded up to the 60 s grid
    expires, sig = _parts(url)
    signer.verify("job1/song.mp3", expires=expires, sig=sig, now_s=1079)
    assert signer.verify_url(url, now_s=1000) == "job1/song.mp3"


def test_expired(signer):
    expires, sig = _parts(signer.sign("a/b", now_s=1000))
    with pytest.raises(Unauthorized, match="expired"):
        signer.verify("a/b", expires=expires, sig=sig, now_s=1081)


@pytest.mark.parametrize("ttl_s", [1, 60, 86400])
def test_links_minted_within_one_grid_step_are_the_same_url(ttl_s):
    signer = UrlSigner(b"k" * 32, ttl_s=ttl_s)
    step_s = min(ttl_s, 3600)
    for now_s in (1_700_000_000, 1_700_000_001, 1_700_003_599, 1_700_003_600):
        expires_s = signer.expiry(now_s=now_s)
        assert expires_s % step_s == 0 and ttl_s <= expires_s - now_s < ttl_s + step_s
    start_s = 1_700_000_000 - 1_700_000_000 % step_s + 1
    assert signer.sign("a/b", now_s=start_s) == signer.sign("a/b", now_s=start_s + step_s - 1)


@pytest.mark.parametrize("change", ["key", "expires", "sig", "secret", "garbage"])
def test_tampering_is_refused(signer, change):
    expires, sig = _parts(signer.sign("a/b", now_s=1000))
    key = "a/c" if change == "key" else "a/b"
    expires = str(int(expires) + 3600) if change == "expires" else expires
    sig = sig[:-1] + ("0" if sig[-1] != "0" else "1") if change == "sig" else sig
    expires = "soon" if change == "garbage" else expires
    checker = UrlSigner(b"other", ttl_s=60) if change == "secret" else signer
    with pytest.raises(Unauthorized):
        checker.verify(key, expires=expires, sig=sig, now_s=1000)


def test_empty_secret_is_refused():
    with pytest.raises(ValueError):
        UrlSigner(b"")
