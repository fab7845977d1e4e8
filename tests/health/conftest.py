"""Live health fixtures: an emulator holding small_catalog's Iterable side (plus what the catalog does not
know), the project's webhook secret, a loopback receiver standing in for an owner's chat tool, and helpers
that send through the real client and post what Iterable would deliver to the webhook door."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from catalog.health.ingest import webhook_secret_rotate
from catalog.iterable import clear_client_cache, client_for_project
from iterable_emulator.testing import EmulatorServer

PROJECT_ID = 7
KEY = "health-test-key"
WEBHOOK_ID = 90
# small_catalog's ids: types 11 (opt-in marketing), 12 ("Marketing Message"), 13 (transactional);
# campaigns 401 (weekly_digest, template 501) and 402 (receipt, template 503).
UNKNOWN_CAMPAIGN = 409
FORBIDDEN_CAMPAIGN = 403


def health_seed() -> dict:
    def template(tid, type_id, campaign_id, medium="Email"):
        return {
            "templateId": tid,
            "name": f"Template {tid}",
            "messageTypeId": type_id,
            "messageMedium": medium,
            "templateType": "Triggered",
            "campaignId": campaign_id,
            "createdAt": 1_700_000_000_000,
        }

    def campaign(cid, tid):
        return {
            "id": cid,
            "name": f"Campaign {cid}",
            "type": "Triggered",
            "campaignState": "Running",
            "messageMedium": "Email",
            "templateId": tid,
            "createdAt": 1_700_000_000_000,
        }

    users = [
        {"email": f"person{n}@example.com", "userId": f"p-{n}", "dataFields": {"subscribedMessageTypeIds": [11]}}
        for n in range(1, 31)
    ]
    return {
        "projects": [
            {
                "id": PROJECT_ID,
                "name": "Test project",
                "api_keys": [KEY],
                "features": {"opt_in_message_types": True},
                "channels": [
                    {"id": 1, "name": "Marketing Channel", "channelType": "Marketing", "messageMedium": "Email"},
                    {
                        "id": 2,
                        "name": "Transactional Channel",
                        "channelType": "Transactional",
                        "messageMedium": "Email",
                    },
                ],
                "message_types": [
                    {"id": 11, "name": "GitLab Marketing", "channelId": 1, "subscriptionPolicy": "OptIn"},
                    {"id": 12, "name": "Marketing Message", "channelId": 1, "subscriptionPolicy": "OptOut"},
                    {"id": 13, "name": "Transactional", "channelId": 2, "subscriptionPolicy": "OptOut"},
                ],
                "templates": [
                    template(501, 11, 401),
                    template(503, 13, 402),
                    template(502, 12, FORBIDDEN_CAMPAIGN),
                    template(509, 11, UNKNOWN_CAMPAIGN),
                ],
                "campaigns": [
                    campaign(401, 501),
                    campaign(402, 503),
                    campaign(FORBIDDEN_CAMPAIGN, 502),
                    campaign(UNKNOWN_CAMPAIGN, 509),
                ],
                "users": users,
                "webhooks": [
                    {
                        "id": WEBHOOK_ID,
                        "endpoint": "http://127.0.0.1:9/hooks",
                        "authType": "NoAuth",
                        "enabled": True,
                        "triggeredSendEnabled": True,
                        "blastSendEnabled": True,
                    }
                ],
            }
        ],
        "config": {"ineligible_send_mode": "skip"},
    }


@pytest.fixture(scope="session")
def health_emulator():
    with EmulatorServer(health_seed(), rate_limits_enabled=False) as emulator:
        yield emulator


class Receiver:
    """A loopback HTTP server that records what is posted to it: an owner's chat tool."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                received.append({"path": self.path, "body": json.loads(self.rfile.read(length) or b"null")})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def health(small_catalog, health_emulator, monkeypatch, settings, django_capture_on_commit_callbacks):
    """small_catalog pointed at the emulator, with its webhook secret; `deliver()` posts what Iterable would."""
    from django.test import Client

    health_emulator.reset()
    # Each delivery queues the judging at once (django-q runs it inline in tests), not after a pause.
    settings.HEALTH_PROCESS_SOON_SECONDS = 0
    # Orphans a notification now declares are moved at every counting run, not once a minute.
    settings.HEALTH_ORPHANS_ADOPT_SECONDS = 0
    monkeypatch.setenv("ITERABLE_API_KEY_TEST", KEY)
    project = small_catalog.project
    project.api_base_url = health_emulator.us_url
    project.iterable_project_id = PROJECT_ID
    project.save()
    clear_client_cache()
    secret = webhook_secret_rotate(project=project, actor="test")
    http = Client()
    posted = []

    def deliver(*, headers=None) -> list[dict]:
        """Post every delivery the emulator recorded since the last call, one request each, as Iterable does."""
        deliveries = health_emulator.webhook_deliveries(PROJECT_ID)[len(posted) :]
        for delivery in deliveries:
            with django_capture_on_commit_callbacks(execute=True):
                response = http.post(
                    f"/api/health/webhooks/{project.pk}/",
                    data=json.dumps(delivery["payload"]),
                    content_type="application/json",
                    headers=headers or {"X-Webhook-Secret": secret},
                )
            assert response.status_code == 200, response.content
            posted.append(delivery)
        return [d["payload"] for d in deliveries]

    def post(body, *, headers=None):
        """One webhook request, its after-commit work run as a real commit would."""
        with django_capture_on_commit_callbacks(execute=True):
            return http.post(
                f"/api/health/webhooks/{project.pk}/",
                data=body if isinstance(body, str) else json.dumps(body),
                content_type="application/json",
                headers=headers or {"X-Webhook-Secret": secret},
            )

    yield SimpleNamespace(
        **vars(small_catalog),
        emulator=health_emulator,
        client=client_for_project(project),
        secret=secret,
        http=http,
        deliver=deliver,
        post=post,
        url=f"/api/health/webhooks/{project.pk}/",
    )
    clear_client_cache()
