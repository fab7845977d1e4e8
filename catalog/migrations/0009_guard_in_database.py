from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0008_proof_sends")]

    operations = []
