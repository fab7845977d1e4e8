"""The audit trail: who changed or did what, when, with the values before and after (models, services)."""
