"""API tokens: a user's tokens for scripts (models, services, the API's authentication, the token pages)."""
