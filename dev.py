#!/usr/bin/env python3
"""The two commands a newcomer needs; standard library only, because it builds the virtualenv first.

python3 dev.py start   install, migrate, load the demo, start the Iterable emulator, a task worker
                       and the dashboard; prints the URL and a login
python3 dev.py test    install with the test tools and run the whole suite (extra arguments go to pytest)
"""

import hashlib
import os
import secrets
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
DATA = Path(os.environ.get("DATA_DIR", ROOT / "data"))
HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")
EMULATOR_PORT = os.environ.get("EMULATOR_PORT", "8765")
EMULATOR_EU_PORT = os.environ.get("EMULATOR_EU_PORT", "8766")


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def run(*args: str, env: dict | None = None) -> None:
    subprocess.run(args, cwd=ROOT, env=env, check=True)


def ensure_venv(requirements: str) -> None:
    """Create .venv and install the pinned requirements, again only when the files change."""
    if not PYTHON.exists():
        say(f"creating virtualenv in {VENV}")
        venv.create(VENV, with_pip=True)
    digest = hashlib.sha256()
    for name in ("requirements.txt", requirements):
        digest.update((ROOT / name).read_bytes())
    stamp = VENV / f".installed-{requirements}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    say(f"installing {requirements}")
    run(str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", requirements)
    stamp.write_text(digest.hexdigest())


def demo_environment() -> dict:
    """The embedded demo's environment: plain HTTP on loopback, and demo API keys made once per machine.

    The keys live in DATA_DIR/demo.env; the database only names the variables (as in production).
    """
    DATA.mkdir(parents=True, exist_ok=True)
    env_file = DATA / "demo.env"
    if not env_file.exists():
        env_file.write_text(
            "".join(
                f"{name}=demo-{secrets.token_hex(16)}\n"
                for name in ("ITERABLE_API_KEY_STUDENT_US", "ITERABLE_API_KEY_EMPLOYER_US")
            )
        )
        env_file.chmod(0o600)
    env = dict(os.environ)
    for line in env_file.read_text().splitlines():
        name, _, value = line.partition("=")
        env.setdefault(name, value)
    for name, value in {
        "DATA_DIR": str(DATA),
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "ITERABLE_EMULATOR_URL": f"http://127.0.0.1:{EMULATOR_PORT}",
        # The demo's API keys may go to the emulator (US and EU listeners), and nowhere but Iterable otherwise.
        "ITERABLE_ALLOWED_HOSTS": f"http://127.0.0.1:{EMULATOR_PORT},http://127.0.0.1:{EMULATOR_EU_PORT}",
    }.items():
        env.setdefault(name, value)
    return env


def wait_for_port(port: str, timeout: float = 20.0) -> bool:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", int(port))) == 0:
                return True
        time.sleep(0.2)
    return False


def start() -> int:
    ensure_venv("requirements.txt")
    env = demo_environment()
    manage = [str(PYTHON), "manage.py"]
    run(*manage, "migrate", "--noinput", "-v", "0", env=env)
    run(*manage, "collectstatic", "--noinput", "-v", "0", env=env)
    run(*manage, "seed_demo", "--api-base-url", env["ITERABLE_EMULATOR_URL"], env=env)
    processes: list[subprocess.Popen] = []
    if (ROOT / "iterable_emulator" / "__main__.py").exists():
        seed = DATA / "emulator-seed.json"
        run(*manage, "emulator_seed", "--output", str(seed), env=env)
        # Live health: the emulator's system webhooks post to the dashboard (seed and saved state alike).
        state = str(DATA / "emulator-state.json")
        dashboard = f"http://{HOST}:{PORT}"
        hooks = ["--file", str(seed), "--file", state, "--dashboard-url", dashboard]
        run(*manage, "health_demo", "webhooks", *hooks, env=env)
        processes.append(
            subprocess.Popen(
                [
                    str(PYTHON),
                    "-m",
                    "iterable_emulator",
                    "--port",
                    EMULATOR_PORT,
                    "--eu-port",
                    EMULATOR_EU_PORT,
                    "--seed",
                    str(seed),
                    "--state-file",
                    str(DATA / "emulator-state.json"),
                    "--deliver-webhooks",
                ],
                cwd=ROOT,
                env=env,
            )
        )
        if not wait_for_port(EMULATOR_PORT):
            say("the Iterable emulator did not start; see its output above")
            return stop(processes, 1)
    processes.append(subprocess.Popen([*manage, "qcluster"], cwd=ROOT, env=env))
    processes.append(subprocess.Popen([*manage, "runserver", f"{HOST}:{PORT}", "--noreload"], cwd=ROOT, env=env))
    if not wait_for_port(PORT):
        say("the dashboard did not start; see its output above")
        return stop(processes, 1)
    # Sends through the emulator, so the live health charts fill while the demo runs.
    processes.append(subprocess.Popen([*manage, "health_demo", "traffic"], cwd=ROOT, env=env))
    login = subprocess.run([*manage, "demo_login"], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    say("")
    say(f"Dashboard:        http://{HOST}:{PORT}/")
    say(f"{login.stdout.strip()}")
    say(f"Iterable emulator: http://127.0.0.1:{EMULATOR_PORT}/ (EU host on port {EMULATOR_EU_PORT})")
    say("Press Ctrl-C to stop.")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        say("a process stopped; stopping the rest")
        return stop(processes, 1)
    except KeyboardInterrupt:
        return stop(processes, 0)


def stop(processes: list[subprocess.Popen], code: int) -> int:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    return code


def test(pytest_args: list[str]) -> int:
    ensure_venv("requirements-test.txt")
    # One pytest-xdist worker per core halves the suite on two cores; "-n 0" runs in one process.
    if not any(arg.startswith(("-n", "--numprocesses")) for arg in pytest_args):
        pytest_args = ["-n", "auto", *pytest_args]
    code = subprocess.run([str(PYTHON), "-m", "pytest", *pytest_args], cwd=ROOT).returncode
    if code == 5:
        say("pytest collected no tests: that is a failure")
        return 1
    return code


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in {"start", "test"}:
        print(__doc__)
        return 2
    if sys.version_info < (3, 11):  # noqa: UP036  (dev.py may be started by any python3)
        say("Python 3.11 or newer is needed")
        return 2
    return start() if argv[1] == "start" else test(argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
