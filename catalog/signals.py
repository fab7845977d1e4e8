"""Signal handlers: the guard on attaching templates, which bypasses Notification.save()."""

from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from catalog.models import Notification, Template
from catalog.services.guard import enforce_notification


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
