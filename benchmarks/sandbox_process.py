"""The sandbox in a process of its own, seeded with generated profiles for one benchmark.

The Candidate Hub is a remote service in production. Running the emulators in the measuring
process would make them compete with the code under test for the GIL and add their memory (every
accepted candidate, every served file) to its peak, so each benchmark starts them here:

    python -m benchmarks.sandbox_process --profiles 300 --cv-bytes 1024 --hub-latency-ms 25

It uses the sandbox's Python API (``Sandbox``, ``hrflow.put_profile``, ``hrflow.put_file``,
``hub.set_faults(latency_ms=...)``), prints one JSON line with the URLs and source keys once
serving, and stops when its standard input is closed, so it never outlives the benchmark.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import random
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

from sandbox.config import SEED_DIR
from sandbox.server import Sandbox

WITH_CV_SOURCE = "b" * 40
"""Source whose profiles each carry one CV attachment of ``--cv-bytes``."""

WITHOUT_CV_SOURCE = "c" * 40
"""Source with the same profiles and no attachment, for the memory benchmark's reference run."""

TEMPLATE = SEED_DIR / "profiles" / "01-ada-quellwater.json"
FIRST_CREATED = datetime(2026, 1, 1, tzinfo=timezone.utc)


def cv_body(size: int) -> bytes:
    """A deterministic ``size``-byte file that starts like a PDF; the rest is random bytes, as the
    compressed streams of a real PDF look."""
    header = b"%PDF-1.4\n"
    if size <= len(header):
        return header[:size]
    return header + random.Random(size).randbytes(size - len(header))


def make_profile(template: dict[str, Any], index: int, cv_name: str | None) -> dict[str, Any]:
    """A clean parsed profile, distinct by key, reference, name and e-mail, with at most one CV."""
    profile = copy.deepcopy(template)
    stamp = (FIRST_CREATED + timedelta(seconds=index)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    profile.update(
        key=hashlib.sha1(f"benchmark-profile-{index}".encode()).hexdigest(),
        reference=f"BENCH-{index:05d}",
        created_at=stamp,
        updated_at=stamp,
    )
    info = profile["info"]
    info.update(
        full_name=f"Bench Person {index}",
        first_name="Bench",
        last_name=f"Person {index}",
        email=f"bench.person.{index}@example.test",
    )
    original = next(a for a in template["attachments"] if a.get("type") == "original")
    profile["attachments"] = []
    if cv_name is not None:
        profile["attachments"] = [
            {
                **original,
                "original_file_name": f"Bench_Person_{index}_CV.pdf",
                "public_url": "{files}/" + cv_name,
            }
        ]
    return profile


def seed(sandbox: Sandbox, profiles: int, cv_bytes: int) -> None:
    """Both benchmark sources, ``profiles`` each; every CV file shares one body to keep this process small."""
    template = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    body = cv_body(cv_bytes)
    sandbox.hrflow.add_source(WITH_CV_SOURCE, "Benchmark source with CVs")
    sandbox.hrflow.add_source(WITHOUT_CV_SOURCE, "Benchmark source without CVs")
    for index in range(profiles):
        name = f"bench-cv-{index:05d}.pdf"
        sandbox.hrflow.put_file(name, body)
        sandbox.hrflow.put_profile(WITH_CV_SOURCE, make_profile(template, index, name))
        sandbox.hrflow.put_profile(WITHOUT_CV_SOURCE, make_profile(template, index, None))


def main(argv: list[str] | None = None) -> int:
    """Serve until standard input closes; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sandbox_process")
    parser.add_argument("--profiles", type=int, required=True)
    parser.add_argument("--cv-bytes", type=int, required=True)
    parser.add_argument("--hub-latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)

    with Sandbox(seed_dir=None) as sandbox:
        seed(sandbox, args.profiles, args.cv_bytes)
        if args.hub_latency_ms:
            sandbox.hub.set_faults(latency_ms=args.hub_latency_ms)
        ready = {
            **sandbox.describe(),
            "with_cv_source": WITH_CV_SOURCE,
            "without_cv_source": WITHOUT_CV_SOURCE,
        }
        print(json.dumps(ready), flush=True)
        sys.stdin.read()
    return 0


if __name__ == "__main__":
    sys.exit(main())
