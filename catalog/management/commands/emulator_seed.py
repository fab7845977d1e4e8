import json
import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.services.emulator_seed import SeedKeyMissing, emulator_seed_build


class Command(BaseCommand):
    help = "Write the local Iterable emulator's seed for the demo catalog (API keys from the environment)."

    def add_arguments(self, parser):
        parser.add_argument("--output", required=True, help="Where to write the seed JSON")

    def handle(self, *args, output, **options):
        try:
            seed = emulator_seed_build()
        except SeedKeyMissing as error:
            raise CommandError(str(error)) from error
        target = Path(output)
        target.parent.mkdir(parents=True, exist_ok=True)
        # The seed holds API keys: write it private and atomically.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".seed-")
        with os.fdopen(fd, "w") as handle:
            json.dump(seed, handle, indent=1)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
        users = sum(len(p["users"]) for p in seed["projects"])
        self.stdout.write(f"Emulator seed written to {target}: {len(seed['projects'])} projects, {users} contacts.")
