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
    assert url.startswith("http://h:1/files/job1/song.mp3?expires=1060&sig=")
    expires, sig = _parts(url)
    signer.verify("job1/song.mp3", expires=expires, sig=sig, now_s=1059)
    assert signer.verify_url(url, now_s=1000) == "job1/song.mp3"


def test_expired(signer):
    expires, sig = _parts(signer.sign("a/b", now_s=1000))
    with pytest.raises(Unauthorized, match="expired"):
        signer.verify("a/b", expires=expires, sig=sig, now_s=1061)


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
