"""The periodic tasks, as django-celery-beat rows (``CELERY_BEAT_SCHEDULER`` is its
DatabaseScheduler): editable, pausable and re-timed in the admin without a deploy.

| name | task | schedule |
|---|---|---|
| Sync all sellers | sellers.tasks.sync_all_sellers | every 24 hours |
| Sync all brands | brands.sync_all_brands | every 24 hours |
| Expire grants past their term | authorizations.tasks.expire_grants | every 15 minutes |
| Expiring-soon notices | authorizations.tasks.send_expiring_notices | daily at 07:00 UTC |
| Purge expired SP-API connect states | sellers.tasks.purge_connect_states | every hour |

Rows that already exist (by name) are left as an admin may have edited them; reversing the
migration removes the five tasks (schedules that other tasks use are kept).
"""
from django.db import migrations
from django.utils import timezone

PERIODIC_TASKS = [
    # name, task, ("interval", every, period) | ("crontab", minute, hour), description
    ("Sync all sellers", "sellers.tasks.sync_all_sellers", ("interval", 24, "hours"),
     "One seller sync (participations, health, Amazon listing restrictions) per connected seller."),
    ("Sync all brands", "brands.sync_all_brands", ("interval", 24, "hours"),
     "Catalog verification and offers monitoring of every ACTIVE brand with an SP-API account."),
    ("Expire grants past their term", "authorizations.tasks.expire_grants", ("interval", 15, "minutes"),
     "Writes EXPIRED on live grants whose valid_until has passed."),
    ("Expiring-soon notices", "authorizations.tasks.send_expiring_notices", ("crontab", "0", "7"),
     "One e-mail per brand owner/manager and partner listing grants that end within EXPIRING_SOON_DAYS."),
    ("Purge expired SP-API connect states", "sellers.tasks.purge_connect_states", ("interval", 1, "hours"),
     "Deletes OAuth connect states past their expiry."),
]


def create_periodic_tasks(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    for name, task, schedule, description in PERIODIC_TASKS:
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        fields = {"task": task, "description": description, "enabled": True, "args": "[]", "kwargs": "{}"}
        if schedule[0] == "interval":
            _kind, every, period = schedule
            fields["interval"], _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        else:
            _kind, minute, hour = schedule
            fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
                minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC")
        PeriodicTask.objects.create(name=name, **fields)
    # Tell a running beat (DatabaseScheduler) that the schedule changed.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_periodic_tasks(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTask.objects.filter(name__in=[name for name, *_rest in PERIODIC_TASKS]).delete()
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("spapi_client", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_periodic_tasks, remove_periodic_tasks)]
