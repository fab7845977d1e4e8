"""The stored verdict follows every change it depends on."""

from catalog.models import Notification


def verdict(key):
    n = Notification.objects.get(key=key)
    return n.verdict_codes, n.verdict_errors, n.verdict_warnings


def test_verdict_follows_owners_types_and_trigger(small_catalog):
    assert verdict("weekly_digest") == ([], 0, 0)
    assert verdict("receipt") == (["no-owner"], 0, 1)
    small_catalog.receipt.owners.add(small_catalog.owner)
    assert verdict("receipt") == ([], 0, 0)
    small_catalog.owner.notifications.clear()
    assert verdict("weekly_digest") == (["no-owner"], 0, 1)

    small_catalog.transactional_type.deprecated = True
    small_catalog.transactional_type.save()
    assert verdict("receipt") == (["deprecated-message-type", "no-owner"], 0, 2)

    receipt = Notification.objects.get(key="receipt")
    receipt.status = "draft"
    receipt.campaign_id = None
    receipt.save()
    assert verdict("receipt") == (["no-owner", "trigger-incomplete"], 0, 2)
    assert set(Notification.objects.filter(verdict_warnings__gt=0).values_list("key", flat=True)) == {
        "receipt",
        "weekly_digest",
    }
