"""Per-user API tokens: `Authorization: Bearer <token>` (or `Token <token>`). No Basic auth.

Refused tokens are counted per client address, read as the login throttle reads it (django-axes, which knows
whether a proxy is in front): past API_TOKEN_FAILURE_LIMIT the answer is a 429 until the window ends."""

from axes.helpers import get_client_ip_address
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from catalog.tokens.services import TokenError, TokenThrottled, api_token_authenticate

KEYWORDS = ("bearer", "token")


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """Looks the token up by prefix and compares hashes; the token itself is never logged or echoed."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode(errors="replace") not in KEYWORDS:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Malformed Authorization header: use 'Bearer <token>'."))
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        try:
            token = api_token_authenticate(raw, address=get_client_ip_address(request))
        except TokenThrottled as exc:
            raise exceptions.Throttled(wait=exc.wait, detail=str(exc)) from None
        except TokenError as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        return token.user, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'
