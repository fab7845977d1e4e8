"""Run in a subprocess by test_failures_budget_gunicorn.py (DJANGO_SETTINGS_MODULE and DATABASE_URL set):

python tests/failures/budget_helper.py setup EMULATOR_URL -> migrates, loads the demo catalog pointed at the
                                                             emulator, prints a marketer's API token
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import django


def setup(emulator_url: str) -> None:
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from catalog.services.demo import demo_catalog_load
    from catalog.tokens.services import api_token_create

    call_command("migrate", verbosity=0)
    demo_catalog_load(api_base_url=emulator_url)
    user = User.objects.create_user("mia", email="mia@example.com", password="a long test password")
    user.groups.add(Group.objects.get(name="marketing"))
    _, raw = api_token_create(actor=user, user=user, name="budget")
    print(raw)


if __name__ == "__main__":
    django.setup()
    if sys.argv[1] == "setup":
        setup(sys.argv[2])
