"""SP-API website authorization (OAuth): connect a seller account, the way API.md describes it.

1. :func:`connect_start` — a random ``state`` (only its sha256 is stored, bound to the user,
   valid for ten minutes) and Seller Central's consent URL carrying it.
2. Amazon sends the browser back to ``SITE_URL/spapi/callback`` with ``state``,
   ``selling_partner_id`` and ``spapi_oauth_code``: :func:`connect_complete`
   a. takes the state, in a short transaction: the row locked, checked (known, unused, not
      expired, the session's user if there is a session) and marked used — so a state works
      once, even when two callbacks race;
   b. exchanges the code for a refresh token at LWA — an HTTP call, so outside any transaction
      (STYLE.md); when it fails the state stays used and the partner starts again;
   c. stores the connection (:func:`sellers.services.seller_connect`: seller created or updated,
      the user linked as its partner, token encrypted, audited) and queues the seller's first
      sync once that commits.
3. :func:`connect_states_purge` — the periodic clean-up of expired states.

Secrets: the state, the authorization code and the refresh token never reach a log line, an
audit event or an error message.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import secrets
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import Actor
from config.db import locking_atomic
from config.errors import ApplicationError, ErrorItem, InvalidInput
from spapi_client import operations as spapi
from spapi_client.client import SpapiConnection
from spapi_client.config import get_config
from spapi_client.errors import SpapiAuthError, SpapiClientError, SpapiConfigurationError, SpapiError
from spapi_client.models import SyncKind, SyncRun
from spapi_client.runs import enqueue, run_create

from .models import ConnectState, Seller
from .services import SELLER_ID_RE, seller_connect

__all__ = [
    "STATE_TTL",
    "ConnectUnavailable",
    "ExchangeFailed",
    "connect_start",
    "connect_complete",
    "connect_states_purge",
    "state_hash",
]

logger = logging.getLogger(__name__)

STATE_TTL = dt.timedelta(minutes=10)
STATE_BYTES = 32  # secrets.token_urlsafe(32): 43 characters, 256 bits
MAX_STATE_LENGTH = 512  # ours are 43; anything much longer is not one of ours (and not worth hashing)
MAX_CODE_LENGTH = 1024  # LWA codes are ~20 characters

INVALID_STATE = "INVALID_STATE"
EXCHANGE_FAILED = "SPAPI_EXCHANGE_FAILED"


class ExchangeFailed(ApplicationError):
    """LWA did not turn the authorization code into a refresh token. 400 when LWA refused the
    code itself (``invalid_grant``: used, expired, not ours); 502 when LWA or the way to it
    failed (server error, time-out, our client credentials refused). Never names the code."""

    http_status = 502
    default_code = EXCHANGE_FAILED

    def __init__(self, detail: str, *, refused: bool, seller_id: str | None = None) -> None:
        super().__init__(detail, seller_id=seller_id)
        self.http_status = 400 if refused else 502


class ConnectUnavailable(ApplicationError):
    """SP-API is not configured on this installation (no application id / LWA client)."""

    http_status = 503
    default_code = "SPAPI_NOT_CONFIGURED"


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8", "surrogatepass")).hexdigest()


def _invalid_state() -> InvalidInput:
    # One answer for unknown, forged, used, expired and someone else's state: a caller learns
    # nothing about which states exist.
    return InvalidInput(_("This authorization link is invalid, already used or expired. Start connecting the "
                          "seller account again."), code=INVALID_STATE, field="state")


# --- 1. start -----------------------------------------------------------------------------------


def connect_start(*, user) -> tuple[str, str]:
    """Start connecting a Seller Central account for ``user``: ``(consent_url, state)``.

    The state is single-use, expires after :data:`STATE_TTL` and is stored only as its sha256."""
    state = secrets.token_urlsafe(STATE_BYTES)
    try:
        url = spapi.consent_url(state)  # before storing anything: fails when SP-API is not configured
    except SpapiConfigurationError as exc:
        logger.error("cannot start an SP-API authorization: %s", exc.message)
        raise ConnectUnavailable(_("Connecting seller accounts is not configured on this installation.")) from None
    now = timezone.now()
    ConnectState.objects.create(state_hash=state_hash(state), user=user, expires_at=now + STATE_TTL)
    return url, state


# --- 2. complete --------------------------------------------------------------------------------


def clean_callback_parameters(*, state: Any, selling_partner_id: Any, spapi_oauth_code: Any) -> tuple[str, str, str]:
    """The callback's three parameters, or one :class:`InvalidInput` listing every bad one:
    ``INVALID_STATE`` (state missing), ``REQUIRED``, ``INVALID_SELLER_ID``, ``INVALID``."""
    errors: list[ErrorItem] = []
    state = state.strip() if isinstance(state, str) else ""
    if not state or len(state) > MAX_STATE_LENGTH:
        errors.extend(_invalid_state().errors)
    seller_id = selling_partner_id.strip() if isinstance(selling_partner_id, str) else ""
    if not seller_id:
        errors.append(ErrorItem(code="REQUIRED", field="selling_partner_id",
                                detail=_("selling_partner_id is required.")))
    elif not SELLER_ID_RE.match(seller_id):
        errors.append(ErrorItem(code="INVALID_SELLER_ID", field="selling_partner_id", seller_id=seller_id[:40],
                                detail=_("“%(value)s” is not a seller id (10 to 20 capital letters or digits).")
                                % {"value": seller_id[:40]}))
    code = spapi_oauth_code.strip() if isinstance(spapi_oauth_code, str) else ""
    if not code:
        errors.append(ErrorItem(code="REQUIRED", field="spapi_oauth_code", detail=_("spapi_oauth_code is required.")))
    elif len(code) > MAX_CODE_LENGTH or not code.isprintable():
        errors.append(ErrorItem(code="INVALID", field="spapi_oauth_code",
                                detail=_("spapi_oauth_code is not an authorization code.")))
    if errors:
        raise InvalidInput(errors)
    return state, seller_id, code


def _take_state(state: str, *, session_user) -> Any:
    """Lock the state's row, check it, mark it used; the user who started the flow.

    Nothing is written unless every check passes. The conditional UPDATE makes the state
    single-use on any database; on PostgreSQL the row lock already serialises racing callbacks."""
    now = timezone.now()
    with locking_atomic():
        row = ConnectState.objects.select_for_update().select_related("user").filter(state_hash=state_hash(state)).first()
        if row is None or row.used_at is not None or row.expires_at <= now or not row.user.is_active:
            raise _invalid_state()
        if session_user is not None and session_user.pk != row.user_id:
            raise _invalid_state()  # a session of someone else: not consumed, its owner may still finish
        if ConnectState.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now) != 1:
            raise _invalid_state()
    return row.user


def _exchange(code: str, *, seller_id: str) -> str:
    """The refresh token for ``code``; :class:`ExchangeFailed` (never naming code or token) otherwise."""
    try:
        return spapi.exchange_authorization_code(code, get_config().callback_url)
    except SpapiError as exc:
        # SpapiError messages hold the operation, status and LWA's error code only (spapi_client.errors).
        logger.warning("SP-API authorization code exchange failed for seller %s: %s (%s, after %s attempt(s))",
                       seller_id, type(exc).__name__, exc.status or "no answer", exc.attempts or 1)
        refused = exc.status == 400  # LWA refused the code itself: invalid_grant, ...
        if refused:
            reason = exc.amazon_code if (exc.amazon_code or "").replace("_", "").isalpha() else f"HTTP {exc.status}"
            detail = _("Amazon did not accept the authorization (%(reason)s). Start connecting the seller "
                       "account again.") % {"reason": reason}
        else:
            detail = _("Amazon's token service failed or could not be reached. Start connecting the seller "
                       "account again.")
        raise ExchangeFailed(detail, refused=refused, seller_id=seller_id) from None


# Any ASIN will do: the call is made for its sellerId check, not for the answer.
IDENTITY_PROBE_ASIN = "B000000000"


def _verify_identity(refresh_token: str, *, seller_id: str) -> None:
    """Prove the token belongs to ``seller_id``: the callback's ``selling_partner_id`` is only a
    query parameter, so a user could consent with account X and claim seller Y. Listings
    Restrictions takes a ``sellerId`` and Amazon refuses one that is not the token's selling
    partner; a refusal stores nothing (the state is used up: start again)."""
    conn = SpapiConnection(seller_id=seller_id, refresh_token=refresh_token)
    try:
        spapi.get_listings_restrictions(conn, IDENTITY_PROBE_ASIN, seller_id, conn.marketplace_id)
    except (SpapiAuthError, SpapiClientError) as exc:
        logger.warning("SP-API identity check refused seller %s: %s (%s)", seller_id, type(exc).__name__,
                       exc.status or "no answer")
        raise InvalidInput(_("The authorized Seller Central account is not seller %(seller)s. Start connecting "
                             "the seller account again, signed in to the right account.") % {"seller": seller_id},
                           code="SELLER_IDENTITY_MISMATCH", field="selling_partner_id", seller_id=seller_id) from None
    except SpapiError as exc:
        logger.warning("SP-API identity check failed for seller %s: %s", seller_id, type(exc).__name__)
        raise ExchangeFailed(_("Amazon could not confirm the seller account. Start connecting the seller "
                               "account again."), refused=False, seller_id=seller_id) from None


def _first_sync_task():
    """``sellers.tasks.sync_seller``, imported when needed (the tasks module imports the sync
    machinery, which the URLconf need not load)."""
    from .tasks import sync_seller  # noqa: PLC0415

    return sync_seller


def _queue_first_sync(*, seller: Seller, user) -> SyncRun:
    """Create the seller's first sync run and send its task once the transaction commits."""
    run = run_create(kind=SyncKind.SELLER, seller=seller, requested_by=user)
    enqueue(run, _first_sync_task())
    return run


