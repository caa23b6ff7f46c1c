"""brands.services.asins_import: the catalog import, JSON and CSV, all-or-nothing or partial."""
from __future__ import annotations

import pytest

from audit.context import Actor
from brands import services
from brands.importing import MAX_IMPORT_ITEMS
from brands.models import Asin, AsinMarketplace, PresenceStatus
from config.errors import InvalidInput, NotAllowed, NotFound
from tests.factories import AsinFactory, BrandFactory

from .helpers import events, written

HEADER = "asin,gcid,title,category,marketplaces"
GCID = "GCID000000000001"


@pytest.fixture
def owner_actor(marketplaces, owner, as_actor) -> Actor:
    return as_actor(owner)


def presences(asin_code: str) -> dict[str, str]:
    return dict(AsinMarketplace.objects.filter(asin__asin=asin_code).values_list("marketplace_id", "status"))


def refusal(brand, actor, **source) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        services.asins_import(actor=actor, brand=brand, **source)
    return refused.value


# -- happy paths -----------------------------------------------------------------------------------

def test_json_import_creates_asins_with_unverified_presences(brand, owner_actor):
    # given
    items = [
        {"asin": "B000000001", "gcid": GCID, "title": "Kettle", "category": "Home & Kitchen",
         "marketplaces": ["US", "DE"]},
        {"asin": "B000000002", "gcid": None, "marketplaces": ["UK"]},
    ]

    # when
    result = services.asins_import(actor=owner_actor, brand=brand, items=items)

    # then
    assert result.created == ["B000000001", "B000000002"]
    assert (result.updated, result.unchanged, result.errors) == ([], [], [])
    kettle = Asin.objects.get(brand=brand, asin="B000000001")
    assert (kettle.gcid, kettle.title, kettle.category) == (GCID, "Kettle", "Home & Kitchen")
    assert presences("B000000001") == {"US": PresenceStatus.UNVERIFIED, "DE": PresenceStatus.UNVERIFIED}
    unregistered = Asin.objects.get(brand=brand, asin="B000000002")
    assert (unregistered.gcid, unregistered.title) == (None, "")
    created = events(brand, "asin.created")
    assert [(e.object_type, e.object_id, e.before, e.reason) for e in created] == [
        ("asin", "B000000001", None, "JSON import"), ("asin", "B000000002", None, "JSON import")]
    assert created[0].after == {
        "gcid": GCID, "title": "Kettle", "category": "Home & Kitchen", "marketplaces": ["DE", "US"]}


def test_import_updates_existing_asins_and_keeps_their_verification(brand, owner_actor):
    # given: an ASIN verified in US
    AsinFactory(brand=brand, asin="B000000001", gcid=GCID, title="Old", category="Toys", marketplaces=["US"])

    # when
    result = services.asins_import(actor=owner_actor, brand=brand, items=[
        {"asin": "B000000001", "gcid": "GCID000000000002", "title": "New", "category": "Toys",
         "marketplaces": ["US", "FR"]},
    ])

    # then
    assert (result.created, result.updated) == ([], ["B000000001"])
    asin = Asin.objects.get(brand=brand, asin="B000000001")
    assert (asin.gcid, asin.title) == ("GCID000000000002", "New")
    assert presences("B000000001") == {"US": PresenceStatus.VERIFIED, "FR": PresenceStatus.UNVERIFIED}
    [event] = events(brand, "asin.updated")
    assert event.before == {"gcid": GCID, "title": "Old", "category": "Toys", "marketplaces": ["US"]}
    assert event.after == {"gcid": "GCID000000000002", "title": "New", "category": "Toys", "marketplaces": ["FR", "US"]}


