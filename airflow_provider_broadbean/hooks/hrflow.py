"""Airflow hook for the HrFlow.ai API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_broadbean._compat import BaseHook

if TYPE_CHECKING:
    from airflow_provider_broadbean.hrflow_client import HrFlowApi


class HrFlowHook(BaseHook):
    """Reads profiles and attachments from HrFlow.ai.

    Connection fields: ``login`` = the API user email, ``password`` = the API secret key, ``host`` =
    the API root (``https://api.hrflow.ai/v1/`` when empty). Extras: ``timeout`` (seconds per call,
    default 30) and ``source_key`` (checked by :meth:`test_connection` when set).

    Every call has a connect and read timeout and is retried with back-off on connection errors,
    429 and 5xx; the ``hrflow`` SDK does neither by itself.

    :param hrflow_conn_id: the Airflow connection id.
    :param pool_size: keep-alive connections kept open, one per thread that uses the hook at once.
    """

    conn_name_attr = "hrflow_conn_id"
    default_conn_name = "hrflow_default"
    conn_type = "hrflow"
    hook_name = "HrFlow.ai"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form for Airflow 3.0 and 3.1; later releases read the provider info."""
        from airflow_provider_broadbean.get_provider_info import ui_field_behaviour

        return ui_field_behaviour("hrflow")

    def __init__(self, hrflow_conn_id: str = default_conn_name, pool_size: int = 10, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hrflow_conn_id = hrflow_conn_id
        self.pool_size = pool_size
        self._api: HrFlowApi | None = None

    def credentials(self) -> dict[str, Any]:
        """Return ``api_secret``, ``api_user``, ``api_url`` and ``timeout`` from the connection."""
        conn = self.get_connection(self.hrflow_conn_id)
        extra = conn.extra_dejson or {}
        host = (conn.host or "").strip()
        if host and "://" not in host:
            host = f"https://{host}"
        return {
            "api_secret": conn.password or "",
            "api_user": conn.login or "",
            "api_url": host or None,
            "timeout": float(extra.get("timeout") or 30),
            "source_key": extra.get("source_key") or None,
        }

    def get_conn(self) -> HrFlowApi:
        """Return the API client built from the connection (created once per hook)."""
        if self._api is None:
            from airflow_provider_broadbean.hrflow_client import HrFlowApi

            creds = self.credentials()
            if not creds["api_secret"] or not creds["api_user"]:
                raise ValueError(
                    f"connection {self.hrflow_conn_id!r} needs the API user email as login and the API "
                    "secret key as password"
                )
            self._api = HrFlowApi(
                api_secret=creds["api_secret"],
                api_user=creds["api_user"],
                api_url=creds["api_url"],
                timeout=creds["timeout"],
                pool_size=self.pool_size,
            )
        return self._api

    def get_profile(self, source_key: str, profile_key: str) -> dict[str, Any] | None:
        """Return one profile, or None when HrFlow says it does not exist."""
        return self.get_conn().get_profile(source_key, profile_key)

    def download_attachment(self, url: str, max_bytes: int) -> bytes:
        """Download an attachment with the connection's timeout and a size limit."""
        return self.get_conn().download(url, max_bytes=max_bytes)

    def test_connection(self) -> tuple[bool, str]:
        """Check the key pair with ``GET auth`` and, when the extra ``source_key`` is set, read access
        to that source with ``GET source``."""
        from airflow_provider_broadbean.exceptions import HrFlowError

        try:
            api = self.get_conn()
            api.check_auth()
            source_key = self.credentials()["source_key"]
            if source_key:
                source = api.get_source(source_key)
                return True, f"Key pair accepted; source {source.get('name') or source_key!r} is readable."
            return True, "Key pair accepted by HrFlow."
        except (HrFlowError, ValueError) as exc:
            return False, str(exc)
