"""HTTP connections of the provider: kept alive, pooled, and configured from the environment once.

Two kinds of traffic, two clients:

- The hrflow SDK's calls (listing pages, reading a profile) go through :class:`PooledSession`, a
  ``requests.Session`` that reads the environment once per origin instead of once per request.
- The two calls made once per candidate, the hub's ``POST /candidate`` and the attachment download,
  go through :class:`Transport`, a urllib3 pool used directly. requests adds about half a
  millisecond of CPU per request on top of urllib3 (settings merged, cookies, hooks); with every
  worker thread sharing one interpreter lock, that was a third of a run's CPU.

Both read the proxy settings (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) and the
CA bundle (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, else certifi's, as requests does) the first
time they talk to an origin. A change of those variables reaches the next task, not a running one.
``~/.netrc`` is not read: every call carries its own credentials.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import certifi
import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies, prepend_scheme_if_needed
from urllib3.connectionpool import HTTPConnectionPool, connection_from_url
from urllib3.util import parse_url
from urllib3.util.retry import Retry

MAX_ORIGINS = 256
"""Origins whose environment settings a client remembers (the APIs and a few storage hosts)."""

SOCKS_SCHEMES = ("socks4", "socks4a", "socks5", "socks5h")
_QUERY = re.compile(r"\?[^\s'\"()]*")


class MaskQueries(logging.Filter):
    """Masks the query of every URL in a record: urllib3 logs each retry with the request's path
    and query, and the query of a pre-signed attachment link is its signature."""

    @staticmethod
    def mask(text: str) -> str:
        """``text`` with the query of every URL in it replaced by ``?***``."""
        return _QUERY.sub("?***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


URLLIB3_LOGGERS = (
    "urllib3.connectionpool",
    "urllib3.poolmanager",
    "urllib3.util.retry",
    "urllib3.connection",
    "urllib3.response",
)
"""The urllib3 loggers whose records may carry a URL (a logger's filters see only its own records)."""


def mask_urllib3_queries() -> None:
    """Install :class:`MaskQueries` on every urllib3 logger that logs URLs, once per process."""
    for name in URLLIB3_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, MaskQueries) for existing in logger.filters):
            logger.addFilter(MaskQueries())