def test_import_only_adding_a_marketplace_is_an_update(brand, owner_actor):
    # given
    AsinFactory(brand=brand, asin="B000000001", gcid=GCID, title="Kettle", category="Toys", marketplaces=["US"])

    # when
    result = services.asins_import(actor=owner_actor, brand=brand, items=[
        {"asin": "B000000001", "gcid": GCID, "title": "Kettle", "category": "Toys", "marketplaces": ["JP"]},
    ])

    # then: marketplaces are added, never removed
    assert result.updated == ["B000000001"]
    assert presences("B000000001") == {"US": PresenceStatus.VERIFIED, "JP": PresenceStatus.UNVERIFIED}


def test_reimporting_what_the_catalog_holds_changes_nothing(brand, owner_actor):
    # given
    AsinFactory(brand=brand, asin="B000000001", gcid=GCID, title="Kettle", category="Toys", marketplaces=["US"])
    before = written(brand)

    # when
    result = services.asins_import(actor=owner_actor, brand=brand, items=[
        {"asin": "B000000001", "gcid": GCID, "title": "Kettle", "category": "Toys", "marketplaces": ["US"]},
    ])

    # then
    assert (result.created, result.updated, result.unchanged) == ([], [], ["B000000001"])
    assert written(brand) == before


def test_an_asin_in_another_brands_catalog_may_be_imported(brand, owner_actor):
    # given
    AsinFactory(brand=BrandFactory(), asin="B000000001")

    # when
    result = services.asins_import(actor=owner_actor, brand=brand, items=[
        {"asin": "B000000001", "marketplaces": ["US"]}])

    # then
    assert result.created == ["B000000001"]
    assert Asin.objects.filter(asin="B000000001").count() == 2


def test_codes_are_normalised(brand, owner_actor):
    # when: lower case, spaces, and Amazon's GB for our UK
    result = services.asins_import(actor=owner_actor, brand=brand, items=[
        {"asin": " b000000001 ", "marketplaces": ["us", "GB", "US"]},
    ])

    # then
    assert result.created == ["B000000001"]
    assert set(presences("B000000001")) == {"US", "UK"}


def test_csv_import_reads_columns_in_any_order(brand, owner_actor):
    # given
    csv_text = (
        "marketplaces,asin,title,gcid,category\n"
        f"US;DE,B000000001,\"Kettle, steel\",{GCID},Home & Kitchen\n"
        "UK,B000000002,Mug,,\n"
    )

    # when
    result = services.asins_import(actor=owner_actor, brand=brand, csv_text=csv_text)

    # then
    assert result.created == ["B000000001", "B000000002"]
    kettle = Asin.objects.get(brand=brand, asin="B000000001")
    assert (kettle.title, kettle.gcid, kettle.category) == ("Kettle, steel", GCID, "Home & Kitchen")
    assert set(presences("B000000001")) == {"US", "DE"}
    mug = Asin.objects.get(brand=brand, asin="B000000002")
    assert (mug.gcid, mug.category) == (None, "")
    assert events(brand, "asin.created")[0].reason == "CSV import"


def test_csv_with_byte_order_mark_and_crlf_is_accepted(brand, owner_actor):
    # given: what Excel saves
    csv_text = f"\ufeff{HEADER}\r\nB000000001,{GCID},Kettle,Toys,US\r\nB000000002,,Mug,Toys,US;CA\r\n"

    # when
    result = services.asins_import(actor=owner_actor, brand=brand, csv_text=csv_text)

    # then
    assert result.created == ["B000000001", "B000000002"]
    assert Asin.objects.get(brand=brand, asin="B000000002").category == "Toys"


def test_csv_lines_are_counted_in_the_file(brand, owner_actor):
    # given: a quoted title over two lines, then a blank line, then a bad ASIN on line 5
    csv_text = f'{HEADER}\nB000000001,,"Kettle\nsteel",Toys,US\n\nBAD,,Mug,Toys,US\n'

    # when
    error = refusal(brand, owner_actor, csv_text=csv_text).errors[0]

    # then
    assert (error.code, error.line, error.asin) == ("INVALID_ASIN", 5, "BAD")


# -- bad input: every error, with field, value and line; nothing written -------------------------

GOOD = {"asin": "B000000009", "marketplaces": ["US"]}


