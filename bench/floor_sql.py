"""The floor's query: exactly the statement the check sends to PostgreSQL for the grant (the
product's SQL text, prepared once per connection and executed per call, as the product does)."""
import weakref

from authorizations.selectors import CHECK_QUERY

_prepared: weakref.WeakSet = weakref.WeakSet()  # driver connections holding the statement


def fetch_one(connection, seller_id: str, asin: str, marketplace: str):
    with connection.cursor() as cursor:
        raw = connection.connection
        if raw not in _prepared:
            cursor.execute(f"PREPARE floor_check (text, text, text, bigint[]) AS {CHECK_QUERY._sql()}")
            _prepared.add(raw)
        cursor.execute("EXECUTE floor_check (%s, %s, %s, NULL)", [seller_id, asin, marketplace])
        return cursor.fetchone()
