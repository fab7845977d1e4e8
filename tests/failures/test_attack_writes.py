"""Every other form and API write of the new surfaces (test sends and their recipients, contact lookups, people,
API tokens), sent what a careless or hostile user would: each answer is a 4xx or a form error, never a 500,
and a refused request writes nothing."""

from __future__ import annotations

import json
import re

import pytest
from test_attack_new_surfaces import _api_problems, _clients, _raw_json

from catalog.models import AuditEvent, ProofRecipient, ProofSend

HOSTILE_TEXT = ["\x00", "a\x00b", "\ud800", "x" * 100_000, " ", "²", "٣", "🙂" * 300, "<script>", "' OR 1=1 --",
                "Ada@BÜCHER.example", " a@example.com ", "a b@example.com", "a@example.com\n", "@", "a@",
                "a@.com"]  # fmt: skip
HOSTILE_JSON = [None, [], {}, 1e400, -1, 2**63, 10**30, True, "x", [[[[]]]], {"a": {"b": "\ud800"}}, {"\ud800": 1},
                {"a": "\x00"}, {"a": "x" * 70_000}, {"a": float("nan")}]  # fmt: skip


def _bodies(fields: dict) -> list[dict]:
    """Each field in turn given each hostile text and JSON value, the others left valid."""
    out = []
    for name in fields:
        for bad in [*HOSTILE_TEXT, *HOSTILE_JSON]:
            out.append({**fields, name: bad})
    return out


def _dumps(body) -> str:
    return json.dumps(body).replace("NaN", "NaN")


@pytest.fixture
def marketer_api(user_in_role):
    _, api = _clients(user_in_role, "marketing")
    return api


def test_test_send_api_refuses_hostile_bodies(demo, user_in_role):
    from catalog.models import Notification

    _, api = _clients(user_in_role, "admin")
    note = Notification.objects.filter(project=demo.student).first()
    recipient = ProofRecipient.objects.create(project=demo.student, email="qa.student@example.com")
    problems: list = []
    before = (ProofSend.objects.count(), ProofRecipient.objects.count())
    send = {"notification": note.key, "recipient": recipient.pk, "data_fields": {}, "mode": None}
    for body in _bodies(send):
        text = _dumps(body)
        _api_problems(_raw_json(api, "POST", "/api/test-sends/preview/", text), ("preview", text[:100]), problems)
    add = {"project": demo.student.pk, "email": "new@example.com", "user_id": "", "label": "x", "shared": True}
    for body in _bodies(add):
        text = _dumps(body)
        answer = _raw_json(api, "POST", "/api/test-recipients/", text)
        _api_problems(answer, ("recipient", text[:100]), problems)
        if answer.status_code == 201:
            ProofRecipient.objects.filter(pk=answer.json()["id"]).delete()
        _api_problems(_raw_json(api, "PATCH", f"/api/test-recipients/{recipient.pk}/", text),
                      ("recipient-patch", text[:100]), problems)  # fmt: skip
    assert not problems, problems[:10]
    assert ProofSend.objects.count() == before[0]


def test_test_send_create_refuses_unstorable_data_fields(demo, user_in_role):
    from catalog.models import Notification

    _, api = _clients(user_in_role, "admin")
    note = Notification.objects.filter(project=demo.student).first()
    recipient = ProofRecipient.objects.create(project=demo.student, email="qa.student@example.com")
    problems: list = []
    for fields in ({"a": "\ud800"}, {"\ud800": "a"}, {"a": "\x00"}, {"a": [{"b": "\udfff"}]}):
        text = _dumps({"notification": note.key, "recipient": recipient.pk, "data_fields": fields})
        answer = _raw_json(api, "POST", "/api/test-sends/", text)
        _api_problems(answer, ("send", text[:100]), problems)
        if answer.status_code < 400:
            problems.append(("accepted", text[:100], answer.status_code))
    assert not problems, problems


@pytest.mark.parametrize("role", ["marketing", "admin"])
def test_contact_lookup_refuses_hostile_input(demo, user_in_role, role):
    page, api = _clients(user_in_role, role)
    problems: list = []
    before = AuditEvent.objects.count()
    for body in _bodies({"email": "a@example.com", "user_id": "", "project": demo.student.pk, "notification": None}):
        text = _dumps(body)
        _api_problems(_raw_json(api, "POST", "/api/contacts/lookup/", text), ("lookup", text[:100]), problems)
        form = {k: ("" if v is None else v) for k, v in body.items()}
        if all(isinstance(v, str | int) and "\ud800" not in str(v) for v in form.values()):
            answer = page.post("/contacts/", form)
            if answer.status_code >= 500:
                problems.append(("page", text[:100]))
    assert not problems, problems[:10]
    assert AuditEvent.objects.count() >= before


