"""The guard inside the database: triggers that refuse what the models refuse, whatever writes the row.

Why triggers rather than CHECK constraints: the rule spans four tables (a notification, its templates,
their message types and channels), and "Marketing Message" is judged on a look-alike key that no
column constraint can compute. Triggers fire for every write (ORM, bulk upserts, fixtures, raw SQL) on
both databases.

Why they cannot be raced: on PostgreSQL every check reads the message type and channel it judges
`FOR SHARE`, so a concurrent change to that type or channel (which takes the row's update lock) waits
for the checking transaction, and its own trigger then sees the committed use (READ COMMITTED takes a
fresh snapshot per statement inside a volatile function); or the checker waits and reads the committed
change. The side that changes a type or channel does not lock notifications, so the two never deadlock.
On SQLite, writers are serialised (IMMEDIATE transactions), so every trigger reads the latest state.

An Iterable object's project never changes (its ids belong to that project); that makes "one project
per notification" a check on the rows being written, with nothing to race.

Every refusal is raised as an integrity error whose text carries `GUARD {json}`;
`catalog.services.guard.guard_error_from_db` turns it into the same plain sentence the models give.
"""

import json

from catalog import lookalikes, policy

MARKER = "GUARD "
OPTOUT_MARKETING = policy.OPTOUT_MARKETING
MARKETING_MESSAGE_TYPE = policy.MARKETING_MESSAGE_TYPE
PROJECT_MISMATCH = "project-mismatch"
PROJECT_FIXED = "project-fixed"


def forbidden_keys_sql() -> str:
    return ", ".join("'" + k + "'" for k in sorted(policy.forbidden_name_keys()))


# ---------------------------------------------------------------------------------------------- PostgreSQL


def _pg_raise(code: str, **fields: str) -> str:
    """A RAISE that carries the code and the names involved as JSON."""
    pairs = ", ".join(f"'{name}', {value}" for name, value in fields.items())
    payload = f"json_build_object('code', '{code}'{', ' + pairs if pairs else ''})::text"
    return f"RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = '{MARKER}' || {payload};"


