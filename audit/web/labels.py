"""Words for the audit log's codes: actions, object types and sources, in the reader's language.

The codes themselves (``grant.revoked``) are what the log stores, the API returns and the CSV
export holds; pages show these words next to them. A code not listed here is shown as it is.
"""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "asin.brand_mismatch": _("ASIN listed under another brand"),
    "asin.created": _("ASIN imported"),
    "asin.not_found": _("ASIN not found in a marketplace"),
    "asin.updated": _("ASIN updated"),
    "asin.verified": _("ASIN verified in a marketplace"),
    "audit.pruned": _("Old audit events pruned"),
    "brand.created": _("Brand registered"),
    "brand.registry_status_changed": _("Brand Registry status changed"),
    "brand.updated": _("Brand settings changed"),
    "connection.created": _("SP-API connection created"),
    "connection.key_rotated": _("SP-API connection key rotated"),
    "connection.revoked": _("SP-API connection revoked"),
    "finding.opened": _("Unauthorized offer found"),
    "finding.resolved": _("Unauthorized offer resolved"),
    "grant.approved": _("Authorization approved"),
    "grant.created": _("Authorization created"),
    "grant.expired": _("Authorization expired"),
    "grant.reinstated": _("Authorization reinstated"),
    "grant.rejected": _("Authorization rejected"),
    "grant.revoked": _("Authorization revoked"),
    "grant.suspended": _("Authorization suspended"),
    "marketplace.created": _("Marketplace added"),
    "marketplace.updated": _("Marketplace changed"),
    "membership.added": _("Member added"),
    "membership.removed": _("Member removed"),
    "membership.updated": _("Member role changed"),
    "request.approved": _("Request approved"),
    "request.created": _("Authorization requested"),
    "request.rejected": _("Request rejected"),
    "seller.created": _("Seller added"),
    "seller.health_updated": _("Seller account health updated"),
    "seller.participations_updated": _("Seller marketplaces updated"),
    "seller.restrictions_updated": _("Seller listing restrictions updated"),
    "seller.updated": _("Seller settings changed"),
    "user.ops_granted": _("Ops role granted"),
    "user.ops_revoked": _("Ops role taken away"),
}

OBJECT_TYPE_LABELS = {
    "asin": _("ASIN"),
    "audit": _("Audit log"),
    "brand": _("Brand"),
    "connection": _("SP-API connection"),
    "finding": _("Unauthorized offer"),
    "grant": _("Authorization"),
    "marketplace": _("Marketplace"),
    "membership": _("Brand membership"),
    "request": _("Authorization request"),
    "seller": _("Seller"),
    "seller_membership": _("Seller partner link"),
    "user": _("User"),
}

SOURCE_LABELS = {
    "web": _("Web"),
    "api": _("API"),
    "worker": _("Worker"),
    "command": _("Command"),
}


def action_label(code: str) -> str:
    return str(ACTION_LABELS.get(code, code))


def object_type_label(code: str) -> str:
    return str(OBJECT_TYPE_LABELS.get(code, code))
