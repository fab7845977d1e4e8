import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the embedded demo's admin login once (password kept in DATA_DIR/demo-login.txt) and print it."

    def handle(self, *args, **options):
        login_file = settings.DATA_DIR / "demo-login.txt"
        User = get_user_model()
        user = User.objects.filter(username="admin").first()
        if user is None or not login_file.exists():
            password = secrets.token_urlsafe(12)
            user = user or User(username="admin", email="admin@example.com")
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
            settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
            login_file.write_text(f"admin {password}\n")
            login_file.chmod(0o600)
        username, password = login_file.read_text().split()
        self.stdout.write(f"Login: {username} / {password}")
