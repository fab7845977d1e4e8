"""Fixtures shared by every capability's tests, loaded as plugins by tests/conftest.py."""
