"""Users and roles, managed by admins from the dashboard."""