def postgres_install_sql() -> list[str]:
    forbidden = forbidden_keys_sql()
    return [
        f"""
CREATE OR REPLACE FUNCTION catalog_guard_name_key(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ SELECT {lookalikes.postgres_key_sql("name")} $fn$;
""",
        f"""
CREATE OR REPLACE FUNCTION catalog_guard_messagetype_before() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.project_id IS DISTINCT FROM OLD.project_id THEN
        {_pg_raise(PROJECT_FIXED, object="'message type'", name="OLD.name")}
    END IF;
    NEW.name_forbidden := catalog_guard_name_key(NEW.name) IN ({forbidden});
    RETURN NEW;
END $fn$;
""",
        # The verdict on one message type, read FOR SHARE with its channel: NULL when it may be used.
        """
CREATE OR REPLACE FUNCTION catalog_guard_type_error(type_id bigint) RETURNS json LANGUAGE plpgsql AS $fn$
DECLARE r record;
BEGIN
    IF type_id IS NULL THEN RETURN NULL; END IF;
    SELECT m.name, m.policy, m.name_forbidden, c.channel_type, c.name AS channel_name INTO r
      FROM catalog_messagetype m JOIN catalog_channel c ON c.id = m.channel_id
     WHERE m.id = type_id FOR SHARE OF m, c;
    IF NOT FOUND THEN RETURN NULL; END IF;
    IF r.name_forbidden THEN
        RETURN json_build_object('code', 'marketing-message-type', 'message_type', r.name);
    END IF;
    IF r.channel_type = 'Marketing' AND r.policy IS DISTINCT FROM 'OptIn' THEN
        RETURN json_build_object('code', 'optout-marketing', 'message_type', r.name, 'channel', r.channel_name);
    END IF;
    RETURN NULL;
END $fn$;
""",
        f"""
CREATE OR REPLACE FUNCTION catalog_guard_refuse(err json, notification_key text, template_name text)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = '{MARKER}' || (
        (err::jsonb || jsonb_build_object('notification', notification_key, 'template', template_name))::text);
END $fn$;
""",
        f"""
CREATE OR REPLACE FUNCTION catalog_guard_check_notification(notification_id bigint) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE n record; t record; err json;
BEGIN
    SELECT id, key, project_id, message_type_id, event_id, journey_id INTO n
      FROM catalog_notification WHERE id = notification_id FOR SHARE;
    IF NOT FOUND THEN RETURN; END IF;
    IF EXISTS (SELECT 1 FROM catalog_messagetype WHERE id = n.message_type_id AND project_id <> n.project_id)
       OR EXISTS (SELECT 1 FROM catalog_journey WHERE id = n.journey_id AND project_id <> n.project_id)
       OR EXISTS (SELECT 1 FROM catalog_customevent WHERE id = n.event_id AND project_id <> n.project_id) THEN
        {_pg_raise(PROJECT_MISMATCH, notification="n.key")}
    END IF;
    err := catalog_guard_type_error(n.message_type_id);
    IF err IS NOT NULL THEN PERFORM catalog_guard_refuse(err, n.key, NULL); END IF;
    FOR t IN SELECT tp.id, tp.name, tp.project_id, tp.message_type_id
               FROM catalog_notification_templates nt JOIN catalog_template tp ON tp.id = nt.template_id
              WHERE nt.notification_id = n.id ORDER BY tp.id FOR SHARE OF tp LOOP
        IF t.project_id <> n.project_id THEN
            {_pg_raise(PROJECT_MISMATCH, notification="n.key", template="t.name")}
        END IF;
        err := catalog_guard_type_error(t.message_type_id);
        IF err IS NOT NULL THEN PERFORM catalog_guard_refuse(err, n.key, t.name); END IF;
    END LOOP;
END $fn$;
""",
        """
CREATE OR REPLACE FUNCTION catalog_guard_notification_after() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM catalog_guard_check_notification(NEW.id);
    RETURN NULL;
END $fn$;
""",
        """
CREATE OR REPLACE FUNCTION catalog_guard_link_after() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM catalog_guard_check_notification(NEW.notification_id);
    RETURN NULL;
END $fn$;
""",
        # A changed type is judged once; if forbidden now, any notification using it (itself or through a
        # template) refuses the change. No notification row is locked here: see the module docstring.
        """
CREATE OR REPLACE FUNCTION catalog_guard_users_of_type(type_id bigint) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE err json; user_key text;
BEGIN
    err := catalog_guard_type_error(type_id);
    IF err IS NULL THEN RETURN; END IF;
    SELECT key INTO user_key FROM (
        SELECT n.key FROM catalog_notification n WHERE n.message_type_id = type_id
        UNION ALL
        SELECT n.key FROM catalog_notification n
          JOIN catalog_notification_templates nt ON nt.notification_id = n.id
          JOIN catalog_template tp ON tp.id = nt.template_id
         WHERE tp.message_type_id = type_id
    ) AS users ORDER BY key LIMIT 1;
    IF user_key IS NOT NULL THEN PERFORM catalog_guard_refuse(err, user_key, NULL); END IF;
END $fn$;
""",
        f"""
CREATE OR REPLACE FUNCTION catalog_guard_messagetype_after() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM catalog_channel WHERE id = NEW.channel_id AND project_id = NEW.project_id) THEN
        {_pg_raise(PROJECT_MISMATCH, message_type="NEW.name")}
    END IF;
    IF TG_OP = 'UPDATE' THEN PERFORM catalog_guard_users_of_type(NEW.id); END IF;
    RETURN NULL;
END $fn$;
""",
        f"""
CREATE OR REPLACE FUNCTION catalog_guard_channel_before() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF NEW.project_id IS DISTINCT FROM OLD.project_id THEN
        {_pg_raise(PROJECT_FIXED, object="'channel'", name="OLD.name")}
    END IF;
    RETURN NEW;
END $fn$;
""",
        """
CREATE OR REPLACE FUNCTION catalog_guard_channel_after() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE m record;
BEGIN
    FOR m IN SELECT id FROM catalog_messagetype WHERE channel_id = NEW.id ORDER BY id LOOP
        PERFORM catalog_guard_users_of_type(m.id);
    END LOOP;
    RETURN NULL;
END $fn$;
""",
        f"""
CREATE OR REPLACE FUNCTION catalog_guard_template_before() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.project_id IS DISTINCT FROM OLD.project_id THEN
        {_pg_raise(PROJECT_FIXED, object="'template'", name="OLD.name")}
    END IF;
    RETURN NEW;
END $fn$;
""",
        f"""
CREATE OR REPLACE FUNCTION catalog_guard_template_after() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE err json; user_key text;
BEGIN
    IF NEW.message_type_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM catalog_messagetype WHERE id = NEW.message_type_id AND project_id = NEW.project_id) THEN
        {_pg_raise(PROJECT_MISMATCH, template="NEW.name")}
    END IF;
    IF TG_OP = 'UPDATE' THEN
        err := catalog_guard_type_error(NEW.message_type_id);
        IF err IS NOT NULL THEN
            SELECT n.key INTO user_key FROM catalog_notification n
              JOIN catalog_notification_templates nt ON nt.notification_id = n.id
             WHERE nt.template_id = NEW.id ORDER BY n.key LIMIT 1;
            IF user_key IS NOT NULL THEN PERFORM catalog_guard_refuse(err, user_key, NEW.name); END IF;
        END IF;
    END IF;
    RETURN NULL;
END $fn$;
""",
        f"""
CREATE OR REPLACE FUNCTION catalog_guard_project_fixed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF NEW.project_id IS DISTINCT FROM OLD.project_id THEN
        {_pg_raise(PROJECT_FIXED, object="TG_ARGV[0]", name="OLD.name")}
    END IF;
    RETURN NEW;
END $fn$;
""",
    ] + [
        f"DROP TRIGGER IF EXISTS {name} ON {table}; CREATE TRIGGER {name} {timing} ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {function};"
        for name, timing, table, function in POSTGRES_TRIGGERS
    ]


