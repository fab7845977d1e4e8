"""The guard's django-q2 entry point."""


def verdicts_refresh_task(model_name: str, pk: int) -> int:
    """Refresh the stored verdicts of a widely used message type's, channel's or template's notifications."""
    from catalog.guard.verdicts import verdicts_refresh_run

    return verdicts_refresh_run(model_name, pk)
