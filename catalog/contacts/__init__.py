"""Contact lookup: one contact across projects, their subscriptions, and whether each notification would reach
them and why not (services.py), with its page, form, API and routes."""
