"""What a rule's or a finding's code is called on a page: the one source for the guard's rules and the sync's
findings alike (catalog_ui's `code_words`, sync_ui's `title_of_finding`, the findings filter). The code itself
stays in the API and in the filters' values, never on a page.

Pure words: it imports the codes only (no selector, no template tag), so the template tags may import it."""

from catalog.guard import policy
from catalog.sync import codes as drift

# The guard's rules as people say them, wherever they are found (the catalog or the latest sync).
RULE_WORDS = {
    policy.OPTOUT_MARKETING: "Opt-out type on a Marketing channel",
    policy.MARKETING_MESSAGE_TYPE: "The “Marketing Message” type",
    policy.NO_OWNER: "No owner",
    policy.DEPRECATED_MESSAGE_TYPE: "Deprecated message type",
    policy.TRIGGER_INCOMPLETE: "Trigger incomplete",
}

# The sync's own findings: what it found in Iterable that the catalog does not expect.
FINDING_TITLES = {
    drift.TEMPLATE_MISSING: "Template missing in Iterable",
    drift.TEMPLATE_TYPE_CHANGED: "Template on another message type in Iterable",
    drift.MESSAGE_TYPE_MISSING: "Message type missing in Iterable",
    drift.MESSAGE_TYPE_CHANGED: "Message type differs in Iterable",
    drift.CAMPAIGN_MISSING: "Campaign missing in Iterable",
    drift.CAMPAIGN_NOT_RUNNING: "Campaign not running",
    drift.CAMPAIGN_NOT_TRIGGERED: "Campaign is not an API-triggered campaign",
    drift.JOURNEY_MISSING: "Journey missing in Iterable",
    drift.JOURNEY_ARCHIVED: "Journey archived",
    drift.JOURNEY_DISABLED: "Journey turned off",
    drift.JOURNEY_TRIGGER_MISMATCH: "Journey started by another event",
    drift.TEMPLATE_COPY: "Sends use a copy of the template",
    drift.ORPHAN_TEMPLATE: "Template no catalog entry claims",
    drift.ORPHAN_CAMPAIGN: "Triggered campaign no catalog entry claims",
}


def code_words(code: str | None) -> str:
    """A rule's or a finding's code in words ("no-owner" → "No owner"; an unknown code read out of its words)."""
    if not code:
        return ""
    return (
        RULE_WORDS.get(code) or FINDING_TITLES.get(code) or str(code).replace("-", " ").replace("_", " ").capitalize()
    )
