"""The view piece the run pages share (the resync's and the seed jobs')."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def htmx_render(
    request: HttpRequest, page_template: str, part_template: str, context: dict, status: int = 200
) -> HttpResponse:
    """The whole page, or only its live part when htmx asks for it (the page polls its own address)."""
    template = part_template if request.headers.get("HX-Request") == "true" else page_template
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response
