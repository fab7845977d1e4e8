"""Signal handlers: the guard on attaching templates (which bypasses Notification.save()), and the
stored verdicts kept fresh when anything they depend on changes."""

from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from catalog.models import Channel, MessageType, Notification, Template
from catalog.services.guard import enforce_notification, refresh_verdicts, refresh_verdicts_of_users


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