POSTGRES_TRIGGERS = [
    (
        "catalog_guard_notification",
        "AFTER INSERT OR UPDATE OF project_id, message_type_id, event_id, journey_id",
        "catalog_notification",
        "catalog_guard_notification_after()",
    ),
    (
        "catalog_guard_notification_templates",
        "AFTER INSERT OR UPDATE",
        "catalog_notification_templates",
        "catalog_guard_link_after()",
    ),
    (
        "catalog_guard_messagetype_name",
        "BEFORE INSERT OR UPDATE",
        "catalog_messagetype",
        "catalog_guard_messagetype_before()",
    ),
    (
        "catalog_guard_messagetype",
        "AFTER INSERT OR UPDATE OF policy, channel_id, name, name_forbidden, project_id",
        "catalog_messagetype",
        "catalog_guard_messagetype_after()",
    ),
    ("catalog_guard_channel_project", "BEFORE UPDATE", "catalog_channel", "catalog_guard_channel_before()"),
    ("catalog_guard_channel", "AFTER UPDATE OF channel_type", "catalog_channel", "catalog_guard_channel_after()"),
    ("catalog_guard_template_project", "BEFORE UPDATE", "catalog_template", "catalog_guard_template_before()"),
    (
        "catalog_guard_template",
        "AFTER INSERT OR UPDATE OF message_type_id, project_id",
        "catalog_template",
        "catalog_guard_template_after()",
    ),
    (
        "catalog_guard_journey_project",
        "BEFORE UPDATE OF project_id",
        "catalog_journey",
        "catalog_guard_project_fixed('journey')",
    ),
    (
        "catalog_guard_customevent_project",
        "BEFORE UPDATE OF project_id",
        "catalog_customevent",
        "catalog_guard_project_fixed('custom event')",
    ),
]

POSTGRES_UNINSTALL = [f"DROP TRIGGER IF EXISTS {name} ON {table};" for name, _, table, _ in POSTGRES_TRIGGERS] + [
    "DROP FUNCTION IF EXISTS catalog_guard_" + f + " CASCADE;"
    for f in (
        "notification_after()",
        "link_after()",
        "messagetype_before()",
        "messagetype_after()",
        "channel_before()",
        "channel_after()",
        "template_before()",
        "template_after()",
        "project_fixed()",
        "users_of_type(bigint)",
        "check_notification(bigint)",
        "refuse(json, text, text)",
        "type_error(bigint)",
        "name_key(text)",
    )
]


# ------------------------------------------------------------------------------------------------- SQLite
# SQLite serialises writers, so its triggers need no locks; RAISE takes only a literal message, so the
# names involved are found again by the Python side from the code.


def _sqlite_raise(code: str) -> str:
    return f"RAISE(ABORT, '{MARKER}{json.dumps({'code': code})}')"


