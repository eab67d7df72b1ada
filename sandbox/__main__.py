"""``python -m sandbox``: run both emulators until SIGTERM or SIGINT.

Prints one JSON line with the URLs and credentials, writes the same JSON to ``--ready-file``
(through a rename, so a reader never sees half a file) and exits 0 on a stop signal. Other
processes (Airflow, a crash test) start it this way and wait for the ready file.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from sandbox.config import DEFAULT_HRFLOW_PORT, DEFAULT_HUB_PORT, SEED_DIR
from sandbox.server import Sandbox


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--hrflow-port", type=int, default=DEFAULT_HRFLOW_PORT, help="0 picks a free port")
    parser.add_argument("--hub-port", type=int, default=DEFAULT_HUB_PORT, help="0 picks a free port")
    parser.add_argument("--data-dir", type=Path, help="where the hub appends candidates.jsonl")
    parser.add_argument("--seed-dir", type=Path, default=SEED_DIR, help="seed profiles and files")
    parser.add_argument("--ready-file", type=Path, help="write the URLs and credentials here once serving")
    return parser.parse_args(argv)


def _write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file next to ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    """Serve until a stop signal; returns the exit status."""
    args = _parse_args(argv)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    sandbox = Sandbox(args.hrflow_port, args.hub_port, data_dir=args.data_dir, seed_dir=args.seed_dir)
    sandbox.start()
    try:
        ready = json.dumps({**sandbox.describe(), "pid": os.getpid()})
        print(ready, flush=True)
        if args.ready_file is not None:
            _write_atomically(args.ready_file, ready + "\n")
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
