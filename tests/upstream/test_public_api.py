"""Pins the public names of songforge.upstream (rule 8)."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "songforge.upstream": {"Router", "RouteTable", "UpstreamConfig", "BACKEND_NAMES", "LOCAL", "ROUTE_KEY", "HEADER"},
    "songforge.upstream.config": {"UpstreamConfig", "RouteTable", "BACKEND_NAMES", "LOCAL", "configs_from_settings"},
    "songforge.upstream.routing": {"Router", "ROUTE_KEY", "HEADER", "requested_route", "MODEL_KEYS"},
    "songforge.upstream.translate": {"Translation", "Refused", "translate", "TRANSLATORS", "DROPPABLE"},
    "songforge.upstream.backends": {"Fetched", "UpstreamFailed", "Backend", "BACKENDS", "call", "fetch_audio"},
    "songforge.upstream.breaker": {"CircuitBreaker"},
    "songforge.upstream.runner": {"run_upstream", "UpstreamResult", "rehost", "MASTER_RATE_HZ"},
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names(module):
    mod = importlib.import_module(module)
    assert set(mod.__all__) == PUBLIC[module]
    assert all(hasattr(mod, name) for name in mod.__all__)
