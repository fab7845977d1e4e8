"""API pages sent as they are written: a 1,000-row page's rows are read in the view (one query, then nothing of
the database is held open), and written and sent a chunk at a time, so its JSON is never held whole. The
count, the links and the first chunk are done in the view, before the first byte (read_first), so a bad filter
or a lost database is still the API's error answer, not a 200 cut short."""

import json
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from typing import cast

from django.http import StreamingHttpResponse
from rest_framework.renderers import JSONRenderer

# Rows written per chunk of the body.
CHUNK_ROWS = 200


class StreamedJSONResponse(StreamingHttpResponse):
    """A JSON body streamed to the client. A reader in the same process that wants it whole (Django's test
    client's json() and text, DRF's `data` as on a Response) reads it once; the stream then gives it again."""

    def __init__(self, chunks: Iterable[bytes], **kwargs) -> None:
        super().__init__(chunks, content_type="application/json", **kwargs)

    @property
    def content(self) -> bytes:  # type: ignore[override]
        whole = getattr(self, "_whole", None)
        if whole is None:
            whole = self._whole = b"".join(cast(Iterator[bytes], self.streaming_content))
            self.streaming_content = [whole]
        return whole

    @property
    def text(self) -> str:  # type: ignore[override]
        return self.content.decode(self.charset)

    @property
    def data(self):
        return json.loads(self.content)


def chunked(rows: Iterable, size: int = CHUNK_ROWS) -> Iterator[list]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def read_first(chunks: Iterable[list[dict]]) -> Iterator[list[dict]]:
    """The chunks, the first one read now: the page's query runs (and PostgreSQL opens its cursor) inside the
    view, where a lost connection or a statement timeout is still the API's error answer, not a 200 cut short."""
    chunks = iter(chunks)
    first = next(chunks, None)
    return chunks if first is None else chain([first], chunks)


def page_body(head: dict, chunks: Iterable[list[dict]], tail: dict) -> Iterator[bytes]:
    """`{...head, "results": [rows...], ...tail}` in DRF's JSON renderer's own encoding (compact, UTF-8), the
    rows written chunk by chunk."""
    render = JSONRenderer().render
    yield render(head)[:-1] + (b',"results":[' if head else b'{"results":[')
    first = True
    for chunk in chunks:
        if not chunk:
            continue
        written = render(chunk)[1:-1]  # the list's items without its brackets
        yield written if first else b"," + written
        first = False
    yield b"]" + (b"," + render(tail)[1:] if tail else b"}")


class StreamedListMixin:
    """A list whose pages are streamed (the view's paginator is a CappedCountPagination): each chunk of rows is
    serialized as it is sent, with the serializer's own list (a chunk's masking or prefetching done once for
    it)."""

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.paginator.stream_page(self.get_serializer(chunk, many=True).data for chunk in chunked(page))
