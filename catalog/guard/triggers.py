"""The guard inside the database: triggers that refuse what the models refuse, whatever writes the row.

Why triggers rather than CHECK constraints: the rule spans four tables (a notification, its templates,
their message types and channels), and "Marketing Message" is judged on a look-alike key that no
column constraint can compute. Triggers fire for every write (ORM, bulk upserts, fixtures, raw SQL) on
both databases.

Why they cannot be raced: on PostgreSQL every check reads the message type `FOR SHARE`, then its
channel `FOR SHARE` by the channel id it read (one statement each: a join locked in one statement would
be re-checked against the channel row it first saw and silently drop a type that moved channel), so a
concurrent change to that type or channel (which takes the row's update lock) waits for the checking
transaction, and its own trigger then sees the committed use (READ COMMITTED takes a fresh snapshot per
statement inside a volatile function); or the checker waits and reads the committed change. The side
that changes a type or channel does not lock notifications, so the two never deadlock. On SQLite,
writers are serialised (IMMEDIATE transactions), so every trigger reads the latest state.

Order does not matter: Django's foreign keys are checked at commit, so a row may be written before what
it points to. Every insert is therefore judged both ways: a new notification or link by what it uses,
and a new message type, channel, template, journey or custom event by the rows already pointing to it.

An Iterable object's project never changes (its ids belong to that project), and no guarded row's id
changes (swapping ids would swap what notifications use without touching the columns judged); that
makes "one project per notification" a check on the rows being written, with nothing to race.

Every refusal is raised as an integrity error whose text carries `GUARD {json}`;
`catalog.services.guard.guard_error_from_db` turns it into the same plain sentence the models give.
"""

import json

from catalog.guard import lookalikes, policy

