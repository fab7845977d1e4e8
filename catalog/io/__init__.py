"""Import and export of the whole catalog as YAML or JSON, and CSV of a notification list.

Where: ``services/schema.py`` (the file format as DRF serializers, one per kind of object: the shape check,
the references and the export), ``services/imports.py`` (parse, then import all-or-nothing),
``services/export.py`` (the file and the list's CSV, streamed), ``services/runs.py`` (imports queued and run
in the background, supervised); ``forms.py``, ``views.py``, ``urls.py``, ``tasks.py``; the model
(``CatalogImport``) in ``models.py``; templates ``catalog/import.html`` and ``catalog/import_detail.html``.

The file format (version 1) has one list per kind of object, in dependency order; objects refer to each other
by natural keys, never by database ids, so a file moves between databases:

    format: iterable-admin-catalog
    version: 1
    projects:       [{name, data_center, api_key_env, api_base_url, iterable_project_id}]
    owners:         [{name, role, email, slack_channel}]
    channels:       [{project, iterable_id, name, channel_type, medium}]
    message_types:  [{project, iterable_id, name, channel: <channel iterable_id>, policy, deprecated, notes}]
    templates:      [{project, iterable_id, name, medium, message_type: <name>|null, campaign_id, client_template_id}]
    journeys:       [{project, iterable_id, name, folder, link, trigger_event_names, state}]
    custom_events:  [{project, name, source_system, description, fields: [{name, data_type, example, required,
                      position}]}]
    notifications:  [{key, name, description, audience, project, medium, trigger_type, campaign_id,
                      event: <name>|null, journey: <iterable_id>|null, message_type: <name>,
                      templates: [<template iterable_id>], owners: [{name, role}], status, tags, code_location}]

The demo catalog (``catalog/services/demo.py``) is loaded by building such a file and importing it.
"""
