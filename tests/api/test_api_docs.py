"""The schema and the interactive docs: served to staff with a role, with local assets only (no CDN)."""

import re


def test_docs_use_local_sidecar_assets(db, client, user_in_role):
    client.force_login(user_in_role("viewer"))
    for path in ("/api/docs/",):
        html = client.get(path).content.decode()
        assert "drf_spectacular_sidecar" in html
        assert not re.search(r"(src|href)=\"https?://", html), html


def test_schema_documents_token_auth_and_the_error_format(db, client, user_in_role):
    client.force_login(user_in_role("viewer"))
    spec = client.get("/api/schema/", {"format": "json"}).json()
    assert spec["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["tokenAuth"]["description"],
    }
    assert "basicAuth" not in spec["components"]["securitySchemes"]
    error = spec["paths"]["/api/notifications/"]["post"]["responses"]["400"]
    assert error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "/api/notifications/{key}/" in spec["paths"]