MARKER = "GUARD "
GUARD_MIGRATION = "0009_guard_in_database"
OPTOUT_MARKETING = policy.OPTOUT_MARKETING
MARKETING_MESSAGE_TYPE = policy.MARKETING_MESSAGE_TYPE
PROJECT_MISMATCH = "project-mismatch"
PROJECT_FIXED = "project-fixed"
ID_FIXED = "id-fixed"
# A message type is forbidden on a channel that is anything but exactly Transactional (fail closed).
TRANSACTIONAL = policy.TRANSACTIONAL


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
    functions = [
        f"""
CREATE OR REPLACE FUNCTION catalog_guard_name_key(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ SELECT {lookalikes.postgres_key_sql("name")} $fn$;
""",
        f"""
CREATE OR REPLACE FUNCTION catalog_guard_messagetype_name() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    NEW.name_forbidden := catalog_guard_name_key(NEW.name) IN ({forbidden});
    RETURN NEW;
END $fn$;
""",
        # Ids and projects never change on guarded rows (see the module docstring).
        f"""
CREATE OR REPLACE FUNCTION catalog_guard_fixed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id THEN
        {_pg_raise(ID_FIXED, object="TG_ARGV[0]")}
    END IF;
    IF TG_ARGV[1] = 'project' AND to_jsonb(NEW) -> 'project_id' IS DISTINCT FROM to_jsonb(OLD) -> 'project_id' THEN
        {_pg_raise(PROJECT_FIXED, object="TG_ARGV[0]", name="to_jsonb(OLD) ->> 'name'")}
    END IF;
    RETURN NEW;
END $fn$;
""",
        # The verdict on one message type: the type read FOR SHARE, then its channel FOR SHARE by the id read.
        f"""
CREATE OR REPLACE FUNCTION catalog_guard_type_error(type_id bigint) RETURNS json LANGUAGE plpgsql AS $fn$
DECLARE m record; c record;
BEGIN
    IF type_id IS NULL THEN RETURN NULL; END IF;
    SELECT name, policy, name_forbidden, channel_id INTO m FROM catalog_messagetype WHERE id = type_id FOR SHARE;
    IF NOT FOUND THEN RETURN NULL; END IF;  -- written later in this transaction: its insert is judged then
    SELECT channel_type, name INTO c FROM catalog_channel WHERE id = m.channel_id FOR SHARE;
    IF m.name_forbidden THEN
        RETURN json_build_object('code', '{MARKETING_MESSAGE_TYPE}', 'message_type', m.name);
    END IF;
    IF c.channel_type IS DISTINCT FROM '{TRANSACTIONAL}' AND m.policy IS DISTINCT FROM 'OptIn' THEN
        RETURN json_build_object('code', '{OPTOUT_MARKETING}', 'message_type', m.name, 'channel', c.name);
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
        # A changed or new type is judged once; if forbidden, any notification using it (itself or through a
        # template) refuses the write. No notification row is locked here: see the module docstring.
        f"""
CREATE OR REPLACE FUNCTION catalog_guard_users_of_type(type_id bigint) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE err json; user_key text;
BEGIN
    IF EXISTS (SELECT 1 FROM catalog_messagetype m JOIN catalog_notification n ON n.message_type_id = m.id
                WHERE m.id = type_id AND n.project_id <> m.project_id)
       OR EXISTS (SELECT 1 FROM catalog_messagetype m JOIN catalog_template tp ON tp.message_type_id = m.id
                   WHERE m.id = type_id AND tp.project_id <> m.project_id) THEN
        {_pg_raise(PROJECT_MISMATCH, message_type="(SELECT name FROM catalog_messagetype WHERE id = type_id)")}
    END IF;
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
    IF NOT EXISTS (SELECT 1 FROM catalog_channel WHERE id = NEW.channel_id AND project_id = NEW.project_id)
       AND EXISTS (SELECT 1 FROM catalog_channel WHERE id = NEW.channel_id) THEN
        {_pg_raise(PROJECT_MISMATCH, message_type="NEW.name")}
    END IF;
    PERFORM catalog_guard_users_of_type(NEW.id);
    RETURN NULL;
END $fn$;
""",
        f"""
CREATE OR REPLACE FUNCTION catalog_guard_channel_after() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE m record;
BEGIN
    IF EXISTS (SELECT 1 FROM catalog_messagetype WHERE channel_id = NEW.id AND project_id <> NEW.project_id) THEN
        {_pg_raise(PROJECT_MISMATCH, channel="NEW.name")}
    END IF;
    FOR m IN SELECT id FROM catalog_messagetype WHERE channel_id = NEW.id ORDER BY id LOOP
        PERFORM catalog_guard_users_of_type(m.id);
    END LOOP;
    RETURN NULL;
END $fn$;
""",
        f"""
CREATE OR REPLACE FUNCTION catalog_guard_template_after() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE err json; user_key text;
BEGIN
    IF EXISTS (SELECT 1 FROM catalog_messagetype WHERE id = NEW.message_type_id AND project_id <> NEW.project_id)
       OR EXISTS (SELECT 1 FROM catalog_notification_templates nt
                    JOIN catalog_notification n ON n.id = nt.notification_id
                   WHERE nt.template_id = NEW.id AND n.project_id <> NEW.project_id) THEN
        {_pg_raise(PROJECT_MISMATCH, template="NEW.name")}
    END IF;
    err := catalog_guard_type_error(NEW.message_type_id);
    IF err IS NOT NULL THEN
        SELECT n.key INTO user_key FROM catalog_notification n
          JOIN catalog_notification_templates nt ON nt.notification_id = n.id
         WHERE nt.template_id = NEW.id ORDER BY n.key LIMIT 1;
        IF user_key IS NOT NULL THEN PERFORM catalog_guard_refuse(err, user_key, NEW.name); END IF;
    END IF;
    RETURN NULL;
END $fn$;
""",
        f"""
CREATE OR REPLACE FUNCTION catalog_guard_trigger_target_after() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF EXISTS (SELECT 1 FROM catalog_notification
                WHERE (CASE TG_ARGV[0] WHEN 'journey' THEN journey_id ELSE event_id END) = NEW.id
                  AND project_id <> NEW.project_id) THEN
        {_pg_raise(PROJECT_MISMATCH, object="TG_ARGV[0]", name="NEW.name")}
    END IF;
    RETURN NULL;
END $fn$;
""",
    ]
    return functions + [
        f"CREATE TRIGGER {name} {timing} ON {table} FOR EACH ROW EXECUTE FUNCTION {function};"
        for name, timing, table, function in POSTGRES_TRIGGERS
    ]


def _fixed(table: str, label: str, project: bool = True) -> tuple[str, str, str, str]:
    return (
        f"catalog_guard_{table}_fixed",
        "BEFORE UPDATE OF id, project_id" if project else "BEFORE UPDATE OF id",
        f"catalog_{table}",
        f"catalog_guard_fixed('{label}', '{'project' if project else 'id'}')",
    )


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
        "catalog_guard_messagetype_name()",
    ),
    (
        "catalog_guard_messagetype",
        "AFTER INSERT OR UPDATE OF policy, channel_id, name, name_forbidden, project_id",
        "catalog_messagetype",
        "catalog_guard_messagetype_after()",
    ),
    (
        "catalog_guard_channel",
        "AFTER INSERT OR UPDATE OF channel_type, project_id",
        "catalog_channel",
        "catalog_guard_channel_after()",
    ),
    (
        "catalog_guard_template",
        "AFTER INSERT OR UPDATE OF message_type_id, project_id",
        "catalog_template",
        "catalog_guard_template_after()",
    ),
    ("catalog_guard_journey", "AFTER INSERT", "catalog_journey", "catalog_guard_trigger_target_after('journey')"),
    (
        "catalog_guard_customevent",
        "AFTER INSERT",
        "catalog_customevent",
        "catalog_guard_trigger_target_after('custom event')",
    ),
    # A notification may move project (its trigger then judges everything it uses); its id may not change.
    _fixed("notification", "notification", project=False),
    _fixed("notification_templates", "template link", project=False),
    _fixed("messagetype", "message type"),
    _fixed("channel", "channel"),
    _fixed("template", "template"),
    _fixed("journey", "journey"),
    _fixed("customevent", "custom event"),
]


def _postgres_drop_all(schema_editor) -> None:
    """Drop every guard trigger and function, whatever version installed them."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND t.tgname LIKE 'catalog\\_guard\\_%%'"
        )
        triggers = cursor.fetchall()
        cursor.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace s ON s.oid = p.pronamespace "
            "WHERE s.nspname = current_schema() AND p.proname LIKE 'catalog\\_guard\\_%%'"
        )
        functions = [row[0] for row in cursor.fetchall()]
    for name, table in triggers:
        schema_editor.execute(f'DROP TRIGGER IF EXISTS "{name}" ON "{table}";', params=None)
    for signature in functions:
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {signature} CASCADE;", params=None)


