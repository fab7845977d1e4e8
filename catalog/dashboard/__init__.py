"""The home page: the morning questions answered from every capability (this package reads them all; none reads it)."""
