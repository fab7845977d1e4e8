"""Test sends ("proof sends" in code): a notification sent to an allowlisted recipient, safely and on record.

Where: ``services/`` (results, recipients, data, checks, dispatch), ``selectors.py``, ``forms.py``, ``views.py``,
``api.py``, ``urls.py``; the models in ``models.py``; templates in ``templates/sends/``.

One send (``services.dispatch.proof_send``) goes in this order:
1. The input is checked (mode, template, recipient, data fields against the custom event's schema). Bad input
   raises ValidationError keyed by field; nothing is recorded or sent.
2. The attempt is recorded as pending, with the form's one-time token (unique in the database: a double
   submit finds the first attempt and sends nothing). It is committed before Iterable is called, so even a
   crash mid-send leaves a trace.
3. Per-user rate limit, the allowlist, the guard on the catalog, then the guard on Iterable's LIVE data:
   the templates' current message type, its policy and its channel, read just now and never from a cache.
   If they cannot be read, the send is refused (fail closed).
4. Eligibility: a recipient who would not receive it (unsubscribed, never opted in, channel blocked) is
   refused with the reason. Template proofs ignore subscriptions in Iterable, so they skip this step.
5. Exactly the request `proof_preview` shows is sent, once. Iterable has no idempotency key: after a read
   timeout the outcome is unknown, recorded as such and never retried.
"""