# ------------------------------------------------------------------------------------------------- SQLite
# SQLite serialises writers, so its triggers need no locks; RAISE takes only a literal message, so the
# names involved are found again by the Python side from the code.


def _sqlite_raise(code: str) -> str:
    return f"RAISE(ABORT, '{MARKER}{json.dumps({'code': code})}')"


def _forbidden_type(alias: str) -> str:
    """SQL condition: message type `alias` (joined with its channel as `{alias}_c`) may not be used."""
    return (
        f"({alias}.name_forbidden OR ({alias}_c.channel_type IS NOT '{TRANSACTIONAL}' "
        f"AND {alias}.policy IS NOT 'OptIn'))"
    )


def _sqlite_type_checks(type_expr: str, users_exist: str) -> str:
    """The two refusals for the message type `type_expr`, when `users_exist` (an SQL condition) holds."""
    return f"""
    SELECT {_sqlite_raise(MARKETING_MESSAGE_TYPE)} WHERE ({users_exist}) AND EXISTS (
        SELECT 1 FROM catalog_messagetype m WHERE m.id = {type_expr} AND m.name_forbidden);
    SELECT {_sqlite_raise(OPTOUT_MARKETING)} WHERE ({users_exist}) AND EXISTS (
        SELECT 1 FROM catalog_messagetype m LEFT JOIN catalog_channel m_c ON m_c.id = m.channel_id
         WHERE m.id = {type_expr} AND {_forbidden_type("m")});"""


