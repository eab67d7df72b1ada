"""``make demo``: the main job end to end, through Airflow itself, against the sandbox.

Starts both emulators on free loopback ports, points the ``hrflow_default`` and
``broadbean_default`` connections at them (``AIRFLOW_CONN_*`` environment variables), and runs the
``hrflow_profile_to_broadbean`` DAG with ``dag.test()`` on a real metadata database kept under
``.airflow/demo``. Then it runs the same event again, as a webhook relay replaying it would, to
show that the candidate is not sent twice. It prints the run results and what the hub received.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = REPO / ".airflow" / "demo"
JOB_ID = "R-444"
PUSH = {"client_id": "123", "source_id": "board1", "job_id": JOB_ID}


def _prepare_airflow() -> None:
    """Isolated Airflow home and a migrated metadata database, before Airflow is imported."""
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_HOME"] = str(AIRFLOW_HOME)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    airflow_bin = Path(sys.executable).parent / "airflow"
    print("Preparing the Airflow metadata database in .airflow/demo ...", flush=True)
    subprocess.run([str(airflow_bin), "db", "migrate"], check=True, capture_output=True, timeout=600)


def _pick_profile(profiles: list[dict[str, Any]]) -> dict[str, Any]:
    """The oldest seeded profile with an email and an ``original`` CV attachment."""
    for profile in sorted(profiles, key=lambda p: (str(p.get("created_at")), p["key"])):
        info = profile.get("info") or {}
        attachments = profile.get("attachments") or []
        if info.get("email") and any(
            isinstance(a, dict) and a.get("type") == "original" for a in attachments
        ):
            return profile
    raise SystemExit("the sandbox seed has no profile with an email and a CV")


def _run(dag: Any, conf: dict[str, Any]) -> dict[str, Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag_run = dag.test(run_conf=conf)
    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter(XComModel.dag_id == dag.dag_id, XComModel.run_id == dag_run.run_id)
            .filter(XComModel.key == "return_value")
            .first()
        )
        summary = row.value if row is not None else None
    if isinstance(summary, str):
        summary = json.loads(summary)
    return {"state": str(dag_run.state), "result": summary}


def _show(title: str, outcome: dict[str, Any]) -> None:
    result = outcome["result"] or {}
    events = {name: count for name, count in (result.get("events") or {}).items() if count}
    print(f"\n== {title}")
    print(f"   DAG run state : {outcome['state']}")
    print(f"   status        : {result.get('status')} (reason: {result.get('reason')})")
    print(f"   events        : {events}")
    if result.get("delivered"):
        print(f"   delivered     : {result['delivered']}")


def main() -> int:
    _prepare_airflow()

    from airflow_provider_broadbean.pipeline import redact_documents
    from sandbox import config
    from sandbox.server import Sandbox

    with Sandbox() as sandbox:
        os.environ["AIRFLOW_CONN_HRFLOW_DEFAULT"] = json.dumps(
            {
                "conn_type": "hrflow",
                "host": sandbox.hrflow_url,
                "login": config.HRFLOW_API_USER,
                "password": config.HRFLOW_API_SECRET,
            }
        )
        os.environ["AIRFLOW_CONN_BROADBEAN_DEFAULT"] = json.dumps(
            {"conn_type": "broadbean", "host": sandbox.hub_url, "password": config.HUB_SECRET}
        )
        profile = _pick_profile(sandbox.hrflow.profiles(config.SOURCE_KEY))
        conf = {
            "workflow_id": f"demo-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}",
            "source_key": config.SOURCE_KEY,
            "profile_key": profile["key"],
            **PUSH,
        }
        print(f"Sandbox HrFlow API at {sandbox.hrflow_url}, Candidate Hub at {sandbox.hub_url}")
        print(f"Sending profile {profile['key']} ({profile['info'].get('full_name')}) for job {JOB_ID}")

        from airflow.dag_processing.dagbag import DagBag

        dag = DagBag(str(REPO / "dags")).get_dag("hrflow_profile_to_broadbean")
        first = _run(dag, conf)
        _show("First run (hrflow_profile_to_broadbean)", first)
        replay = _run(dag, conf)
        _show("Same event replayed", replay)

        accepted = sandbox.hub.accepted()
        print(f"\n== The sandbox Candidate Hub received {len(accepted)} candidate(s)")
        for record in accepted:
            candidate = record["body"]["candidate"]
            print(f"   transaction   : {record['transaction_id']}")
            print(f"   candidate     : {candidate.get('name')} <{candidate.get('email')}>")
            print(f"   context       : {record['body'].get('context')}")
            for document in redact_documents(candidate).get("documents") or []:
                print(
                    f"   document      : {document['type']} {document['filename']} ({document['size']} bytes)"
                )

    ok = (
        first["result"] is not None
        and first["result"]["status"] == "success"
        and replay["result"] is not None
        and replay["result"]["events"].get("skipped_already_delivered") == 1
        and len(accepted) == 1
        and bool(accepted[0]["body"]["candidate"].get("documents"))
    )
    print("\nDemo " + ("succeeded." if ok else "FAILED."))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
