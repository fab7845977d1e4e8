"""Fixtures for test sends: the demo catalog and emulator, a marketer, and the QA contacts on the allowlist."""

from types import SimpleNamespace

import pytest

from catalog.iterable import client_for_project
from catalog.models import Notification, ProofRecipient


@pytest.fixture
def sends(demo, user_in_role):
    """A marketer (mia) with qa.student@example.com as her own recipient; the push QA contact is shared."""
    mia = user_in_role("marketing", username="mia")
    own = ProofRecipient.objects.create(project=demo.student, owner=mia, email="qa.student@example.com")
    shared = ProofRecipient.objects.create(project=demo.student, email="qa.student.push@example.com")
    by_id = ProofRecipient.objects.create(project=demo.student, owner=mia, user_id="qa-student-1")
    employer = ProofRecipient.objects.create(project=demo.employer, owner=mia, email="qa.employer@example.com")
    notes = {n.key: n for n in Notification.objects.filter(project__in=[demo.student, demo.employer])}
    return SimpleNamespace(
        **vars(demo),
        mia=mia,
        own=own,
        shared=shared,
        by_id=by_id,
        employer_recipient=employer,
        digest=notes["student_activity_weekly_digest"],
        push=notes["student_push_new_message"],
        welcome=notes["student_free_onboarding_welcome"],
        transactional=notes["student_activity_application_viewed"],
        client=client_for_project(demo.student),
    )
