urlpatterns: list = []
api_urlpatterns: list = []


def api_register(router) -> None:
    """Registers this slice's API viewsets on the one router."""