def connect_complete(*, state: Any, selling_partner_id: Any, spapi_oauth_code: Any, session_user=None,
                     request_actor: Actor) -> Seller:
    """Finish connecting a seller account (Amazon's redirect to ``/spapi/callback``).

    Authenticates by ``state``: the user who started the flow becomes the seller's partner and
    the actor of the audit events (``request_actor`` gives the request id, IP and source). When
    the request carries a session (``session_user``), it must be that same user.

    Raises :class:`InvalidInput` (``INVALID_STATE``, ``REQUIRED``, ``INVALID_SELLER_ID``) with
    nothing stored, or :class:`ExchangeFailed` (``SPAPI_EXCHANGE_FAILED``) with only the state
    used up. Call it outside any transaction: it makes an HTTP call to LWA between its own two."""
    if session_user is not None and not getattr(session_user, "is_authenticated", False):
        session_user = None
    state, seller_id, code = clean_callback_parameters(
        state=state, selling_partner_id=selling_partner_id, spapi_oauth_code=spapi_oauth_code)
    user = _take_state(state, session_user=session_user)
    refresh_token = _exchange(code, seller_id=seller_id)  # no transaction open here (outside tests)
    _verify_identity(refresh_token, seller_id=seller_id)
    actor = dataclasses.replace(request_actor, user=user, name=user.get_username(), system=False)
    with locking_atomic():
        seller = seller_connect(actor=actor, user=user, seller_id=seller_id, refresh_token=refresh_token)
        _queue_first_sync(seller=seller, user=user)
    logger.info("seller %s connected by %s", seller.seller_id, user.get_username())
    return seller


# --- 3. clean-up --------------------------------------------------------------------------------


def connect_states_purge(*, now: dt.datetime | None = None) -> int:
    """Delete expired states (used or not); how many. For a periodic task."""
    deleted, _by_model = ConnectState.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
