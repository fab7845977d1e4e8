"""Signal handlers: the guard on attaching templates (which bypasses Notification.save()), and the
stored verdicts kept fresh when anything they depend on changes."""

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from catalog.guard.enforcement import enforce_notification
from catalog.guard.verdicts import refresh_verdicts, refresh_verdicts_of_users
from catalog.models import Channel, MessageType, Notification, Owner, Template


@receiver(m2m_changed, sender=Notification.templates.through)
def guard_template_attach(sender, instance, action, reverse, pk_set, **kwargs):
    if action != "pre_add" or not pk_set:
        return
    if reverse:
        for notification in Notification.objects.filter(pk__in=pk_set):
            enforce_notification(notification, templates=[*notification.templates.all(), instance])
    else:
        added = Template.objects.filter(pk__in=pk_set).select_related("message_type__channel")
        enforce_notification(instance, templates=[*instance.templates.all(), *added])


@receiver(post_save, sender=Notification)
def refresh_own_verdict(sender, instance, raw=False, **kwargs):
    if not raw:
        refresh_verdicts([instance])
        return
    # A fixture (loaddata) may list rows in any order and carry any stored verdict: judge the row once the
    # whole load has committed and everything it uses exists.
    pk = instance.pk
    transaction.on_commit(lambda: refresh_verdicts(Notification.objects.filter(pk=pk)))


@receiver(pre_delete, sender=Owner)
@receiver(pre_delete, sender=Template)
def remember_users_before_delete(sender, instance, **kwargs):
    # Deleting an owner or a template removes link rows without an m2m signal; their notifications' stored
    # verdicts ("no owner", a template's type) change, so they are refreshed once the rows are gone.
    instance._verdict_users = list(instance.notifications.values_list("pk", flat=True))


@receiver(post_delete, sender=Owner)
@receiver(post_delete, sender=Template)
def refresh_users_after_delete(sender, instance, **kwargs):
    users = getattr(instance, "_verdict_users", [])
    if users:
        refresh_verdicts(Notification.objects.filter(pk__in=users))


@receiver(m2m_changed, sender=Notification.owners.through)
@receiver(m2m_changed, sender=Notification.templates.through)
def refresh_after_relations_change(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    if not reverse:
        refresh_verdicts([instance])
    elif pk_set:
        refresh_verdicts(Notification.objects.filter(pk__in=pk_set))
    else:
        refresh_verdicts(Notification.objects.all())


@receiver(post_save, sender=MessageType)
@receiver(post_save, sender=Channel)
@receiver(post_save, sender=Template)
def refresh_users_verdicts(sender, instance, created, raw=False, **kwargs):
    if created or raw:
        return
    refresh_verdicts_of_users(instance)
