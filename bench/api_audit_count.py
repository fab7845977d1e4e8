"""The API's audit trail page at a small and a large trail, with its capped count (CappedCountPagination) and
with the exact count every other list uses, measured in the same run on PostgreSQL.

Makes a fresh PostgreSQL database, writes the audit events in one INSERT ... SELECT, and times
GET /api/audit-events/?limit=50 through Django's test client (median of --rounds), printing milliseconds, the
capped/exact ratio and each size's time over the smallest's.

    python bench/api_audit_count.py [--sizes 1000,1000000] [--rounds 7]
"""

import argparse
import statistics
import time

from _django import django_throwaway, fresh_postgres

parser = argparse.ArgumentParser()
parser.add_argument("--sizes", default="1000,1000000")
parser.add_argument("--rounds", type=int, default=7)
args = parser.parse_args()
django_throwaway("api-audit-count", fresh_postgres("audit_count_bench"))

from _catalog import bench_catalog, grow_activity  # noqa: E402  (needs Django set up)
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from catalog.api.pagination import CappedCountPagination  # noqa: E402
from catalog.audit.api import AuditEventViewSet  # noqa: E402
from catalog.tokens.services import api_token_create  # noqa: E402

setup_test_environment()
catalog = bench_catalog()
user = User.objects.create_superuser("bench", "bench@example.com", "bench-password-1")
_, token = api_token_create(actor=user, user=user, name="bench")
client = APIClient()
client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
URL = "/api/audit-events/?limit=50"


class Pagination(CappedCountPagination):
    """The exact count the audit trail had before its cap: a cap no trail reaches."""

    count_cap = 2**62


def get(pagination) -> tuple[float, int]:
    AuditEventViewSet.pagination_class = pagination
    start = time.perf_counter()
    body = client.get(URL).json()
    return time.perf_counter() - start, body["count"]


def timed() -> list[tuple[float, int]]:
    """Median milliseconds and count of the page, capped and exact, alternated round by round so the machine's
    drift falls on both."""
    get(CappedCountPagination), get(Pagination)
    rounds = [(get(CappedCountPagination), get(Pagination)) for _ in range(args.rounds)]
    return [(statistics.median(r[i][0] for r in rounds) * 1000, rounds[-1][i][1]) for i in (0, 1)]


print(f"{'events':>10}{'capped ms':>11}{'count':>8}{'exact ms':>10}{'count':>10}{'exact/capped':>14}")
first = None
for size in (int(s) for s in args.sizes.split(",")):
    grow_activity(size // 10, catalog.project, runs_per_notification=0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_auditevent")
    (capped, capped_count), (exact, exact_count) = timed()
    first = first or (capped, exact)
    print(f"{size:>10,}{capped:>11.1f}{capped_count:>8}{exact:>10.1f}{exact_count:>10}{exact / capped:>13.1f}x")
print(f"largest/smallest: capped {capped / first[0]:.2f}x, exact {exact / first[1]:.2f}x")
