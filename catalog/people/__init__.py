"""Users and roles, managed by admins from the dashboard.

`services.py` holds the rules (invite, change role, deactivate, reactivate, a new set-password link; never the
last active admin, never oneself; all audited), `forms.py` and `views.py` the pages under /people/ (the admin
role's `auth.change_user`, see catalog/roles.py), and /welcome/<uid>/<token>/ where an invited person chooses a
password. Templates are in templates/people/. There is no API: people are managed from the pages.
"""
