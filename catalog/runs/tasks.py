"""The body of every run's django-q2 task: process a slice under a fresh lease token, and when django-q stops
the task at its timeout (it raises in it, then acknowledges it as failed, so it is never delivered again),
resume the run from its checkpoint before the exception goes on."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.db import connection
from django_q.exceptions import TimeoutException


def run_slice_task(run_id: int, *, process: Callable[..., str], overran: Callable[..., str]) -> str:
    token = uuid.uuid4().hex
    try:
        return process(run_id=run_id, token=token)
    except TimeoutException:
        connection.close()  # it may have struck mid-query: start the bookkeeping on a fresh connection
        overran(run_id=run_id, token=token)
        raise
