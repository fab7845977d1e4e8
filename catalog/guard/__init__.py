"""The guard, in one place: no notification may use the opt-out "Marketing Message" type, nor any opt-out type
on a marketing channel.

- policy.py: the rules, pure functions over facts (no Django); lookalikes.py: the look-alike key of a name.
- enforcement.py: the rules applied to the models on every ORM write (installed into catalog/core/models.py
  at start-up) and the database's refusals turned into the guard's sentences.
- triggers.py: the same rules as database triggers (SQLite and PostgreSQL), so no writer can bypass them.
- verdicts.py: the one verdict on a notification (catalog rules + what the last sync saw in Iterable).
- signals.py, checks.py: templates attached to a notification, stored verdicts kept fresh, missing triggers.
"""
