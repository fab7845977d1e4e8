"""What test sends show on the core's pages (registered in catalog/core/extensions.py at start-up): a
notification's last successful test send."""

from catalog.core.extensions import Panel, register_panel
from catalog.sends.selectors import proof_send_for, proof_send_last_success


def last_test_send(notification, request) -> dict:
    """The last successful test send, with its recipient hidden from anyone it is not shown to."""
    attempt = proof_send_last_success(notification=notification)
    shown = proof_send_for(user=request.user, attempt=attempt) if attempt is not None else None
    return {"last_proof_send": shown}


register_panel(Panel("sends-last", "catalog/panels/sends_last_test_send.html", last_test_send, slot="fact"))