def test_people_and_token_forms_refuse_hostile_input(demo, user_in_role):
    from django.contrib.auth.models import User

    page, _ = _clients(user_in_role, "admin")
    problems: list = []
    other = user_in_role("viewer", username="victim")
    for text in [t for t in HOSTILE_TEXT if "\ud800" not in t] + ["", "admin", "root"]:
        for path, form in [
            ("/people/", {"email": text, "role": "viewer"}),
            ("/people/", {"email": "new@example.com", "role": text}),
            (f"/people/{other.pk}/role/", {f"u{other.pk}-role": text}),
            ("/api/tokens/", {"name": text, "expires_on": "2026-12-31"}),
            ("/api/tokens/", {"name": "t", "expires_on": text}),
            ("/test-recipients/", {"project": demo.student.pk, "email": text, "label": text}),
        ]:
            answer = page.post(path, form)
            if answer.status_code >= 500:
                problems.append((path, repr(text)[:40], answer.status_code))
    for expires in ["0001-01-01", "9999-12-31", "10000-01-01", "2026-02-30", "-1", "1e9"]:
        answer = page.post("/api/tokens/", {"name": "t", "expires_on": expires})
        if answer.status_code >= 500:
            problems.append(("token-expiry", expires))
    assert not problems, problems
    assert not [name for name in User.objects.values_list("username", flat=True) if "\x00" in name]


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in schema:
        merged: dict = {"properties": {}}
        for part in schema["allOf"]:
            merged["properties"].update(_resolve(spec, part).get("properties", {}))
        return merged
    return schema


POISON = ["\ud800", "\x00", 2**63, -(2**63) - 1, 10**30, [], {}, [["x"]], None, True, "x" * 70_000, "٣", 1.5]


@pytest.mark.parametrize("method", ["post", "patch", "put"])
def test_every_documented_json_field_poisoned_is_a_json_4xx(demo, user_in_role, method):
    """Each writing operation the schema documents, each of its fields given each poison in turn (the others
    absent): a JSON 4xx or a 2xx, never a 500. Ids in paths are ones that exist."""
    from django.core.cache import cache

    from catalog.models import Job, JobRun, Notification

    _, api = _clients(user_in_role, "admin")
    spec = api.get("/api/schema/", {"format": "json"}).json()
    note = Notification.objects.filter(project=demo.student).first()
    recipient = ProofRecipient.objects.create(project=demo.student, email="qa.student@example.com")
    job = Job.objects.create(project=demo.student, name="j", action="update_profiles",
                             mapping=[{"column": "a", "field": "b"}])  # fmt: skip
    run = JobRun.objects.create(job=job, status="done", dry_run=True, batch_size=1, rate_per_second=1)
    ids = {"key": note.key, "pk": None, "id": None, "project_id": demo.student.pk}
    problems: list = []
    tried = throttled = 0
    for path, operations in spec["paths"].items():
        operation = operations.get(method)
        if not operation:
            continue
        content = (operation.get("requestBody") or {}).get("content", {})
        if "application/json" not in content:
            continue
        if "/jobs/runs/" in path:
            pk = run.pk
        elif "/jobs/" in path:
            pk = job.pk
        elif "test-recipients" in path:
            pk = recipient.pk
        else:
            pk = demo.student.pk
        url = re.sub(r"\{(\w+)\}", lambda m, pk=pk: str(ids.get(m.group(1)) or pk), path)
        schema = _resolve(spec, content["application/json"]["schema"])
        for field in schema.get("properties", {}):
            for poison in POISON:
                text = json.dumps({field: poison})
                tried += 1
                cache.clear()  # rate limits (test sends, lookups) would otherwise answer 429 before the field is read
                answer = _raw_json(api, method.upper(), url, text)
                throttled += answer.status_code == 429
                _api_problems(answer, (method, url, text[:80]), problems)
    assert tried > 50 if method != "put" else True
    assert not throttled
    assert not problems, problems[:15]
