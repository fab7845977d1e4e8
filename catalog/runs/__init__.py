"""The run engine: one way to push many rows to Iterable in checkpointed, paced batches under a lease.

Used by the preference resync (``catalog/resync/services/process.py``) and the seed jobs
(``catalog/jobs/services/process.py``). A run is a row with a status, a lease (``lease_owner``,
``lease_until``), ``batches_done``, ``enqueued_at``, ``resumes`` and ``resumed_at_batch``; its items are rows
with a status. Each user plugs in what is its own: how to list the items, and what one batch does (read, merge,
write, record). The engine holds what they share (``engine.py``):

* the lease: a worker processes a run only while it holds an unexpired lease; a killed worker's lease runs out
  and its redelivered task (or the supervisor's) takes over;
* the slice loop: batches until the run is done, the slice's time is up (then a continuation is enqueued, so no
  task outlives django-q's timeout) or the worker is asked to stop (it ends at a checkpoint);
* pacing: one sliding window per (kind, project, rate) in the process, shared by successive slices;
* supervision: a run nobody holds and whose task is no longer queued is resumed from its checkpoint (the pending
  items), with smaller batches if its task overran, or fails with the reason after too many resumes in a row.

A batch's outcome is committed in one transaction (the checkpoint), so a killed batch is processed again.
"""
