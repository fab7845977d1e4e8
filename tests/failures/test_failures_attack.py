"""A careless or hostile user against the doors that take files and bodies: the preferences CSV (page and API),
the catalog import, every list with hostile paging and filters, bodies of the wrong shape, and resync runs
cancelled, retried and applied out of turn. Each ends in a clear 4xx or form error naming the problem, or in
a finished record that names what it refused: never a 500, never a record left queued or running."""

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import ContactPreference, PreferenceImport
from catalog.resync.services.rules import resync_settings_update

HEADER = "email,unsubscribed_channel_ids\n"

# (name, the file's bytes, what happens): ("refused", words the 400 names) or ("imported", kept, {line: words}).
CSV_CASES = [
    ("bom", b"\xef\xbb\xbf" + HEADER.encode() + b"a@example.com,1\n", ("imported", 1, {})),
    ("crlf", b"email,unsubscribed_channel_ids\r\na@example.com,1\r\nb@example.com,3\r\n", ("imported", 2, {})),
    ("latin1", HEADER.encode() + "zoë@example.com,1\n".encode("latin-1"), ("refused", "not UTF-8")),
    ("header-only", HEADER.encode(), ("imported", 0, {})),
    ("empty", b"", ("refused", "empty")),
    ("open-quote", HEADER.encode() + b'"a@example.com,1\nb@example.com,2\n', ("failed", "Line 2")),
    ("stray-quote", HEADER.encode() + b'a@exa"mple.com,1\n', ("imported", 0, {2: "invalid email"})),
    ("cell-200kB", HEADER.encode() + b"a@example.com," + b"1;" * 100_000 + b"\n", ("failed", "Line 2")),
    ("superscript-id", HEADER.encode() + "a@example.com,\u00b2\n".encode(), ("imported", 0, {2: "not an id"})),
    ("negative-id", HEADER.encode() + b"a@example.com,-1\n", ("imported", 0, {2: "not an id"})),
    ("exponent-id", HEADER.encode() + b"a@example.com,1e3\n", ("imported", 0, {2: "not an id"})),
    ("20-digit-id", HEADER.encode() + b"a@example.com,12345678901234567890\n", ("imported", 0, {2: "not an id"})),
    ("nul", HEADER.encode() + b"a@example.com,1\x00\n", ("refused", "NUL")),
    ("surrogate", HEADER.encode() + b"a@example.com,\xed\xa0\x80\n", ("refused", "not UTF-8")),
    ("unknown-column", b"email,shoe_size\na@example.com,4\n", ("refused", "shoe_size")),
    ("no-email-column", b"user_id\n1\n", ("refused", "no email column")),
    (
        "email-column-twice",
        b"email,email\na@example.com,b@example.com\n",
        ("refused", "given twice in the header: email"),
    ),
    (
        "array-column-twice",
        HEADER.encode()[:-1] + b",unsubscribed_channel_ids\na@example.com,1,3\n",
        ("refused", "twice"),
    ),
    ("both-names", HEADER.encode()[:-1] + b",unsubscribedChannelIds\na@example.com,1,3\n", ("refused", "twice")),
    ("bad-email", HEADER.encode() + b"not-an-address,1\n", ("imported", 0, {2: "email"})),
    ("short-row", HEADER.encode() + b"a@example.com\n", ("imported", 0, {2: "has 1 cells"})),
    ("unmanaged-id", HEADER.encode() + b"a@example.com,2\n", ("imported", 0, {2: "not managed"})),
    ("duplicate-emails", HEADER.encode() + b"a@example.com,1\nA@example.com,3\n", ("imported", 1, {3: "line 2"})),
    ("6MB", HEADER.encode() + b"a@example.com,1\n" * 400_000, ("too-big", "5")),
]


def _import_through(door, project, data: bytes, on_commit, admin_page, api_admin):
    """Upload through the page or the API, run the queued task, and return (the answer, the import or None)."""
    before = set(PreferenceImport.objects.values_list("pk", flat=True))
    with on_commit(execute=True):
        if door == "page":
            upload = SimpleUploadedFile("prefs.csv", data, content_type="text/csv")
            response = admin_page.post("/resync/imports/", {"project": project.pk, "file": upload})
        else:
            # The body is built by hand so that bytes JSON cannot hold (latin-1, a lone surrogate) reach the server.
            body = b'{"project": %d, "csv": "' % project.pk + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
            body = body.replace(b"\r", b"\\r").replace(b"\n", b"\\n").replace(b"\x00", b"\\u0000") + b'"}'
            response = api_admin.generic("POST", "/api/resync/imports/", body, content_type="application/json")
    created = PreferenceImport.objects.exclude(pk__in=before)
    return response, created.first()


@pytest.mark.parametrize("door", ["page", "api"])
@pytest.mark.parametrize(("data", "expected"), [c[1:] for c in CSV_CASES], ids=[c[0] for c in CSV_CASES])
def test_preferences_csv_ends_clearly(
    door, data, expected, small_catalog, admin_page, api_admin, django_capture_on_commit_callbacks
):
    project = small_catalog.project
    resync_settings_update(project=project, actor="tests", scope={"unsubscribedChannelIds": [1, 3]})
    response, record = _import_through(door, project, data, django_capture_on_commit_callbacks, admin_page, api_admin)
    assert response.status_code < 500
    body = response.content.decode("utf-8", "replace")
    if expected[0] in ("refused", "too-big"):
        assert response.status_code in (400, 413), body[:500]
        assert record is None
        if door == "api":
            assert response["Content-Type"].startswith("application/json")
        if expected[1] not in body and door == "api":
            # The API's JSON parser or text field refuses what the service never sees: it names why and where.
            assert any(w in body for w in ("JSON", "csv", "Null characters", "UTF-8", "utf-8", "too large")), body
        else:
            assert html.unescape(expected[1]) in html.unescape(body), body[-3000:]
        assert not ContactPreference.objects.exists()
        return
    assert response.status_code in (202, 302), body[:2000]
    record.refresh_from_db()
    assert record.status not in (PreferenceImport.Status.QUEUED, PreferenceImport.Status.RUNNING)
    if expected[0] == "failed":
        assert record.status == PreferenceImport.Status.FAILED
        assert expected[1] in record.last_error, record.last_error
        assert not ContactPreference.objects.exists()  # all or nothing: the lines before it are not kept either
        return
    _, kept, errors = expected
    assert record.status == PreferenceImport.Status.DONE, record.last_error
    assert ContactPreference.objects.filter(project=project).count() == kept
    found = {e["line"]: " ".join(e["errors"]) for e in record.errors}
    assert set(found) == set(errors), found
    for line, words in errors.items():
        assert words.lower() in found[line].lower(), found