def _sqlite_notification_body(n: str) -> str:
    """Checks of notification row `n` (NEW) and all its templates."""
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
          JOIN catalog_messagetype m ON m.id = tp.message_type_id LEFT JOIN catalog_channel m_c ON m_c.id = m.channel_id
         WHERE nt.notification_id = {n}.id AND {_forbidden_type("m")});"""


def _users_of_type(type_expr: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM catalog_notification WHERE message_type_id = {type_expr}) OR EXISTS ("
        f"SELECT 1 FROM catalog_notification_templates nt JOIN catalog_template tp ON tp.id = nt.template_id "
        f"WHERE tp.message_type_id = {type_expr})"
    )


def _sqlite_type_users_body() -> str:
    """Checks of a new or changed message type NEW against every row that points to it."""
    return f"""
    SELECT {_sqlite_raise(PROJECT_MISMATCH)} WHERE
        EXISTS (SELECT 1 FROM catalog_channel WHERE id = NEW.channel_id AND project_id <> NEW.project_id)
        OR EXISTS (SELECT 1 FROM catalog_notification WHERE message_type_id = NEW.id AND project_id <> NEW.project_id)
        OR EXISTS (SELECT 1 FROM catalog_template WHERE message_type_id = NEW.id AND project_id <> NEW.project_id);
    {_sqlite_type_checks("NEW.id", _users_of_type("NEW.id"))}"""


def _sqlite_template_body() -> str:
    link_users = "EXISTS (SELECT 1 FROM catalog_notification_templates WHERE template_id = NEW.id)"
    return f"""
    SELECT {_sqlite_raise(PROJECT_MISMATCH)} WHERE
        EXISTS (SELECT 1 FROM catalog_messagetype WHERE id = NEW.message_type_id AND project_id <> NEW.project_id)
        OR EXISTS (SELECT 1 FROM catalog_notification_templates nt JOIN catalog_notification n
                     ON n.id = nt.notification_id WHERE nt.template_id = NEW.id AND n.project_id <> NEW.project_id);
    {_sqlite_type_checks("NEW.message_type_id", link_users)}"""


def _sqlite_channel_body() -> str:
    return f"""
    SELECT {_sqlite_raise(PROJECT_MISMATCH)} WHERE EXISTS (
        SELECT 1 FROM catalog_messagetype WHERE channel_id = NEW.id AND project_id <> NEW.project_id);
    SELECT {_sqlite_raise(MARKETING_MESSAGE_TYPE)} WHERE EXISTS (
        SELECT 1 FROM catalog_messagetype t WHERE t.channel_id = NEW.id AND t.name_forbidden
           AND ({_users_of_type("t.id")}));
    SELECT {_sqlite_raise(OPTOUT_MARKETING)} WHERE NEW.channel_type IS NOT '{TRANSACTIONAL}' AND EXISTS (
        SELECT 1 FROM catalog_messagetype t WHERE t.channel_id = NEW.id AND t.policy IS NOT 'OptIn'
           AND ({_users_of_type("t.id")}));"""


def _sqlite_fixed(table: str, project: bool = True) -> str:
    project_check = (
        f"\n    SELECT {_sqlite_raise(PROJECT_FIXED)} WHERE NEW.project_id IS NOT OLD.project_id;" if project else ""
    )
    return f"""