class _Environment:
    """Proxy and CA-bundle settings per origin, read from the environment once each."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], dict[str, str]] = {}
        self._lock = threading.Lock()
        self.ca_bundle: str | None = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")

    def proxies(self, url: str) -> dict[str, str]:
        """The proxies requests would use for ``url`` (``NO_PROXY`` honoured), by scheme."""
        parts = urlsplit(url)
        origin = (parts.scheme, parts.netloc)
        found = self._known.get(origin)
        if found is None:
            found = dict(get_environ_proxies(url, no_proxy=None))
            with self._lock:
                if len(self._known) >= MAX_ORIGINS:
                    self._known.clear()
                self._known[origin] = found
        return found

    def proxy(self, url: str) -> str | None:
        """The one proxy URL for ``url``, or None to connect directly."""
        proxies = self.proxies(url)
        return proxies.get(urlsplit(url).scheme) or proxies.get("all")


class PooledSession(requests.Session):
    """A ``requests.Session`` with a keep-alive pool that reads the environment once per origin.

    :param pool_size: connections kept per origin; as many threads can use the session at once
        without one being closed and opened again.
    :param max_retries: urllib3 retry policy of the mounted adapters (``0``: none).
    """

    def __init__(self, *, pool_size: int, max_retries: Retry | int = 0) -> None:
        super().__init__()
        self.trust_env = False
        self._environment = _Environment()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=max_retries)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        """Apply the remembered environment of ``url``'s origin, then the session's own settings."""
        merged = {**self._environment.proxies(str(url or "")), **(proxies or {})}
        if verify is True or verify is None:
            verify = self._environment.ca_bundle or verify
        return super().merge_environment_settings(url, merged, stream, verify, cert)


class Transport:
    """A urllib3 connection pool per origin (and per proxy), with the environment read once.

    :param pool_size: connections kept per origin.
    :param connect_timeout: seconds to open a connection.
    :param read_timeout: seconds to wait for each read of the reply.
    """

    def __init__(self, *, pool_size: int, connect_timeout: float, read_timeout: float) -> None:
        mask_urllib3_queries()
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self._pool_size = pool_size
        self._environment = _Environment()
        self._managers: dict[str | None, urllib3.PoolManager] = {}
        self._direct_pools: dict[tuple[str, str, int | None], HTTPConnectionPool] = {}
        self._direct_targets: dict[str, tuple[HTTPConnectionPool, str]] = {}
        self._lock = threading.Lock()

    def _direct(self, url: str) -> tuple[HTTPConnectionPool, str] | None:
        """A pool of this transport's own for ``url``'s origin and the URL's path, when no proxy
        applies; None through a proxy. Skips the pool manager's per-request URL parsing and pool
        lookup on the hot path (one POST per candidate)."""
        found = self._direct_targets.get(url)
        if found is None and self._environment.proxy(url) is None:
            parts = parse_url(url)
            origin = (parts.scheme or "http", parts.host or "", parts.port)
            with self._lock:
                pool = self._direct_pools.get(origin)
                if pool is None:
                    options = self._options() if origin[0] == "https" else {"maxsize": self._pool_size}
                    pool = self._direct_pools[origin] = connection_from_url(url, **options)
                if len(self._direct_targets) >= MAX_ORIGINS:
                    self._direct_targets.clear()
                found = self._direct_targets[url] = (pool, parts.request_uri)
        return found

    def _manager(self, url: str) -> urllib3.PoolManager:
        proxy = self._environment.proxy(url)
        manager = self._managers.get(proxy)
        if manager is None:
            with self._lock:
                manager = self._managers.get(proxy)
                if manager is None:
                    manager = self._managers[proxy] = self._new_manager(proxy)
        return manager

    def _options(self) -> dict[str, Any]:
        """Pool size and CA bundle of every pool this transport opens."""
        bundle = self._environment.ca_bundle or certifi.where()
        tls: dict[str, Any] = {"ca_cert_dir": bundle} if os.path.isdir(bundle) else {"ca_certs": bundle}
        return {"maxsize": self._pool_size, **tls}

    def _new_manager(self, proxy: str | None) -> urllib3.PoolManager:
        options: dict[str, Any] = {"num_pools": 8, **self._options()}
        if proxy is None:
            return urllib3.PoolManager(**options)
        proxy = prepend_scheme_if_needed(proxy, "http")  # as requests reads ``host:port``
        if not proxy.startswith(("http://", "https://")):
            # The value is not repeated: what looks like a scheme may be a user name.
            scheme = urlsplit(proxy).scheme
            known = f" ({scheme}:// is not supported)" if scheme in SOCKS_SCHEMES else ""
            raise ValueError(f"the proxy set in the environment is not an http:// or https:// URL{known}")
        parts = parse_url(proxy)
        if parts.auth:  # user:password@ in the proxy URL, as requests reads it: sent as Basic auth
            options["proxy_headers"] = urllib3.make_headers(proxy_basic_auth=unquote(parts.auth))
            proxy = parts._replace(auth=None).url
        return urllib3.ProxyManager(proxy, **options)

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        retries: Retry | bool = False,
        preload_content: bool = True,
    ) -> urllib3.BaseHTTPResponse:
        """One request with this transport's timeouts; urllib3's exceptions are left to the caller.

        With ``retries=False`` nothing is repeated and no redirect is followed: the exception of the
        one attempt is raised as it is. Otherwise ``retries`` also bounds the redirects followed.
        A direct request goes to the origin's own pool; a redirect elsewhere is followed through
        the pool manager, which opens the pool of the new origin.
        """
        direct = self._direct(url)
        if direct is None:
            return self._via_manager(method, url, body, headers, retries=retries, preload=preload_content)
        pool, target = direct
        response = pool.urlopen(
            method,
            target,
            body=body,
            headers=headers,
            timeout=self.timeout,
            retries=retries,
            redirect=False,
            preload_content=preload_content,
        )
        location = response.get_redirect_location() if retries is not False else False
        if not location:
            return response
        response.drain_conn()
        response.release_conn()
        target_url = urljoin(url, location)
        return self._via_manager(method, target_url, body, headers, retries=retries, preload=preload_content)

    def _via_manager(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str] | None,
        *,
        retries: Retry | bool,
        preload: bool,
    ) -> urllib3.BaseHTTPResponse:
        return self._manager(url).request(
            method,
            url,
            body=body,
            headers=headers,
            timeout=self.timeout,
            retries=retries,
            redirect=retries is not False,
            preload_content=preload,
        )

    def close(self) -> None:
        for manager in self._managers.values():
            manager.clear()
        for pool in self._direct_pools.values():
            pool.close()