@pytest.mark.parametrize(("item", "code", "field", "value"), [
    ({"asin": "B00000001", "marketplaces": ["US"]}, "INVALID_ASIN", "asin", "B00000001"),
    ({"asin": "B00000000!", "marketplaces": ["US"]}, "INVALID_ASIN", "asin", "B00000000!"),
    ({"asin": 1234567890, "marketplaces": ["US"]}, "INVALID_ASIN", "asin", "1234567890"),
    ({"marketplaces": ["US"]}, "REQUIRED", "asin", None),
    ({"asin": "B000000001", "gcid": "GCID-1", "marketplaces": ["US"]}, "INVALID_GCID", "gcid", "GCID-1"),
    ({"asin": "B000000001", "gcid": "G" * 17, "marketplaces": ["US"]}, "INVALID_GCID", "gcid", "G" * 17),
    ({"asin": "B000000001", "marketplaces": ["US", "XX"]}, "INVALID_MARKETPLACE", "marketplaces", "XX"),
    ({"asin": "B000000001", "marketplaces": [7]}, "INVALID_MARKETPLACE", "marketplaces", "7"),
    ({"asin": "B000000001", "marketplaces": "US"}, "INVALID_MARKETPLACE", "marketplaces", "US"),
    ({"asin": "B000000001", "marketplaces": []}, "REQUIRED", "marketplaces", None),
    ({"asin": "B000000001"}, "REQUIRED", "marketplaces", None),
    ({"asin": "B000000001", "title": "t" * 501, "marketplaces": ["US"]}, "TOO_LONG", "title", "t" * 20),
    ({"asin": "B000000001", "category": "c" * 201, "marketplaces": ["US"]}, "TOO_LONG", "category", "c" * 20),
    ({"asin": "B000000001", "title": 42, "marketplaces": ["US"]}, "INVALID_JSON", "title", "42"),
    ("B000000001", "INVALID_JSON", None, "B000000001"),
    (GOOD, "DUPLICATE_ASIN", "asin", "B000000009"),
])
def test_a_bad_json_item_is_reported_and_nothing_is_written(brand, owner_actor, item, code, field, value):
    # given: the bad item is the second
    before = written(brand)

    # when
    refused = refusal(brand, owner_actor, items=[GOOD, item])

    # then
    [error] = refused.errors
    assert (error.code, error.field, error.line) == (code, field, 2)
    if value is not None:
        assert value in error.detail
    assert written(brand) == before


@pytest.mark.parametrize(("line", "code", "field", "value"), [
    ("B0000001,,,,US", "INVALID_ASIN", "asin", "B0000001"),
    (",,,,US", "REQUIRED", "asin", None),
    ("B000000001,GC1,,,US", "INVALID_GCID", "gcid", "GC1"),
    ("B000000001,,,,US;ZZ", "INVALID_MARKETPLACE", "marketplaces", "ZZ"),
    ("B000000001,,,,", "REQUIRED", "marketplaces", None),
    ("B000000001,,,,;", "REQUIRED", "marketplaces", None),
    (f"B000000001,,{'t' * 501},,US", "TOO_LONG", "title", "ttt"),
    ("B000000001,,,US", "INVALID_CSV", None, "4 cells"),
    ("B000000001,,,,US,extra", "INVALID_CSV", None, "6 cells"),
    ("B000000009,,,,US", "DUPLICATE_ASIN", "asin", "B000000009"),
])
def test_a_bad_csv_line_is_reported_with_its_line_number(brand, owner_actor, line, code, field, value):
    # given: the header is line 1, a good line 2, the bad one line 3
    before = written(brand)

    # when
    refused = refusal(brand, owner_actor, csv_text=f"{HEADER}\nB000000009,,,,US\n{line}\n")

    # then
    [error] = refused.errors
    assert (error.code, error.field, error.line) == (code, field, 3)
    if value is not None:
        assert value in error.detail
    assert written(brand) == before


