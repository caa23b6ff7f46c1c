"""The brand pages (brands.web): who sees them, the sub-navigation by role, the dashboard, "Sync
now", members and settings."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from authorizations.models import GrantStatus
from brands.models import Brand, BrandMembership, Role
from spapi_client.models import SyncKind, SyncRun, SyncStatus
from tests.factories import AsinFactory, SellerFactory, SellerMembershipFactory

from .brand_helpers import READ_PAGES, body, finding, grant, request_for, sellers, url

pytestmark = pytest.mark.django_db


# -- access -------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", READ_PAGES)
@pytest.mark.parametrize("role", ["owner_a", "manager_a", "viewer_a", "ops"])
def test_members_and_ops_read_every_brand_page(client_for, world, page, role):
    response = client_for(role).get(url(page, world.brand_a))
    assert response.status_code == 200, (page, role)
    if page != "findings_export":
        assert "Alpha" in body(response)


@pytest.mark.parametrize("page", READ_PAGES)
@pytest.mark.parametrize("outsider", ["owner_b", "partner_s", "newcomer"])
def test_outsiders_get_404_and_learn_nothing(client_for, world, page, outsider):
    response = client_for(outsider).get(url(page, world.brand_a))
    assert response.status_code == 404
    assert "Alpha" not in body(response)


@pytest.mark.parametrize("page", READ_PAGES)
def test_anonymous_is_sent_to_log_in(client, world, page):
    response = client.get(url(page, world.brand_a))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_unknown_brand_is_404(client_for, world):
    assert client_for("ops").get("/brands/999999/").status_code == 404


WRITES = [  # (page, POST data): each needs a role the viewer and ops do not have
    ("sync", {}),
    ("asins_import", {"csv_text": "asin,gcid,title,category,marketplaces\nB0NEWNEW01,,,,US\n"}),
    ("members", {"op": "add", "add-username": "newcomer", "add-role": "viewer"}),
    ("member_remove", {"username": "manager_a"}),
    ("settings", {"name": "Renamed", "dual_control": "on"}),
]


@pytest.mark.parametrize(("page", "data"), WRITES, ids=[w[0] for w in WRITES])
@pytest.mark.parametrize("role", ["viewer_a", "ops"])
def test_viewers_and_ops_cannot_write(client_for, world, page, data, role):
    events = AuditEvent.objects.count()
    response = client_for(role).post(url(page, world.brand_a), data)
    assert response.status_code == 403
    assert AuditEvent.objects.count() == events
    assert Brand.objects.get(pk=world.brand_a.pk).name == "Alpha"
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize(("page", "data"), WRITES, ids=[w[0] for w in WRITES])
def test_another_brands_owner_cannot_write_either(client_for, world, page, data):
    response = client_for("owner_b").post(url(page, world.brand_a), data)
    assert response.status_code == 404
    assert BrandMembership.objects.filter(brand=world.brand_a).count() == 3


@pytest.mark.parametrize("page", ["members", "member_remove", "settings"])
def test_managers_cannot_change_members_or_settings(client_for, world, page):
    data = dict(WRITES)[page]
    response = client_for("manager_a").post(url(page, world.brand_a), data)
    assert response.status_code == 403


# -- sub-navigation -------------------------------------------------------------------------------

def _nav(response) -> str:
    html = body(response)
    return html[html.index('<nav class="subnav"'):html.index("</nav>", html.index('<nav class="subnav"'))]


@pytest.mark.parametrize(("role", "new_grant", "settings_link"), [
    ("owner_a", True, True), ("manager_a", True, False), ("viewer_a", False, False), ("ops", False, True),
])
def test_the_sub_navigation_follows_the_role(client_for, world, role, new_grant, settings_link):
    nav = _nav(client_for(role).get(url("dashboard", world.brand_a)))
    for label in ("Dashboard", "ASINs", "Grants", "Approvals", "Findings", "Members", "Audit trail"):
        assert label in nav
    assert (f"/brands/{world.brand_a.pk}/grants/new/" in nav) is new_grant
    assert (f"/brands/{world.brand_a.pk}/settings/" in nav) is settings_link
    assert ('aria-current="page">Dashboard' in nav)


def test_the_sub_navigation_marks_the_current_page(client_for, world):
    nav = _nav(client_for("owner_a").get(url("members", world.brand_a)))
    assert 'aria-current="page">Members' in nav
    assert 'aria-current="page">Dashboard' not in nav


def test_ops_and_viewers_see_no_action_buttons(client_for, world):
    world.brand_a.spapi_account = world.seller_s
    world.brand_a.save()
    for role in ("viewer_a", "ops"):
        client = client_for(role)
        html = body(client.get(url("dashboard", world.brand_a)))
        assert "Sync now" not in html and "Import ASINs" not in html and "New grant" not in html
        assert "Import ASINs" not in body(client.get(url("asins", world.brand_a)))
        members = body(client.get(url("members", world.brand_a)))
        assert "Add member" not in members and "Remove…" not in members
        assert 'name="name"' not in body(client.get(url("settings", world.brand_a)))
    owner = body(client_for("owner_a").get(url("dashboard", world.brand_a)))
    assert "Sync now" in owner and "Import ASINs" in owner


# -- dashboard ------------------------------------------------------------------------------------

@pytest.fixture
def busy(world, settings):
    """Brand A with 12 sellers holding grants, one ASIN at its limit, a grant expiring in 3 days,
    an overdue pending approval, a fresh and an overdue partner request, open and resolved
    findings, and a failed sync run."""
    brand = world.brand_a
    shops = sellers(12)
    full = AsinFactory(brand=brand, asin="B0FULL0001", title="Full kettle", marketplaces=["US", "DE"])
    for shop in shops[:10]:
        grant(full, shop, created_days_ago=40)
    grant(world.asin_a2, shops[10], valid_until=timezone.now() + dt.timedelta(days=3), created_days_ago=20)
    grant(world.asin_a2, shops[11], status=GrantStatus.PENDING_APPROVAL, created_days_ago=15)
    grant(world.asin_a2, shops[0], status=GrantStatus.REVOKED, created_days_ago=60, ended_days_ago=30)
    request_for(brand, shops[1], created_days_ago=1)
    request_for(brand, shops[2], asins=["B0ALPHA001", "B0ALPHA002"], markets=["US", "DE"], created_days_ago=20)
    finding(brand, world.asin_a1, "AOFFER000001", name="Grey Market Co", first_days_ago=10)
    finding(brand, world.asin_a1, "AOFFER000002", first_days_ago=50, resolved_days_ago=40)
    SyncRun.objects.create(kind=SyncKind.BRAND, brand=brand, status=SyncStatus.FAILURE,
                           error="The brand has no SP-API account: connect one.")
    return shops


def test_the_dashboard_shows_what_needs_attention(client_for, world, busy):
    html = body(client_for("owner_a").get(url("dashboard", world.brand_a)))
    # sellers used / 50: seller S + 12 shops (the pending one holds a slot too); the revoked one does not count twice
    assert '<meter min="0" max="50"' in html and 'value="13"' in html
    # the ASIN at its 10-seller limit, with its usage bar
    assert "B0FULL0001" in html and "10 / 10" in html
    assert "1 ASIN at its 10-seller limit" in html
    # expiring within 14 days
    assert "Expiring within 14 days" in html and busy[10].name in html
    # the pending approval (15 days: more than 7 business days) is overdue and highlighted
    approvals = html[html.index('id="approvals"'):html.index('id="requests"')]
    assert busy[11].name in approvals and "Overdue" in approvals and 'class="highlight"' in approvals
    # the requests: one fresh (not highlighted), one overdue, each with its age in business days
    requests = html[html.index('id="requests"'):html.index('id="expiring"')]
    assert requests.count('class="highlight"') == 1
    assert "1 business day" in requests or "0 business days" in requests
    assert "2 ASINs in US, DE" in requests
    assert f"/brands/{world.brand_a.pk}/approvals/" in requests
    # findings: one open
    assert "Grey Market Co" in html and "AOFFER000002" not in html
    # the failed last sync says why
    assert "The brand has no SP-API account" in html and "Never synced." in html


def test_the_dashboard_chart_counts_live_grants_and_open_findings_per_week(client_for, world, busy):
    from brands.selectors import brand_weekly_history

    history = brand_weekly_history(world.brand_a)
    assert len(history) == 14
    first, last = history[0], history[-1]
    # 91 days ago: only the revoked grant (created 60 days ago) did not exist yet either → nothing live
    assert first[1:] == (0, 0)
    # now: the world's grant_s + 10 full + expiring + pending = 13 live; the revoked one ended 30 days ago
    assert last[1] == 13
    assert last[2] == 1  # one open finding; the other was resolved 40 days ago
    # 35 days ago: the 10 grants on the full ASIN (created 40 days ago) and the revoked one (live
    # from 60 to 30 days ago); no finding open (one resolved 40 days ago, the other opened 10 days ago)
    assert history[-6][1:] == (11, 0)
    # 42 days ago: only the revoked grant; the finding first seen 50 days ago was still open
    assert history[-7][1:] == (1, 1)
    html = body(client_for("owner_a").get(url("dashboard", world.brand_a)))
    grants_line = re.search(r'<polyline class="series-a" points="([^"]+)"', html).group(1).split()
    findings_line = re.search(r'<polyline class="series-b" points="([^"]+)"', html).group(1).split()
    assert len(grants_line) == len(findings_line) == 14
    # 13 live grants now, on a 0–16 scale: the line ends 13/16 of the way up the plot (y 12 to 154)
    assert grants_line[-1].endswith(f",{round(12 + 142 * (1 - 13 / 16), 1)}")
    assert "Live grants: 13" in html and "Open findings: 1" in html


def test_a_busy_dashboard_takes_a_bounded_number_of_queries(client_for, world, busy, django_assert_max_num_queries):
    client = client_for("owner_a")
    extra = sellers(30, prefix="AMORE")
    for n, shop in enumerate(extra):
        asin = AsinFactory(brand=world.brand_a, asin=f"B0MORE{n:04d}")
        grant(asin, shop, status=GrantStatus.PENDING_APPROVAL, created_days_ago=n)
        request_for(world.brand_a, shop, created_days_ago=n)
        finding(world.brand_a, asin, f"AOFFERX{n:05d}")
    with django_assert_max_num_queries(18):  # a first view: the brand-wide figures are read too
        response = client.get(url("dashboard", world.brand_a))
    assert response.status_code == 200


def test_the_dashboard_shows_a_change_on_the_next_view_and_reads_its_figures_once(
        client_for, world, busy, django_assert_max_num_queries):
    """The figures over every grant of the brand are kept between views, under the brand's
    latest audit event: a change made through the product shows at once."""
    from audit.context import Actor
    from authorizations import services
    from authorizations.models import Grant
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for("owner_a")
    with CaptureQueriesContext(connection) as first:
        before = body(client.get(url("dashboard", world.brand_a)))
    assert 'value="13"' in before
    with CaptureQueriesContext(connection) as second:
        client.get(url("dashboard", world.brand_a))
    assert len(second) <= len(first) - 4  # usage, counts by status, ASINs at the limit, 13 weeks
    # when the owner revokes the grant expiring in 3 days
    expiring = Grant.objects.get(seller=busy[10], status=GrantStatus.ACTIVE)
    services.grant_revoke(actor=Actor.for_user(world.owner_a), grant=expiring, reason="Ended early")
    # then the next view counts 12 sellers, and nothing expires within 14 days
    after = body(client.get(url("dashboard", world.brand_a)))
    assert 'value="12"' in after and busy[10].name not in after
    # and the chart's last point (now) counts 12 live grants; the weeks before it are as they were
    assert "Live grants: 13" in before and "Live grants: 12" in after
    week = r'<tr><td>(\d{4}-\d{2}-\d{2})</td><td class="num">(\d+)</td><td class="num">(\d+)</td></tr>'
    assert len(re.findall(week, before)) == 14
    assert re.findall(week, after)[:-1] == re.findall(week, before)[:-1]
    assert re.findall(week, after)[-1][1:] == ("12", "1")


def test_a_pending_brand_says_it_cannot_hold_live_authorizations(client_for, world):
    Brand.objects.filter(pk=world.brand_a.pk).update(registry_status="PENDING")
    html = body(client_for("owner_a").get(url("dashboard", world.brand_a)))
    assert "Only an ACTIVE brand can hold live authorizations" in html
    assert "No SP-API account is set for this brand" in html


# -- sync now -------------------------------------------------------------------------------------

def test_sync_now_queues_the_brand_sync(client_for, world, django_capture_on_commit_callbacks):
    world.brand_a.spapi_account = world.seller_s
    world.brand_a.save()
    client = client_for("manager_a")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(url("sync", world.brand_a))
    assert response.status_code == 302 and response["Location"] == url("dashboard", world.brand_a)
    run = SyncRun.objects.get()
    assert (run.kind, run.brand_id, run.requested_by, run.status) == (
        SyncKind.BRAND, world.brand_a.pk, world.manager_a, SyncStatus.PENDING)
    assert len(queued) == 1
    html = body(client.get(url("dashboard", world.brand_a)))
    assert "Sync started" in html and "Pending" in html
    # asking again while it is pending: the same run
    with django_capture_on_commit_callbacks(execute=False):
        client.post(url("sync", world.brand_a))
    assert SyncRun.objects.count() == 1


def test_sync_now_without_an_spapi_account_says_so(client_for, world):
    response = client_for("owner_a").post(url("sync", world.brand_a), follow=True)
    assert "This brand has no SP-API account to sync with" in body(response)
    assert not SyncRun.objects.exists()


def test_sync_is_post_only(client_for, world):
    assert client_for("owner_a").get(url("sync", world.brand_a)).status_code == 405


# -- members --------------------------------------------------------------------------------------

def test_members_lists_everyone_with_their_role(client_for, world):
    html = body(client_for("viewer_a").get(url("members", world.brand_a)))
    html = html[html.index("<main"):]
    for name, role in [("owner_a", "Owner"), ("manager_a", "Manager"), ("viewer_a", "Viewer")]:
        assert name in html and role in html
    assert html.index("owner_a") < html.index("manager_a") < html.index("viewer_a")


def test_the_owner_adds_a_member(client_for, world):
    response = client_for("owner_a").post(url("members", world.brand_a),
                                          {"op": "add", "add-username": "newcomer", "add-role": "manager"})
    assert response.status_code == 302
    assert BrandMembership.objects.get(brand=world.brand_a, user=world.newcomer).role == Role.MANAGER
    assert AuditEvent.objects.filter(action="membership.added", brand_id=world.brand_a.pk, source="web").exists()


def test_an_unknown_username_is_an_error_next_to_the_field(client_for, world):
    response = client_for("owner_a").post(url("members", world.brand_a),
                                          {"op": "add", "add-username": "nobody-here", "add-role": "viewer"})
    assert response.status_code == 400
    html = body(response)
    field = html[html.index('for="id_add-username"'):html.index('for="id_add-role"')]
    assert "No user named “nobody-here”." in field
    assert 'value="nobody-here"' in field


def test_an_invalid_role_is_an_error_next_to_the_field(client_for, world):
    response = client_for("owner_a").post(url("members", world.brand_a),
                                          {"op": "add", "add-username": "newcomer", "add-role": "admin"})
    assert response.status_code == 400
    html = body(response)
    assert "Select a valid choice" in html[html.index('for="id_add-role"'):]
    assert not BrandMembership.objects.filter(user=world.newcomer).exists()


def test_the_owner_changes_a_role(client_for, world):
    client = client_for("owner_a")
    response = client.post(url("members", world.brand_a), {"op": "change", "username": "viewer_a", "role": "manager"})
    assert response.status_code == 302
    assert BrandMembership.objects.get(user=world.viewer_a).role == Role.MANAGER
    assert AuditEvent.objects.filter(action="membership.updated").exists()


def test_the_last_owner_cannot_step_down(client_for, world):
    client = client_for("owner_a")
    response = client.post(url("members", world.brand_a), {"op": "change", "username": "owner_a", "role": "viewer"},
                           follow=True)
    assert "owner_a is the brand&#x27;s last owner" in body(response)
    assert BrandMembership.objects.get(user=world.owner_a).role == Role.OWNER


def test_removing_a_member_asks_first_then_removes(client_for, world):
    client = client_for("owner_a")
    confirm = client.get(url("member_remove", world.brand_a, "username=manager_a"))
    assert confirm.status_code == 200
    html = body(confirm)
    assert "manager_a (Manager) loses access to Alpha at once" in html and 'class="button danger"' in html
    assert BrandMembership.objects.filter(user=world.manager_a).exists()
    response = client.post(url("member_remove", world.brand_a), {"username": "manager_a"})
    assert response.status_code == 302
    assert not BrandMembership.objects.filter(user=world.manager_a).exists()
    assert AuditEvent.objects.filter(action="membership.removed", brand_id=world.brand_a.pk).exists()


def test_removing_the_last_owner_is_refused_on_the_confirmation_page(client_for, world):
    response = client_for("owner_a").post(url("member_remove", world.brand_a), {"username": "owner_a"})
    assert response.status_code == 409
    html = body(response)
    assert "LAST_OWNER" in html
    assert BrandMembership.objects.filter(user=world.owner_a).exists()


def test_removing_someone_who_is_not_a_member_is_404(client_for, world):
    assert client_for("owner_a").get(url("member_remove", world.brand_a, "username=owner_b")).status_code == 404
    assert client_for("owner_a").get(url("member_remove", world.brand_a)).status_code == 404


# -- settings -------------------------------------------------------------------------------------

def test_the_owner_changes_the_settings(client_for, world):
    account = SellerFactory(seller_id="AOWNACCOUNT1", name="Alpha Direct")
    SellerMembershipFactory(user=world.owner_a, seller=account)
    client = client_for("owner_a")
    html = body(client.get(url("settings", world.brand_a)))
    assert "Alpha Direct (AOWNACCOUNT1)" in html
    assert "Shop T" not in html  # a seller no member is linked to is not offered
    response = client.post(url("settings", world.brand_a),
                           {"name": "Alpha Home", "dual_control": "on", "spapi_account": account.pk})
    assert response.status_code == 302
    brand = Brand.objects.get(pk=world.brand_a.pk)
    assert (brand.name, brand.dual_control, brand.spapi_account_id) == ("Alpha Home", True, account.pk)
    event = AuditEvent.objects.get(action="brand.updated")
    assert event.after == {"name": "Alpha Home", "dual_control": True, "spapi_account": "AOWNACCOUNT1"}
    assert "Settings saved." in body(client.get(url("settings", world.brand_a)))


def test_a_blank_name_is_an_error_next_to_the_field(client_for, world):
    response = client_for("owner_a").post(url("settings", world.brand_a), {"name": "  "})
    assert response.status_code == 400
    html = body(response)
    assert "This field is required." in html[html.index('for="id_name"'):html.index('id="id_dual_control"')]
    assert Brand.objects.get(pk=world.brand_a.pk).name == "Alpha"


def test_an_account_nobody_connected_cannot_be_chosen(client_for, world):
    response = client_for("owner_a").post(url("settings", world.brand_a),
                                          {"name": "Alpha", "spapi_account": world.seller_t.pk})
    assert response.status_code == 400
    assert "Select a valid choice" in body(response)
    assert Brand.objects.get(pk=world.brand_a.pk).spapi_account_id is None


def test_the_registry_status_is_shown_but_not_editable(client_for, world):
    html = body(client_for("owner_a").get(url("settings", world.brand_a)))
    assert "ALPHA-0001" in html and "Active" in html
    assert 'name="registry_status"' not in html
    client_for("owner_a").post(url("settings", world.brand_a), {"name": "Alpha", "registry_status": "INACTIVE"})
    assert Brand.objects.get(pk=world.brand_a.pk).registry_status == "ACTIVE"


def test_others_read_the_settings(client_for, world):
    for role in ("manager_a", "viewer_a", "ops"):
        html = body(client_for(role).get(url("settings", world.brand_a)))
        assert "Only owners of the brand can change its settings." in html
        assert "ALPHA-0001" in html


def test_a_new_user_registers_a_brand_and_lands_on_its_dashboard(client_for, world):
    client = client_for("newcomer")
    response = client.post("/brands/new/", {"name": "Charlie", "registry_number": "CHARLIE-01"}, follow=True)
    brand = Brand.objects.get(name="Charlie")
    assert response.redirect_chain[-1][0] == url("dashboard", brand)
    assert "Brand Charlie registered" in body(response)
    assert BrandMembership.objects.get(brand=brand).user == world.newcomer
    again = client.post("/brands/new/", {"name": "Charlie 2", "registry_number": "CHARLIE-01"})
    assert again.status_code == 400 and "already exists" in body(again)


def test_the_brand_list_shows_usage(client_for, world):
    html = body(client_for("owner_a").get("/brands/"))
    assert "Alpha" in html and "Bravo" not in html
    assert '<meter min="0" max="50"' in html and 'value="1"' in html
    assert '<td data-label="Your role">Owner</td>' in html
    ops = body(client_for("ops").get("/brands/"))
    assert "Alpha" in ops and "Bravo" in ops and "Read-only (operations)" in ops


def test_a_removed_member_loses_the_pages_at_once(client_for, world):
    client = client_for("viewer_a")
    BrandMembership.objects.filter(user=world.viewer_a).delete()
    assert client.get(url("dashboard", world.brand_a)).status_code == 404