def _sqlite_type_checks(type_expr: str, users_exist: str) -> str:
    """Two refusals for the message type `type_expr`, when `users_exist` (an SQL condition) holds."""
    return f"""
    SELECT {_sqlite_raise(MARKETING_MESSAGE_TYPE)} WHERE ({users_exist}) AND EXISTS (
        SELECT 1 FROM catalog_messagetype m WHERE m.id = {type_expr} AND m.name_forbidden);
    SELECT {_sqlite_raise(OPTOUT_MARKETING)} WHERE ({users_exist}) AND EXISTS (
        SELECT 1 FROM catalog_messagetype m JOIN catalog_channel c ON c.id = m.channel_id
         WHERE m.id = {type_expr} AND c.channel_type = 'Marketing' AND m.policy IS NOT 'OptIn');"""


def _sqlite_notification_body(n: str) -> str:
    """Checks of notification row `n` (NEW, or a subquery alias) and all its templates."""
    return f"""
    SELECT {_sqlite_raise(PROJECT_MISMATCH)} WHERE
        EXISTS (SELECT 1 FROM catalog_messagetype WHERE id = {n}.message_type_id AND project_id <> {n}.project_id)
        OR EXISTS (SELECT 1 FROM catalog_journey WHERE id = {n}.journey_id AND project_id <> {n}.project_id)
        OR EXISTS (SELECT 1 FROM catalog_customevent WHERE id = {n}.event_id AND project_id <> {n}.project_id)
        OR EXISTS (SELECT 1 FROM catalog_notification_templates nt JOIN catalog_template tp ON tp.id = nt.template_id
                    WHERE nt.notification_id = {n}.id AND tp.project_id <> {n}.project_id);
    {_sqlite_type_checks(f"{n}.message_type_id", "1")}
    SELECT {_sqlite_raise(MARKETING_MESSAGE_TYPE)} WHERE EXISTS (
        SELECT 1 FROM catalog_notification_templates nt JOIN catalog_template tp ON tp.id = nt.template_id
          JOIN catalog_messagetype m ON m.id = tp.message_type_id
         WHERE nt.notification_id = {n}.id AND m.name_forbidden);
    SELECT {_sqlite_raise(OPTOUT_MARKETING)} WHERE EXISTS (
        SELECT 1 FROM catalog_notification_templates nt JOIN catalog_template tp ON tp.id = nt.template_id
          JOIN catalog_messagetype m ON m.id = tp.message_type_id JOIN catalog_channel c ON c.id = m.channel_id
         WHERE nt.notification_id = {n}.id AND c.channel_type = 'Marketing' AND m.policy IS NOT 'OptIn');"""


def _users_of_type(type_expr: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM catalog_notification WHERE message_type_id = {type_expr}) OR EXISTS ("
        f"SELECT 1 FROM catalog_notification_templates nt JOIN catalog_template tp ON tp.id = nt.template_id "
        f"WHERE tp.message_type_id = {type_expr})"
    )


def _project_fixed(table: str) -> str:
    return f"""
CREATE TRIGGER catalog_guard_{table}_project BEFORE UPDATE OF project_id ON catalog_{table}
FOR EACH ROW WHEN NEW.project_id IS NOT OLD.project_id BEGIN
    SELECT {_sqlite_raise(PROJECT_FIXED)};
END;"""