CREATE TRIGGER catalog_guard_{table}_fixed BEFORE UPDATE OF {"id, project_id" if project else "id"} ON catalog_{table}
FOR EACH ROW BEGIN
    SELECT {_sqlite_raise(ID_FIXED)} WHERE NEW.id IS NOT OLD.id;{project_check}
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
        # The flag is set first, by an UPDATE whose own trigger (below) then judges the type's users.
        f"""
CREATE TRIGGER catalog_guard_messagetype_insert AFTER INSERT ON catalog_messagetype FOR EACH ROW BEGIN
    {set_name_flag}
    {_sqlite_type_users_body()}
END;""",
        f"""
CREATE TRIGGER catalog_guard_messagetype_update
AFTER UPDATE OF policy, channel_id, name, name_forbidden ON catalog_messagetype FOR EACH ROW BEGIN
    {set_name_flag}
    {_sqlite_type_users_body()}
END;""",
        f"""
CREATE TRIGGER catalog_guard_channel_insert AFTER INSERT ON catalog_channel FOR EACH ROW BEGIN
    {_sqlite_channel_body()}
END;""",
        f"""
CREATE TRIGGER catalog_guard_channel_update AFTER UPDATE OF channel_type ON catalog_channel FOR EACH ROW BEGIN
    {_sqlite_channel_body()}
END;""",
        f"""
CREATE TRIGGER catalog_guard_template_insert AFTER INSERT ON catalog_template FOR EACH ROW BEGIN
    {_sqlite_template_body()}
END;""",
        f"""
CREATE TRIGGER catalog_guard_template_update AFTER UPDATE OF message_type_id ON catalog_template FOR EACH ROW BEGIN
    {_sqlite_template_body()}
END;""",
        *(
            f"""
CREATE TRIGGER catalog_guard_{table}_insert AFTER INSERT ON catalog_{table} FOR EACH ROW BEGIN
    SELECT {_sqlite_raise(PROJECT_MISMATCH)} WHERE EXISTS (
        SELECT 1 FROM catalog_notification WHERE {column} = NEW.id AND project_id <> NEW.project_id);
END;"""
            for table, column in (("journey", "journey_id"), ("customevent", "event_id"))
        ),
        _sqlite_fixed("notification", project=False),
        _sqlite_fixed("notification_templates", project=False),
        *(_sqlite_fixed(table) for table in ("channel", "messagetype", "template", "journey", "customevent")),
    ]
    return statements


def _sqlite_drop_all(schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'catalog_guard_%'")
        names = [row[0] for row in cursor.fetchall()]
    for name in names:
        schema_editor.execute(f'DROP TRIGGER IF EXISTS "{name}";', params=None)


def guard_migrated(connection) -> bool:
    """Whether the migration that installs the triggers has run on this database."""
    from django.db.migrations.recorder import MigrationRecorder

    recorder = MigrationRecorder(connection)
    return recorder.has_table() and recorder.migration_qs.filter(app="catalog", name=GUARD_MIGRATION).exists()


def installed_triggers(connection) -> set[str]:
    """The guard's triggers present in this database."""
    if connection.vendor == "postgresql":
        sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'catalog\\_guard\\_%%'"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'catalog_guard_%'"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {row[0] for row in cursor.fetchall()}


def expected_triggers(connection) -> set[str]:
    if connection.vendor == "postgresql":
        return {name for name, *_ in POSTGRES_TRIGGERS}
    names = set()
    for statement in sqlite_install_sql():
        names.add(statement.split("CREATE TRIGGER ", 1)[1].split()[0])
    return names


def register_sqlite_functions(dbapi_connection) -> None:
    """The look-alike key for SQLite's triggers: the same Python function the models use.

    A client that opens the file without it (the sqlite3 shell) cannot write a message type at all,
    which fails closed.
    """
    dbapi_connection.create_function("catalog_guard_name_key", 1, lookalikes.key, deterministic=True)


def install(schema_editor) -> None:
    """Create the guard's functions and triggers on this database, replacing any earlier version."""
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        _postgres_drop_all(schema_editor)
        for statement in postgres_install_sql():
            schema_editor.execute(statement, params=None)
    elif connection.vendor == "sqlite":
        connection.ensure_connection()
        register_sqlite_functions(connection.connection)
        _sqlite_drop_all(schema_editor)
        for statement in sqlite_install_sql():
            schema_editor.execute(statement, params=None)
    else:
        raise NotImplementedError(f"The guard has no triggers for {connection.vendor}")


def uninstall(schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        _postgres_drop_all(schema_editor)
    else:
        _sqlite_drop_all(schema_editor)
