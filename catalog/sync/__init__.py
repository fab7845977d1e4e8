"""Catalog sync: read a project's catalog from Iterable, mirror it, and say where the catalog has drifted.

Where: ``services/`` (fetch, mirror, drift, runs, prefill), ``selectors.py`` (reads), ``filters.py``, ``views.py``,
``api.py``, ``urls.py``, ``tasks.py``; the models in ``models.py``; templates in ``templates/sync/``.

A run per project (``services.runs.catalog_sync_project``):

1. **Fetch** channels, message types, templates and campaigns (every page at the maximum page size, 1000) and
   journeys (max 50; live and archived, because Iterable hides archived journeys unless asked for them),
   through the project's client. Nothing is written while Iterable is being read, so no database lock is
   held during HTTP, and a fetch that fails part-way leaves the mirror as it was: a half-read project would
   show every unread template as "missing in Iterable".
2. **Write the mirror** (``IterableMirror``) in one transaction, per kind as a diff on a content hash: the new
   rows bulk-created, the changed ones bulk-updated, the gone ones deleted; unchanged rows are not touched.
   The same Iterable data therefore leaves the same mirror and writes nothing (a rerun is idempotent, and so
   is a redelivered task).
3. **Judge**: ``catalog_drift`` compares the mirror with the catalog and returns findings (drift per
   notification, orphans in Iterable, and Iterable-side guard violations judged by
   ``catalog.guard.policy.message_type_violations``); they replace the project's previous ``SyncFinding`` rows.
4. **Record** the ``SyncRun`` (status, counts per kind, calls per endpoint, Iterable's error code and msg)
   and an audit event.

``catalog_sync`` runs several projects; a failing one (bad key, Iterable down, a bug) is recorded and the
others still run. Views, the API, the command and the django-q2 tasks all call these functions.

Drift rules (codes in ``DRIFT_CODES``), checked for draft and active notifications (deprecated ones are
expected to point at stopped campaigns and are skipped):

- a declared template does not exist in Iterable; its message type there differs from the catalog's;
- a message type the notification uses (its own or a template's) is missing in Iterable, or its
  subscription policy, its channel or that channel's type differs from the catalog;
- an API send's campaign is missing, not ``Running``, or not ``Triggered``;
- a custom-event notification's journey is missing, archived, disabled, or not triggered by the declared event;
- **template copy**: Iterable copies a template when it is attached to a campaign or a journey, so the catalog
  may hold the base template's id while sends use the copy. The rule: take the templates Iterable attaches to
  the notification (API send: its campaign's ``templateId`` and templates whose ``campaignId`` is that campaign;
  custom event: the same for every campaign whose ``workflowId`` is the journey). If a declared template is not
  among them but one of them has the same ``clientTemplateId`` (when either side has one) or the same name
  (case and spacing folded) as the declared template, that one is a copy and is named.

Orphans: an Iterable template no catalog entry claims (no catalog template has its id, and its campaign is
not claimed), and a *Triggered* campaign no catalog entry claims (no notification or catalog template names
it, and it is not in a catalog journey). Blast campaigns are one-off sends, not catalog notifications.
"""
