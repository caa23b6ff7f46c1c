"""factory-boy factories for the whole domain. A "healthy connected seller" is the default:
tests opt into the failure they are about."""
from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from brands.models import Asin, AsinMarketplace, Brand, BrandMembership, PresenceStatus, RegistryStatus, Role
from sellers.models import Marketplace, Participation, Seller, SellerConnection, SellerMembership

User = get_user_model()


def marketplace(code: str = "US") -> Marketplace:
    """The marketplace row (data migration) — re-created if a transactional test flushed it."""
    from sellers.migrations import _marketplace_data  # noqa: PLC0415

    existing = Marketplace.objects.filter(code=code).first()
    if existing:
        return existing
    for row in _marketplace_data.MARKETPLACES:
        if row[0] == code:
            mcode, mid, country, region, name, currency, supported = row
            return Marketplace.objects.create(
                code=mcode, marketplace_id=mid, country_code=country, region=region, name=name,
                currency=currency, supported=supported,
            )
    raise LookupError(code)


def ensure_marketplaces() -> None:
    from sellers.migrations import _marketplace_data  # noqa: PLC0415

    for row in _marketplace_data.MARKETPLACES:
        marketplace(row[0])


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"Brand {n}")
    registry_number = factory.Sequence(lambda n: f"BR{n:08d}")
    registry_status = RegistryStatus.ACTIVE


class BrandMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BrandMembership

    brand = factory.SubFactory(BrandFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


def _asin_code(n: int) -> str:
    return f"B0{n:08d}"


class AsinFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asin
        skip_postgeneration_save = True

    brand = factory.SubFactory(BrandFactory)
    asin = factory.Sequence(_asin_code)
    gcid = factory.Sequence(lambda n: f"GC{n:014d}")
    title = factory.Sequence(lambda n: f"Product {n}")
    category = "Home & Kitchen"

    @factory.post_generation
    def marketplaces(obj, create, extracted, **kwargs):
        """Verified presence in these marketplace codes (default: US)."""
        if not create:
            return
        codes = ["US"] if extracted is None else extracted
        AsinMarketplace.objects.bulk_create(
            [
                AsinMarketplace(
                    asin=obj, marketplace=marketplace(code), status=PresenceStatus.VERIFIED,
                    verified_at=timezone.now(), catalog_brand=obj.brand.name, catalog_category=obj.category,
                )
                for code in codes
            ]
        )


class SellerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Seller
        skip_postgeneration_save = True

    seller_id = factory.Sequence(lambda n: f"A{n:012d}")
    name = factory.Sequence(lambda n: f"Seller {n}")
    health_score = 98
    health_checked_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))
    infringement_count = 0
    account_status = "NORMAL"
    is_test_account = False
    home_marketplace = factory.LazyFunction(lambda: marketplace("US"))

    @factory.post_generation
    def participates_in(obj, create, extracted, **kwargs):
        """Marketplace codes it participates in (default: its home marketplace)."""
        if not create:
            return
        codes = extracted if extracted is not None else ([obj.home_marketplace_id] if obj.home_marketplace_id else [])
        Participation.objects.bulk_create([Participation(seller=obj, marketplace=marketplace(c)) for c in codes])

    @factory.post_generation
    def connected(obj, create, extracted, **kwargs):
        """Connected by default (an encrypted dummy refresh token); pass connected=False to skip."""
        if not create or extracted is False:
            return
        from sellers.crypto import encrypt  # noqa: PLC0415

        SellerConnection.objects.create(
            seller=obj, refresh_token_encrypted=encrypt(f"Atzr|test-{obj.seller_id}"), connected_at=timezone.now()
        )


class SellerMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SellerMembership

    user = factory.SubFactory(UserFactory)
    seller = factory.SubFactory(SellerFactory)
