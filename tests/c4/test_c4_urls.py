"""Safe resolution of provider-given URLs (``poolingURL``)."""

from __future__ import annotations

import pytest
from yarl import URL

from broker.c4.urls import resolve, safe_path
from broker.errors import ProviderProtocolError

BASE = "http://10.0.0.5:7777"


def test_relative_path_resolves_on_the_base() -> None:
    """A relative polling path is appended to the provider's base URL."""
    assert resolve(BASE, "/api/v1.0/running/abc") == f"{BASE}/api/v1.0/running/abc"


def test_query_is_kept() -> None:
    """The query of a polling URL is kept, the fragment dropped."""
    url = "/api/v1.0/running/abc?client_uuid=t1#frag"
    assert resolve(BASE, url) == f"{BASE}/api/v1.0/running/abc?client_uuid=t1"


def test_reference_implementation_bogus_host_is_repaired() -> None:
    """The template's ``https://api/v1.0/...`` becomes a path on the base."""
    url = "https://api/v1.0/running/abc"
    assert resolve(BASE, url) == f"{BASE}/api/v1.0/running/abc"


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.example/api/v1.0/running/abc",
        "http://10.0.0.5:8080/api/v1.0/running/abc",
        "https://10.0.0.5:7777/api/v1.0/running/abc",
        "http://user:secret@evil.example/api/v1.0/running/abc",
        "http://10.0.0.5@evil.example/api/v1.0/running/abc",
        "http://169.254.169.254/api/v1.0/running/abc",
        "http://[::1]:7777/api/v1.0/running/abc",
        "http://[fd00::1]/api/v1.0/running/abc",
        "http://2130706433/api/v1.0/running/abc",
        "http://0x7f000001/api/v1.0/running/abc",
        "//evil.example/api/v1.0/running/abc",
        "ftp://evil.example/api/v1.0/running/abc",
    ],
)
def test_foreign_origins_are_ignored(url: str) -> None:
    """Scheme, host, port and user info of the URL never leave the base."""
    resolved = URL(resolve(BASE, url))
    assert (resolved.scheme, resolved.host, resolved.port) == ("http", "10.0.0.5", 7777)
    assert resolved.user is None
    assert resolved.path == "/api/v1.0/running/abc"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "/admin",
        "/api/v1.0",
        "/api/v2.0/running/abc",
        "/API/v1.0/running/abc",
        "api/v1.0/running/abc",
        "/api/v1.0/../../admin",
        "/api/v1.0/running/../../../etc/passwd",
        "/api/v1.0/./running",
        "/api/v1.0/%2e%2e/%2e%2e/admin",
        "/api/v1.0/%2E%2e/admin",
        "/api/v1.0/running%2f..%2f..%2fadmin",
        "/api/v1.0/running/%252e%252e",
        "/api/v1.0/running\\..\\admin",
        "/api/v1.0//running",
        "/api/v1.0/running/",
        "/api/v1.0/running/a b",
        "/api/v1.0/running/a\r\nHost: evil",
        "/api/v1.0/running/%zz",
        "http://[::1/api/v1.0/running/abc",
        "",
    ],
)
def test_unsafe_paths_are_refused(url: str) -> None:
    """Paths outside the C4 API, dot segments and encoding tricks are refused."""
    with pytest.raises(ProviderProtocolError):
        resolve(BASE, url, provider="sim-a")


def test_refusal_names_provider_not_url() -> None:
    """The refusal is an operator-safe sentence that does not echo the URL."""
    with pytest.raises(ProviderProtocolError) as caught:
        safe_path("http://evil.example/steal", provider="sim-a")
    assert "evil" not in str(caught.value)
    assert caught.value.provider == "sim-a"
