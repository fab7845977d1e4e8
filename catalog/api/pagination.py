"""Every list is paginated: limit/offset, 50 by default, at most 1000."""

from rest_framework.pagination import LimitOffsetPagination

# Past this an offset only overflows the database's integer (SQLite raises, it is not a client error).
MAX_OFFSET = 2**31 - 1


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 1000

    def get_offset(self, request):
        return min(super().get_offset(request), MAX_OFFSET)