def test_every_error_of_every_line_is_reported(brand, owner_actor):
    # when
    refused = refusal(brand, owner_actor, items=[
        {"asin": "bad", "gcid": "bad", "marketplaces": ["XX", "YY"]},
        GOOD,
        {"asin": "B000000001", "title": "t" * 600, "marketplaces": []},
    ])

    # then
    assert [(e.line, e.code, e.field) for e in refused.errors] == [
        (1, "INVALID_ASIN", "asin"), (1, "INVALID_GCID", "gcid"),
        (1, "INVALID_MARKETPLACE", "marketplaces"), (1, "INVALID_MARKETPLACE", "marketplaces"),
        (3, "TOO_LONG", "title"), (3, "REQUIRED", "marketplaces"),
    ]
    assert [e.marketplace for e in refused.errors[2:4]] == ["XX", "YY"]
    assert refused.errors[4].asin == "B000000001"


@pytest.mark.parametrize(("csv_text", "problem"), [
    ("asin,gcid,title,category\nB000000001,,,\n", "missing marketplaces"),
    ("asin,title,marketplaces\nB000000001,,US\n", "missing gcid, category"),
    (f"{HEADER},price\nB000000001,,,,US,9\n", "unknown price"),
    (f"{HEADER},asin\n", "repeated asin"),
    ("", "empty"),
    ("\n\n", "empty"),
])
def test_a_bad_header_is_one_error_on_line_1(brand, owner_actor, csv_text, problem):
    # when
    refused = refusal(brand, owner_actor, csv_text=csv_text)

    # then
    [error] = refused.errors
    assert (error.code, error.line) == ("INVALID_CSV", 1)
    assert problem in error.detail


@pytest.mark.parametrize("source", [{"items": []}, {"csv_text": f"{HEADER}\n"}])
def test_an_empty_import_is_refused(brand, owner_actor, source):
    # when / then
    assert refusal(brand, owner_actor, **source).code == "REQUIRED"


@pytest.mark.parametrize("items", [{"asin": "B000000001"}, "B000000001", 42])
def test_json_that_is_not_a_list_is_refused(brand, owner_actor, items):
    # when / then
    assert refusal(brand, owner_actor, items=items).code == "INVALID_JSON"


def test_more_than_the_maximum_of_items_is_refused(brand, owner_actor):
    # given
    items = [GOOD] * (MAX_IMPORT_ITEMS + 1)
    csv_text = HEADER + "\n" + "B000000001,,,,US\n" * (MAX_IMPORT_ITEMS + 1)

    # when
    from_json = refusal(brand, owner_actor, items=items)
    from_csv = refusal(brand, owner_actor, csv_text=csv_text, partial=True)

    # then
    assert from_json.code == from_csv.code == "TOO_MANY_ITEMS"
    assert from_csv.errors[0].line == MAX_IMPORT_ITEMS + 2
    assert written(brand) == (0, 0)


def test_a_huge_csv_field_is_refused_cleanly(brand, owner_actor):
    # given: a 1 MB title, beyond what the csv module reads
    csv_text = f"{HEADER}\nB000000001,,,,US\nB000000002,,{'x' * 1_000_000},,US\n"

    # when
    refused = refusal(brand, owner_actor, csv_text=csv_text, partial=True)

    # then
    [error] = refused.errors
    assert (error.code, error.line) == ("INVALID_CSV", 3)
    assert len(error.detail) < 200
    assert written(brand) == (0, 0)


def test_a_huge_json_field_is_refused_without_echoing_it(brand, owner_actor):
    # when
    refused = refusal(brand, owner_actor, items=[
        {"asin": "B000000001", "title": "x" * 1_000_000, "marketplaces": ["US"]}])

    # then
    [error] = refused.errors
    assert (error.code, error.field) == ("TOO_LONG", "title")
    assert "1000000 characters" in error.detail
    assert len(error.detail) < 200


