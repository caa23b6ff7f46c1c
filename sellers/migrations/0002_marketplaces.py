"""Amazon's marketplaces with their real ids and regions; the first 13 are supported."""
from django.db import migrations

from sellers.migrations._marketplace_data import MARKETPLACES



def load(apps, schema_editor):
    Marketplace = apps.get_model("sellers", "Marketplace")
    for code, mid, country, region, name, currency, supported in MARKETPLACES:
        Marketplace.objects.update_or_create(
            code=code,
            defaults={"marketplace_id": mid, "country_code": country, "region": region, "name": name,
                      "currency": currency, "supported": supported},
        )


def unload(apps, schema_editor):
    apps.get_model("sellers", "Marketplace").objects.filter(code__in=[m[0] for m in MARKETPLACES]).delete()


class Migration(migrations.Migration):
    dependencies = [("sellers", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
