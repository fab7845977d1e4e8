"""Run the emulator.

``python -m iterable_emulator --port 8765 --eu-port 8766 --seed FILE [--state-file FILE] [--host HOST]
[--deliver-webhooks [--webhook-rate N] [--webhook-host HOST ...]]``
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from pathlib import Path

from .delivery import LOOPBACK, WebhookDelivery
from .server import start_listeners
from .state import SeedError, State, load_seed_file

EXAMPLE_SEED = Path(__file__).with_name("example_seed.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iterable_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port of the US host (default 8765)")
    parser.add_argument("--eu-port", type=int, default=8766, help="port of the EU host (default 8766)")
    parser.add_argument(
        "--seed", default=str(EXAMPLE_SEED), help="seed JSON file (default: the bundled example_seed.json)"
    )
    parser.add_argument("--state-file", help="persist state here after every write; loaded at start if present")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument(
        "--deliver-webhooks", action="store_true", help="post the system-webhook calls it records (default: record)"
    )
    parser.add_argument("--webhook-rate", type=float, default=50.0, help="webhook posts per second (default 50)")
    parser.add_argument(
        "--webhook-host",
        action="append",
        help="a host webhooks may be posted to (repeatable; default: loopback only)",
    )
    args = parser.parse_args(argv)
    try:
        state = State(load_seed_file(args.seed), state_file=args.state_file)
    except (OSError, ValueError, SeedError) as exc:
        print(f"iterable_emulator: cannot load state: {exc}", file=sys.stderr)
        return 2
    us, eu = start_listeners(state, args.host, args.port, args.eu_port, verbose=args.verbose)
    delivery = None
    if args.deliver_webhooks:
        hosts = tuple(args.webhook_host) if args.webhook_host else LOOPBACK
        delivery = WebhookDelivery(state, rate=args.webhook_rate, allowed_hosts=hosts).start()
    print(
        f"Iterable emulator: US {us.url}  EU {eu.url}  ({len(state.projects)} projects; "
        f"inspection API at {us.url}/_emulator/state)",
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    if delivery is not None:
        delivery.stop()
    us.stop()
    eu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
