"""Archived answers (来源 历史答复) were raw copies of transcripts; drop them.

faq.actions.archive_answered_conversations rebuilds them, de-identified, for conversations that
are still kept; those already purged stay gone, as their transcripts are.
"""
import uuid

from django.db import migrations


def drop_raw_archives(apps, schema_editor):
    Entry = apps.get_model("faq", "Entry")
    IndexState = apps.get_model("faq", "IndexState")
    if Entry.objects.filter(source="archive").delete()[0]:
        IndexState.objects.update_or_create(pk=1, defaults={"token": uuid.uuid4().hex})


class Migration(migrations.Migration):
    dependencies = [("faq", "0001_initial")]

    operations = [migrations.RunPython(drop_raw_archives, migrations.RunPython.noop)]