def sqlite_install_sql() -> list[str]:
    forbidden = forbidden_keys_sql()
    set_name_flag = (
        f"UPDATE catalog_messagetype SET name_forbidden = (catalog_guard_name_key(NEW.name) IN ({forbidden})) "
        "WHERE id = NEW.id;"
    )
    statements = [
        f"""
CREATE TRIGGER catalog_guard_notification_insert AFTER INSERT ON catalog_notification FOR EACH ROW BEGIN
    {_sqlite_notification_body("NEW")}
END;""",
        f"""
CREATE TRIGGER catalog_guard_notification_update
AFTER UPDATE OF project_id, message_type_id, event_id, journey_id ON catalog_notification FOR EACH ROW BEGIN
    {_sqlite_notification_body("NEW")}
END;""",
        *(
            f"""
CREATE TRIGGER catalog_guard_notification_templates_{event.lower()} AFTER {event} ON catalog_notification_templates
FOR EACH ROW BEGIN
    SELECT {_sqlite_raise(PROJECT_MISMATCH)} WHERE EXISTS (
        SELECT 1 FROM catalog_template tp JOIN catalog_notification n ON n.id = NEW.notification_id
         WHERE tp.id = NEW.template_id AND tp.project_id <> n.project_id);
    {_sqlite_type_checks("(SELECT message_type_id FROM catalog_template WHERE id = NEW.template_id)", "1")}
END;"""
            for event in ("INSERT", "UPDATE")
        ),
        f"""
CREATE TRIGGER catalog_guard_messagetype_insert AFTER INSERT ON catalog_messagetype FOR EACH ROW BEGIN
    {set_name_flag}
    SELECT {_sqlite_raise(PROJECT_MISMATCH)} WHERE NOT EXISTS (
        SELECT 1 FROM catalog_channel WHERE id = NEW.channel_id AND project_id = NEW.project_id);
END;""",
        f"""
CREATE TRIGGER catalog_guard_messagetype_update
AFTER UPDATE OF policy, channel_id, name, name_forbidden ON catalog_messagetype FOR EACH ROW BEGIN
    {set_name_flag}
    SELECT {_sqlite_raise(PROJECT_MISMATCH)} WHERE NOT EXISTS (
        SELECT 1 FROM catalog_channel WHERE id = NEW.channel_id AND project_id = NEW.project_id);
    {_sqlite_type_checks("NEW.id", _users_of_type("NEW.id"))}
END;""",
        f"""
CREATE TRIGGER catalog_guard_channel_update AFTER UPDATE OF channel_type ON catalog_channel FOR EACH ROW BEGIN
    SELECT {_sqlite_raise(MARKETING_MESSAGE_TYPE)} WHERE EXISTS (
        SELECT 1 FROM catalog_messagetype t WHERE t.channel_id = NEW.id AND t.name_forbidden
           AND ({_users_of_type("t.id")}));
    SELECT {_sqlite_raise(OPTOUT_MARKETING)} WHERE NEW.channel_type = 'Marketing' AND EXISTS (
        SELECT 1 FROM catalog_messagetype t WHERE t.channel_id = NEW.id AND t.policy IS NOT 'OptIn'
           AND ({_users_of_type("t.id")}));
END;""",
        f"""
CREATE TRIGGER catalog_guard_template_write AFTER INSERT ON catalog_template FOR EACH ROW
WHEN NEW.message_type_id IS NOT NULL BEGIN
    SELECT {_sqlite_raise(PROJECT_MISMATCH)} WHERE NOT EXISTS (
        SELECT 1 FROM catalog_messagetype WHERE id = NEW.message_type_id AND project_id = NEW.project_id);
END;""",
        f"""
CREATE TRIGGER catalog_guard_template_update AFTER UPDATE OF message_type_id ON catalog_template FOR EACH ROW
WHEN NEW.message_type_id IS NOT NULL BEGIN
    SELECT {_sqlite_raise(PROJECT_MISMATCH)} WHERE NOT EXISTS (
        SELECT 1 FROM catalog_messagetype WHERE id = NEW.message_type_id AND project_id = NEW.project_id);
    {
            _sqlite_type_checks(
                "NEW.message_type_id",
                "EXISTS (SELECT 1 FROM catalog_notification_templates WHERE template_id = NEW.id)",
            )
        }
END;""",
    ]
    statements += [_project_fixed(table) for table in ("channel", "messagetype", "template", "journey", "customevent")]
    return statements


SQLITE_TRIGGERS = [
    "catalog_guard_notification_insert", "catalog_guard_notification_update",
    "catalog_guard_notification_templates_insert", "catalog_guard_notification_templates_update",
    "catalog_guard_messagetype_insert", "catalog_guard_messagetype_update", "catalog_guard_channel_update",
    "catalog_guard_template_write", "catalog_guard_template_update",
    *(f"catalog_guard_{t}_project" for t in ("channel", "messagetype", "template", "journey", "customevent")),
]  # fmt: skip


def register_sqlite_functions(dbapi_connection) -> None:
    """The look-alike key for SQLite's triggers: the same Python function the models use.

    A client that opens the file without it (the sqlite3 shell) cannot write a message type at all,
    which fails closed.
    """
    dbapi_connection.create_function("catalog_guard_name_key", 1, lookalikes.key, deterministic=True)


def install(schema_editor) -> None:
    """Create (or replace) the guard's functions and triggers on this database."""
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        for statement in postgres_install_sql():
            schema_editor.execute(statement, params=None)
    elif connection.vendor == "sqlite":
        connection.ensure_connection()
        register_sqlite_functions(connection.connection)
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name};")
        for statement in sqlite_install_sql():
            schema_editor.execute(statement, params=None)
    else:
        raise NotImplementedError(f"The guard has no triggers for {connection.vendor}")


def uninstall(schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_UNINSTALL:
            schema_editor.execute(statement, params=None)
    else:
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name};")
