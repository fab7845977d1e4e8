"""Where a key may go, test recipients with consent, tokens that expire and can be rotated."""

from datetime import timedelta

import catalog.models
import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _existing_rows(apps, schema_editor):
    """Tokens made before expiry was required get the longest life from their creation; an existing test
    recipient stays approved only if it is its owner's login address or at a staff domain."""
    ApiToken = apps.get_model("catalog", "ApiToken")
    for token in ApiToken.objects.filter(expires_at__isnull=True):
        token.expires_at = token.created_at + timedelta(days=settings.API_TOKEN_MAX_DAYS)
        token.save(update_fields=["expires_at"])
    ProofRecipient = apps.get_model("catalog", "ProofRecipient")
    domains = {d.lower() for d in settings.TEST_RECIPIENT_DOMAINS}
    for recipient in ProofRecipient.objects.select_related("owner"):
        email = recipient.email.lower()
        own = recipient.owner is not None and email and email == (recipient.owner.email or "").lower()
        staff = email and email.rpartition("@")[2] in domains
        recipient.added_by = recipient.owner
        recipient.status = "approved" if own or staff else "pending"
        recipient.save(update_fields=["added_by", "status"])


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0009_guard_in_database'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='apitoken',
            name='replaced_by',
            field=models.OneToOneField(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='replaces', to='catalog.apitoken'),
        ),
        migrations.AddField(
            model_name='proofrecipient',
            name='added_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='proofrecipient',
            name='approved_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='proofrecipient',
            name='approved_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='proofrecipient',
            name='status',
            field=models.CharField(choices=[('approved', 'Approved'), ('pending', 'Waiting for approval')], default='approved', max_length=10),
        ),
        migrations.AlterField(
            model_name='apitoken',
            name='expires_at',
            field=models.DateTimeField(blank=True, help_text='Every token expires (API_TOKEN_MAX_DAYS).', null=True),
        ),
        migrations.AlterField(
            model_name='iterableproject',
            name='api_base_url',
            field=models.URLField(blank=True, help_text="Leave blank for Iterable's host in this data centre. Anything else (the local emulator) only when the server's ITERABLE_ALLOWED_HOSTS lists it.", validators=[catalog.models.api_base_url_allowed], verbose_name='API base URL override'),
        ),
        migrations.AlterField(
            model_name='iterableproject',
            name='api_key_env',
            field=models.CharField(help_text="Name of the environment variable that holds this project's API key: ITERABLE_API_KEY_<NAME>.", max_length=100, validators=[django.core.validators.RegexValidator('^ITERABLE_API_KEY_[A-Z0-9][A-Z0-9_]*\\Z', 'Use the name of an environment variable ITERABLE_API_KEY_<NAME> (capital letters, digits, underscores), e.g. ITERABLE_API_KEY_STUDENT_US; never the key itself.')], verbose_name='API key environment variable'),
        ),
        migrations.AddConstraint(
            model_name='proofrecipient',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['approved', 'pending'])), name='proof_recipient_status_valid'),
        ),
        migrations.RunPython(_existing_rows, migrations.RunPython.noop),
    ]
