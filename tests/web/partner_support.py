"""Helpers of the partner pages' tests (tests/web/test_partner_*.py and the partner journey): the
fake SP-API's basic scenario (``fake_spapi_live``, tests/conftest.py, serves it) and sellers of it."""
from __future__ import annotations

import json

from django.utils import timezone

from sellers.crypto import encrypt
from sellers.models import SellerConnection
from spapi_client.fake import BASIC_SCENARIO
from tests.factories import SellerFactory, SellerMembershipFactory

SCENARIO = json.loads(BASIC_SCENARIO.read_text(encoding="utf-8"))
HEALTHY = "A2HEALTHYSELL01"  # US, CA; every metric GOOD → 100, NORMAL
INFRINGER = "A3INFRINGER0002"  # US, UK, DE; late shipment BAD, 2 IP complaints (BAD), WARNED → 65, AT_RISK


def scenario_seller(seller_id: str, *, partner, participates_in=("US",), **fields):
    """A seller of the fake's scenario, connected with the scenario's refresh token, ``partner``
    its partner. Its health starts unknown (the sync reads it)."""
    fields = {"health_score": None, "health_checked_at": None, **fields}
    seller = SellerFactory(seller_id=seller_id, name=SCENARIO["sellers"][seller_id]["name"],
                           participates_in=list(participates_in), connected=False, **fields)
    SellerConnection.objects.create(seller=seller, connected_at=timezone.now(),
                                    refresh_token_encrypted=encrypt(SCENARIO["sellers"][seller_id]["refresh_token"]))
    SellerMembershipFactory(user=partner, seller=seller)
    return seller
