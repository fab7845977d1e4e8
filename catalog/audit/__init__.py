"""The audit trail: who changed or did what, when, with the values before and after.

`models.py` (AuditEvent), `services.py` (audit_record / audit_event, snapshots and diffs, masking for the reader:
audit_events_for), `words.py` (any event's values in words), `filters.py` and `selectors.py` (Activity's filters,
search and CSV), `views.py` and `urls.py` (the Activity page and its download)."""
