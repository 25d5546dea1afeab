"""Webhook deliveries: the permission to send failed ones again (the admin action "Send again")."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('integration', '0001_initial'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='webhookdelivery',
            options={'permissions': [('resend_webhookdelivery', 'Can send failed webhook deliveries again')], 'verbose_name': 'webhook delivery', 'verbose_name_plural': 'webhook deliveries'},
        ),
    ]
