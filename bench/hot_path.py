"""The library's own cost per request, without a network: over a canned transport, requests and httpx.

The canned transport returns one prepared response (with a current ``Date`` header) at once, so the
difference between calling it directly and calling it through the adapter is what the adapter adds to
every request: scope check, token attach, Date sample, 401 check, retry bookkeeping.

    python bench/hot_path.py [--calls 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time
import timeit
from email.utils import formatdate
from typing import Any

import requests
from requests.adapters import BaseAdapter

from genesys_auth_adapter import ClientCredentials, GenesysAdapter, GenesysAuth, IssuedToken, RetryPolicy


class _Canned(BaseAdapter):
    """Answers every request with the same 200 response, its Date header kept current."""

    def __init__(self) -> None:
        super().__init__()
        self._response = requests.Response()
        self._response.status_code = 200
        self._second = -1

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._response.headers["Date"] = formatdate(second, usegmt=True)
        self._response.request = request
        return self._response

    def close(self) -> None:
        pass


class _Credentials(ClientCredentials):
    """Hands out a token without a login request."""

    def token_request(self) -> None:  # type: ignore[override]
        return None  # no login request: obtain() hands out the token

    def obtain(self) -> IssuedToken:
        return IssuedToken("bench-token", expires_in=86400)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    base = "https://api.mypurecloud.com"
    canned = _Canned()
    auth = GenesysAuth(_Credentials("bench-client", "bench-secret", api_url=base))
    adapter = GenesysAdapter(auth, transport=canned)
    no_retry = GenesysAdapter(auth, transport=canned, retry=RetryPolicy(max_attempts=1))
    request = requests.Request("GET", base + "/api/v2/organizations/me").prepare()
    adapter.send(request)  # the token

    calls: int = args.calls
    repeat: int = args.repeat

    def best(call: Any) -> float:
        return min(timeit.repeat(call, number=calls, repeat=repeat)) / calls * 1e6

    transport = best(lambda: canned.send(request))
    full = best(lambda: adapter.send(request))
    bare = best(lambda: no_retry.send(request))
    print(f"canned transport alone   {transport:6.2f} us/call")
    print(f"through GenesysAdapter   {full:6.2f} us/call  (+{full - transport:.2f} us)")
    print(f"  with retries off       {bare:6.2f} us/call  (+{bare - transport:.2f} us)")
    for name, stored in _with_stores(base, canned, request, best):
        print(f"  with a {name:<15} {stored:6.2f} us/call  (x{stored / full:.3f} of no store)")
    _httpx(base, calls // 10, repeat)


def _with_stores(base: str, canned: BaseAdapter, request: Any, best: Any) -> list[tuple[str, float]]:
    """The same request with a shared token store: no store I/O happens while the token is fresh."""
    import tempfile

    from genesys_auth_adapter import ClientCredentials, FileTokenStore, MemoryTokenStore
    from genesys_auth_adapter.stores import StoredToken
    from genesys_auth_adapter.stores.shared import source_binding, source_key

    creds = ClientCredentials("bench-client", "bench-secret", api_url=base)
    now = time.time()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for name, store in (("memory store", MemoryTokenStore()), ("file store", FileTokenStore(path=folder))):
            # The token is already in the store (another process got it): this process takes it from there.
            entry = StoredToken("bench-token", "bearer", now + 86400, now, source_binding(creds))
            store.save(source_key(creds) or "", entry)
            adapter = GenesysAdapter(GenesysAuth(creds, store=store), transport=canned)
            adapter.send(request)
            results.append((name, best(lambda adapter=adapter: adapter.send(request))))
    return results


def _httpx(base: str, calls: int, repeat: int) -> None:
    """The same comparison for httpx: a client with a static header against one with GenesysHttpxAuth."""
    try:
        import httpx

        from genesys_auth_adapter.httpx import GenesysHttpxAuth
    except ImportError:
        print("httpx: not installed (pip install '.[httpx]')")
        return
    date = formatdate(time.time(), usegmt=True)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Date": date}, content=b"{}")

    mock = httpx.MockTransport(answer)
    auth = GenesysHttpxAuth(_Credentials("bench-client", "bench-secret", api_url=base))
    plain = httpx.Client(transport=mock, headers={"Authorization": "Bearer bench-token"})
    genesys = httpx.Client(transport=auth.transport(mock), auth=auth)
    url = base + "/api/v2/organizations/me"
    genesys.get(url)  # the token

    def best(call: Any) -> float:
        return min(timeit.repeat(call, number=calls, repeat=repeat)) / calls * 1e6

    static = best(lambda: plain.get(url))
    full = best(lambda: genesys.get(url))
    print(f"httpx, static header     {static:6.2f} us/call")
    print(f"httpx, GenesysHttpxAuth  {full:6.2f} us/call  (+{full - static:.2f} us)")


if __name__ == "__main__":
    main()
