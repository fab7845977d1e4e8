"""The emulator for a throughput bench: in its own process by default, as Iterable is another machine.

An emulator inside the bench's process shares its interpreter lock: every request the emulator parses and
answers is time the app under test cannot run, which Iterable's servers never take from us. On a slow
2-core machine that alone cost the resync a fifth of its rate. ``--in-process`` keeps the old setup, for a
comparison. Both expose what the benches read: ``us_url``, ``requests(path=…)``, ``clear_requests()``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
BANNER = re.compile(r"US (http://\S+)\s+EU (http://\S+)")


class EmulatorProcess:
    """``python -m iterable_emulator`` on ephemeral loopback ports, driven through its inspection API."""

    def __init__(self, seed: Any, **config: Any) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="bench-emulator-")
        seed_file = Path(self._dir.name) / "seed.json"
        seed_file.write_text(json.dumps(seed))
        self._process = subprocess.Popen(
            [sys.executable, "-m", "iterable_emulator", "--port", "0", "--eu-port", "0", "--seed", str(seed_file)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._http = requests.Session()
        try:
            self.us_url, self.eu_url = self._banner()
            if config:
                self.configure(**config)
        except BaseException:
            self.stop()
            raise

    def _banner(self, seconds: float = 60.0) -> tuple[str, str]:
        """The listeners' addresses, from the line the emulator prints once it listens."""
        stdout = self._process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], seconds)
        line = stdout.readline() if ready else ""
        found = BANNER.search(line)
        if not found:
            raise RuntimeError(f"the emulator did not start within {seconds:.0f} s: {line!r}")
        us, eu = found.groups()
        return us, eu

    def configure(self, **config: Any) -> dict[str, Any]:
        answer = self._http.put(f"{self.us_url}/_emulator/config", json=config, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        answer = self._http.get(f"{self.us_url}/_emulator/requests", params={"path": path} if path else {}, timeout=60)
        answer.raise_for_status()
        return answer.json()["requests"]

    def clear_requests(self) -> None:
        self._http.delete(f"{self.us_url}/_emulator/requests", timeout=10).raise_for_status()

    def stop(self) -> None:
        self._http.close()
        if self._process.poll() is None:
            self._process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=10)
            if self._process.poll() is None:
                self._process.kill()
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._dir.cleanup()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def emulator(seed: Any, *, in_process: bool = False, **config: Any):
    """The bench's emulator: its own process, or (``in_process``) threads of this one."""
    if in_process:
        from iterable_emulator.testing import EmulatorServer

        return EmulatorServer(seed, **config)
    return EmulatorProcess(seed, **config)