def test_a_stray_quote_swallowing_the_file_is_refused(brand, owner_actor):
    # given: an unterminated quote on line 2
    csv_text = f'{HEADER}\nB000000001,,"Kettle,Toys,US\nB000000002,,Mug,Toys,US\n'

    # when
    refused = refusal(brand, owner_actor, csv_text=csv_text)

    # then
    [error] = refused.errors
    assert (error.code, error.line) == ("INVALID_CSV", 2)


def test_exactly_one_source_is_taken(brand, owner_actor):
    # when / then
    with pytest.raises(TypeError):
        services.asins_import(actor=owner_actor, brand=brand, items=[GOOD], csv_text=HEADER)


# -- partial -------------------------------------------------------------------------------------

def test_partial_imports_the_good_lines_and_returns_the_errors(brand, owner_actor):
    # given
    csv_text = f"{HEADER}\nB000000001,,,,US\nB00BAD,,,,US\nB000000002,,,,XX\nB000000003,,,,DE\nB000000001,,,,FR\n"

    # when
    result = services.asins_import(actor=owner_actor, brand=brand, csv_text=csv_text, partial=True)

    # then
    assert result.created == ["B000000001", "B000000003"]
    assert [(e.line, e.code) for e in result.errors] == [
        (3, "INVALID_ASIN"), (4, "INVALID_MARKETPLACE"), (6, "DUPLICATE_ASIN")]
    assert set(Asin.objects.filter(brand=brand).values_list("asin", flat=True)) == {"B000000001", "B000000003"}
    assert presences("B000000001") == {"US": PresenceStatus.UNVERIFIED}
    assert len(events(brand, "asin.created")) == 2


def test_partial_with_no_good_line_writes_nothing(brand, owner_actor):
    # when
    result = services.asins_import(actor=owner_actor, brand=brand, items=[{"asin": "nope"}], partial=True)

    # then
    assert (result.created, [e.code for e in result.errors]) == ([], ["INVALID_ASIN", "REQUIRED"])
    assert written(brand) == (0, 0)


# -- authority -----------------------------------------------------------------------------------

def test_a_manager_imports(brand, manager, as_actor, marketplaces):
    # when
    result = services.asins_import(actor=as_actor(manager), brand=brand, items=[GOOD])

    # then
    assert result.created == ["B000000009"]
    assert events(brand, "asin.created")[0].actor == "manny"


@pytest.mark.parametrize(("who", "refused_with"), [
    ("viewer", NotAllowed), ("stranger", NotFound), ("ops_user", NotAllowed),
])
def test_who_may_not_import(brand, as_actor, marketplaces, request, who, refused_with):
    # given
    user = request.getfixturevalue(who)

    # when / then: refused before the input is even read
    with pytest.raises(refused_with):
        services.asins_import(actor=as_actor(user), brand=brand, items="not even a list")
    assert written(brand) == (0, 0)


# -- cost ----------------------------------------------------------------------------------------

def test_a_large_import_takes_a_bounded_number_of_queries(brand, owner_actor, is_postgres,
                                                          django_assert_max_num_queries):
    # given: 1,000 ASINs already in the catalog, 2,000 rows (1,000 updates, 1,000 new)
    services.asins_import(actor=owner_actor, brand=brand, items=[
        {"asin": f"B{n:09d}", "marketplaces": ["US"]} for n in range(1000)])
    items = [{"asin": f"B{n:09d}", "title": f"Item {n}", "marketplaces": ["US", "DE"]} for n in range(2000)]

    # when: PostgreSQL writes each table in one statement; Django 5.2 caps SQLite statements at
    # 999 parameters, so there the same work takes more (but still a constant number of) batches
    with django_assert_max_num_queries(20 if is_postgres else 100):
        result = services.asins_import(actor=owner_actor, brand=brand, items=items)

    # then
    assert (len(result.created), len(result.updated)) == (1000, 1000)
    assert AsinMarketplace.objects.filter(asin__brand=brand).count() == 4000
    assert len(events(brand, "asin.updated")) == 1000
