"""Everything that talks to Amazon's Selling Partner API (and the fake server that stands in
for it in tests and the demo). The only package that imports ``sp_api``.

- :mod:`spapi_client.operations` — typed operations (participations, health report, catalog,
  offers, listings restrictions, OAuth code exchange, consent URL) and their parsers;
- :mod:`spapi_client.client` — the seller connection, library clients, status checks, retries;
- :mod:`spapi_client.ratelimit` — token buckets per (selling partner, operation) in Redis;
- :mod:`spapi_client.errors` — the typed failures (transient or final);
- :mod:`spapi_client.fake` — the fake SP-API server (``manage.py fake_spapi``).

Kept import-light: nothing here is imported when Django loads the app.
"""
