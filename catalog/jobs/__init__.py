"""The seeds' daily jobs as supervised runs on the run engine (catalog/runs/): a profile sync
(``users/bulkUpdate``), adding to or removing from a static list (``lists/subscribe``, ``lists/unsubscribe``),
deleting users (``DELETE users/{email}`` or ``byUserId``) and opting people out (``bulkUpdateSubscriptions``).

Where: ``models.py`` (Job, JobRun, JobItem, DeletionRecord, OptOutEvent), ``services/`` (conf, rows, sources,
setup, schedules, actions, runs, process, queue, supervision, optouts), ``selectors.py``, ``forms.py``,
``views.py``, ``api.py``, ``urls.py``, ``tasks.py``; templates in ``templates/jobs/``.

A job says what to do (its action), where rows come from (an uploaded CSV or JSON-lines file, rows pushed through
the API, a read-only query on a configured database, or unsubscribe events), which columns become which Iterable
fields (``mapping``; devices and subscription arrays are refused), which rows to leave out (``retention``, as
data: "created in the last 60 days"), what to do with invalid rows (skip them, or fail the run before anything is
sent), its list or its channel (confirmed by typing the channel's name), its pace and its cron schedule.

A run's rows are ``JobItem`` rows with the Iterable-shaped payload. Its task (``job_run_task``) lists an uploaded
file or the query's rows first (in one transaction), then processes batches on the engine: the action's handler
(``services/actions.py``: a dry run reads and compares, an apply writes paced) and one checkpoint per batch. A
dry run records each row's difference by field name; applying it sends only the rows that would change. A
deletion that is not a dry run waits for a second person's approval (``approve_deletions``; never the requester),
and each deleted person leaves only a keyed hash of their address in the run and a ``DeletionRecord`` whose
contact link says whether their preferences were resynced since. An opt-out event is received once per sender's
event id and applied as a run of one row queued at once; the opt-out is written to the source of truth too, so
the next preference resync does not undo it.

Every write here is idempotent (a profile merge, a list change, an unsubscribe that re-reads first, a delete that
treats "already gone" as done), so a batch whose checkpoint a killed worker never committed is simply sent again.
"""
