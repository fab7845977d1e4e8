"""Every list is paginated: limit/offset, 50 by default, at most 1000."""

from rest_framework.pagination import LimitOffsetPagination
from rest_framework.utils.urls import replace_query_param

from catalog.api.streaming import StreamedJSONResponse, page_body, read_first
from catalog.views.paging import COUNT_CAP, MAX_OFFSET


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 1000

    def get_offset(self, request):
        return min(super().get_offset(request), MAX_OFFSET)


class CappedCountPagination(Pagination):
    """For lists that grow without bound (the audit trail): `count` is exact up to `count_cap` rows; past that it
    is `count_cap` and `count_capped` is true, so a page never counts a million rows. `next` comes from reading
    one row more than the page, not from the count, so walking the list past the cap still works."""

    count_cap = COUNT_CAP

    def paginate_queryset(self, queryset, request, view=None):
        """The page's rows, read in one query; the count and whether another page follows are known first,
        from the count where it is exact, else by asking for one row past the page."""
        self.request = request
        self.limit = self.get_limit(request)  # never None: a missing or bad limit is the default
        self.offset = self.get_offset(request)
        # values("pk") keeps the counted subquery to the primary key's index.
        counted = queryset.order_by().values("pk")[: self.count_cap + 1].count()
        self.count_capped = counted > self.count_cap
        self.count = min(counted, self.count_cap)
        end = self.offset + self.limit
        if not self.count_capped:
            self.has_more = end < counted
        else:
            self.has_more = end < counted or queryset[end : end + 1].exists()
        return list(queryset[self.offset : end])

    def stream_page(self, chunks) -> StreamedJSONResponse:
        """The page as get_paginated_response writes it, the results written chunk by chunk as they are sent."""
        head = {"count": self.count, "next": self.get_next_link(), "previous": self.get_previous_link()}
        return StreamedJSONResponse(page_body(head, read_first(chunks), {"count_capped": self.count_capped}))

    def get_next_link(self):
        if not self.has_more:
            return None
        return replace_query_param(
            replace_query_param(self.request.build_absolute_uri(), self.limit_query_param, self.limit),
            self.offset_query_param,
            self.offset + self.limit,
        )

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_capped"] = self.count_capped
        return response

    def get_paginated_response_schema(self, schema):
        described = super().get_paginated_response_schema(schema)
        described["properties"]["count"]["description"] = (
            f"The number of rows, exact up to {self.count_cap}; past that {self.count_cap} and count_capped is true."
        )
        described["properties"]["count_capped"] = {
            "type": "boolean",
            "description": f"True when the list holds more than {self.count_cap} rows and count stops there.",
        }
        described["required"] = [*described.get("required", []), "count_capped"]
        return described
