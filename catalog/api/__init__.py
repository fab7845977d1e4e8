"""The REST API (DRF) under /api/: thin views over catalog/services, one error format, token auth."""
