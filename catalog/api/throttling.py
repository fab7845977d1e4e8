"""Throttling per user (and per address for requests without a user), rates from settings."""

from rest_framework import throttling
from rest_framework.settings import api_settings


class _RatesFromSettings:
    # DRF copies the rates into a class attribute at import; read them per request so settings changes apply.
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class UserThrottle(_RatesFromSettings, throttling.UserRateThrottle):
    scope = "user"


class AnonThrottle(_RatesFromSettings, throttling.AnonRateThrottle):
    scope = "anon"
