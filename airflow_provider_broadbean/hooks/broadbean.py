"""Airflow hook for Broadbean's Candidate Hub (Veritone Hire)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_broadbean._compat import BaseHook

if TYPE_CHECKING:
    from airflow_provider_broadbean.candidate_hub import CandidateHubClient


class BroadbeanHook(BaseHook):
    """Sends candidates to the Candidate Hub, signing every HTTP attempt.

    Connection fields: ``password`` = the secret key issued by Veritone Hire, ``host`` = the hub
    origin (``https://candidatehub.adcourier.com`` when empty; ``/candidate`` is appended),
    ``login`` = an optional signing source id (by default each request is signed with the
    envelope's ``transaction.source_id``). Extras: ``timeout`` (read timeout per candidate, default
    60 s) and ``max_attempts`` (default 5).

    :param broadbean_conn_id: the Airflow connection id.
    :param pool_size: keep-alive connections kept open, one per thread that uses the hook at once.
    """

    conn_name_attr = "broadbean_conn_id"
    default_conn_name = "broadbean_default"
    conn_type = "broadbean"
    hook_name = "Broadbean Candidate Hub"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form for Airflow 3.0 and 3.1; later releases read the provider info."""
        from airflow_provider_broadbean.get_provider_info import ui_field_behaviour

        return ui_field_behaviour("broadbean")

    def __init__(
        self, broadbean_conn_id: str = default_conn_name, pool_size: int = 10, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.broadbean_conn_id = broadbean_conn_id
        self.pool_size = pool_size
        self._client: CandidateHubClient | None = None

    def credentials(self) -> dict[str, Any]:
        """Return ``secret_key``, ``api_url``, ``signing_source_id`` and the limits from the connection."""
        conn = self.get_connection(self.broadbean_conn_id)
        extra = conn.extra_dejson or {}
        host = (conn.host or "").strip()
        if host and "://" not in host:
            host = f"https://{host}"
        return {
            "secret_key": conn.password or "",
            "api_url": host or None,
            "signing_source_id": conn.login or None,
            "timeout": float(extra.get("timeout") or 60),
            "max_attempts": int(extra.get("max_attempts") or 5),
        }

    def get_conn(self) -> CandidateHubClient:
        """Return the hub client built from the connection (created once per hook)."""
        if self._client is None:
            from airflow_provider_broadbean.candidate_hub import CandidateHubClient, RetryPolicy

            creds = self.credentials()
            if not creds["secret_key"]:
                raise ValueError(f"connection {self.broadbean_conn_id!r} needs the secret key as password")
            self._client = CandidateHubClient(
                secret_key=creds["secret_key"],
                base_url=creds["api_url"],
                signing_source_id=creds["signing_source_id"],
                read_timeout=creds["timeout"],
                retry=RetryPolicy(max_attempts=creds["max_attempts"]),
                pool_size=self.pool_size,
            )
        return self._client

    def send_candidate(self, envelope: dict[str, Any]) -> str:
        """Send one candidate envelope; return the hub's transaction id or raise ``HubError``."""
        return self.get_conn().send(envelope)

    def test_connection(self) -> tuple[bool, str]:
        """Check what can be checked without creating a candidate.

        Sends a signed ``POST /candidate`` whose body lacks the required candidate, which the hub
        refuses before storing anything. A 401/403 means the secret or the signing source id is
        wrong; a 400 means the signature was accepted and the hub validated the body.

        .. note:: Without a signing source id in the connection's login there is no source id to
           prove the secret with: the check then fails with a message saying so, even when the hub
           is reachable.
        """
        from airflow_provider_broadbean.exceptions import HubError

        try:
            client = self.get_conn()
            source_id = client.signing_source_id or "connection-test"
            client.send({"transaction": {"client_id": "connection-test", "source_id": source_id}})
        except HubError as exc:
            if exc.status == 400:
                return True, f"Candidate Hub reachable and signature accepted ({exc.error or 'HTTP 400'})."
            if exc.status in {401, 403} and client.signing_source_id is None:
                return False, (
                    "Candidate Hub reachable, but the secret key was not checked: set the signing "
                    "source id (Login) to the source id Veritone Hire issued, then test again."
                )
            return False, str(exc)
        except ValueError as exc:
            return False, str(exc)
        return False, "the Candidate Hub accepted a request without a candidate; check the host"
