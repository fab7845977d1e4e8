"""What the one API shares beyond the slices' viewsets: the JSON 404 for any other path. The core's viewsets are in
catalog/core/api.py, the audit trail's in catalog/audit/api.py."""

from rest_framework.exceptions import NotFound
from rest_framework.views import APIView


class UnknownPathView(APIView):
    """Any other path under /api/: a 404 in the API's error format, not Django's HTML page (after auth)."""

    schema = None
    _ignore_model_permissions = True  # RolePermissions still requires a role for these

    def _not_found(self, request, *args, **kwargs):
        raise NotFound("No API endpoint at this path.")

    get = post = put = patch = delete = head = options = _not_found
