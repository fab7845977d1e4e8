"""Preference resync: make Iterable's subscription arrays match the source of truth (``ContactPreference``).

Where: ``services/`` (conf, rules, merge, ingest, runs, queue, process, supervision), ``selectors.py``,
``filters.py`` (shared by the pages and the API), ``forms.py``, ``views.py``, ``api.py`` (viewsets on the one
router), ``urls.py``, ``tasks.py``; the models in ``models.py``; templates in ``templates/resync/``.

The merge rule (why nothing the source of truth does not speak about is wiped)
------------------------------------------------------------------------------
``bulkUpdateSubscriptions`` overwrites every array it is sent. So for each contact and each of the four arrays:

* the desired value is ``None`` (the truth says nothing), or the array is not in the project's scope
  (``ResyncSettings.scope``), or it is ``subscribedMessageTypeIds`` in a project without opt-in types
  → the array is **not sent** (omitted = left alone by Iterable);
* scope ``"all"`` → the truth owns the whole array: the desired ids are the new array;
* scope ``[ids]`` → the truth owns only those ids: ``new = (current - scope) + desired``. The current array
  is read from Iterable (``getByEmail``) right before the write, in the same batch, so ids outside the scope
  (a marketer's list, an unsubscribe the truth does not track) survive.
* channel alignment: a message type belongs to a channel, and Iterable refuses a subscribed opt-in type on an
  unsubscribed channel (``validateChannelAlignment`` defaults to true). Ingestion refuses rows that contradict
  themselves. When the contradiction appears only after the merge:
  - an opt-in type the truth owns, on a channel unsubscribed outside the scope: the type is **not**
    subscribed (the channel unsubscribe is the broader wish); the diff records it under ``dropped``;
  - an opt-in type the truth does *not* own, on a channel the truth now unsubscribes: the type is **kept**
    (never wipe what the truth does not own) and the row is sent with ``validateChannelAlignment: false``;
    the channel unsubscribe still blocks every send on it. The diff records it under ``kept_misaligned``.

With the current state read, only arrays that differ are sent, and a contact whose arrays already match is
skipped ("in_sync"). ``compare="auto"`` reads only contacts that need it (some array with a partial scope):
a project whose truth owns whole arrays then resyncs without a single read, at the bulk write ceiling.

Throughput and reliability
--------------------------
A run's contacts are ``ResyncItem`` rows, processed on the run engine (``catalog/runs/engine.py``, shared with
the seed jobs: lease, slice loop, pacing, supervisor); the resync plugs in its listing and its batch. A worker
takes the run's lease, then loops: the next
``batch_size`` pending items → read where needed → merge → one ``bulkUpdateSubscriptions`` per batch
(split further only to stay under 4 MB) paced to ``rate_per_second`` → commit the items' outcome and the
contacts' "resynced" marker in one transaction (the checkpoint). After ``RESYNC_SLICE_SECONDS`` it releases
the lease and enqueues a continuation, so no task outlives django-q's ``timeout``. A killed worker's batch
was never committed: its items are still pending and are processed again (the overwrite is idempotent, and a
re-read shows them in sync). Its lease expires (``RESYNC_LEASE_SECONDS`` < Q_CLUSTER ``retry``) before the
ORM broker redelivers its task. Per-row failures (``invalidEmails``, ``validEmailFailures``) and batches
that fail after the client's bounded retries are recorded on the items and can be retried.
"""
