"""A job's file uploaded through its page is held to the limit before its body is read, as the API's upload is:
a body that says it is too large is refused on the page in words, nothing is parsed (so nothing is spooled to
disk) and nothing is stored; a body that says no length is read as empty. The CSRF check still guards the form."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import multipartparser
from django.test import Client
from django.urls import reverse

from catalog.jobs.services.setup import job_save
from catalog.models import JobRun

LINE = b"ada@example.com,Ada\n"
TOO_LARGE = "The file is larger than 1 MB (the limit); split it."


@pytest.fixture
def door(project, operator, settings, monkeypatch):
    settings.JOBS_MAX_UPLOAD_BYTES = 1024 * 1024
    job = job_save(actor=operator, data={"project": project, "name": "sync", "action": "delete_users"})
    parsed = []
    real_parse = multipartparser.MultiPartParser.parse

    def parse(self):
        parsed.append(self._content_length)
        return real_parse(self)

    monkeypatch.setattr(multipartparser.MultiPartParser, "parse", parse)
    # CSRF checks on: the middleware's own check reads request.POST, which would spool the file before the view.
    page = Client(enforce_csrf_checks=True)
    page.force_login(operator)
    body = page.get(reverse("catalog:job_detail", args=[job.pk])).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    return page, job, token, parsed


def _file(size: int) -> SimpleUploadedFile:
    return SimpleUploadedFile("rows.csv", b"email,first\n" + LINE * (size // len(LINE) + 1))


def test_a_body_declared_too_large_is_refused_on_the_page_before_it_is_read(door, _uploads_in_tmp):
    page, job, token, parsed = door
    url = reverse("catalog:job_run_start", args=[job.pk])
    refused = page.post(url, {"file": _file(2 * 1024 * 1024), "dry_run": "on", "csrfmiddlewaretoken": token})
    assert refused.status_code == 413
    body = refused.content.decode()
    assert f'<ul class="field-errors" role="alert" id="id_file-errors"><li>{TOO_LARGE}</li></ul>' in body
    assert 'enctype="multipart/form-data"' in body  # the job's page, with its form to try again
    assert parsed == []
    assert not JobRun.objects.exists()
    assert not _uploads_in_tmp.exists() or not list(_uploads_in_tmp.iterdir())


def test_a_file_just_past_the_limit_is_refused_in_the_same_words(door, _uploads_in_tmp):
    page, job, token, parsed = door
    url = reverse("catalog:job_run_start", args=[job.pk])
    refused = page.post(url, {"file": _file(1024 * 1024 + 100), "csrfmiddlewaretoken": token})
    assert refused.status_code == 400 and len(parsed) == 1
    assert TOO_LARGE in refused.content.decode()
    assert not JobRun.objects.exists()
    assert not _uploads_in_tmp.exists() or not list(_uploads_in_tmp.iterdir())


def test_a_body_without_a_declared_length_is_read_as_empty(door, _uploads_in_tmp):
    page, job, token, parsed = door
    url = reverse("catalog:job_run_start", args=[job.pk])
    # No length: Django reads nothing of the body, so neither the file nor the CSRF token in it arrives.
    refused = page.post(url, {"file": _file(2 * 1024 * 1024), "csrfmiddlewaretoken": token}, CONTENT_LENGTH="")
    assert refused.status_code == 403
    assert parsed == [0]
    refused = page.post(url, {"file": _file(2 * 1024 * 1024)}, CONTENT_LENGTH="", headers={"X-CSRFToken": token})
    assert refused.status_code == 400
    assert "Choose a file, or pull the rows from the job&#x27;s query." in refused.content.decode()
    assert parsed == [0, 0]
    assert not JobRun.objects.exists()
    assert not _uploads_in_tmp.exists() or not list(_uploads_in_tmp.iterdir())


def test_the_form_still_needs_its_csrf_token(door):
    page, job, token, _ = door
    url = reverse("catalog:job_run_start", args=[job.pk])
    assert page.post(url, {"file": _file(100), "dry_run": "on"}).status_code == 403
    assert not JobRun.objects.exists()
    started = page.post(url, {"file": _file(100), "dry_run": "on", "csrfmiddlewaretoken": token})
    assert started.status_code == 302
    assert JobRun.objects.get().dry_run
