"""Token authentication for the API, its one query prepared on PostgreSQL.

On the check (the hot path), building and planning ``select_related("user").get(key=...)`` cost
more than running it, so the lookup is a statement prepared once per connection. The answers are
DRF's: an unknown token or an inactive user is refused, every time (nothing is cached).
"""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS
from django.utils.translation import gettext_lazy
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from .db import PreparedQuery


def _user_columns() -> list[str]:
    return [f.column for f in get_user_model()._meta.concrete_fields]


def _token_sql() -> str:
    User = get_user_model()
    columns = ", ".join(f"u.{c}" for c in _user_columns())
    return (f"SELECT t.created, {columns} FROM {Token._meta.db_table} t "
            f"JOIN {User._meta.db_table} u ON u.{User._meta.pk.column} = t.user_id WHERE t.key = $1")


TOKEN_QUERY = PreparedQuery("sellerauth_token", ("text",), _token_sql)


class PreparedTokenAuthentication(TokenAuthentication):
    """DRF's TokenAuthentication with its lookup prepared (PostgreSQL); the ORM elsewhere."""

    def authenticate_credentials(self, key):
        if not PreparedQuery.available():
            return super().authenticate_credentials(key)
        rows = TOKEN_QUERY.fetchall([key])
        if not rows:
            raise exceptions.AuthenticationFailed(gettext_lazy("Invalid token."))
        created, *values = rows[0]
        User = get_user_model()
        user = User.from_db(DEFAULT_DB_ALIAS, [f.attname for f in User._meta.concrete_fields], values)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(gettext_lazy("User inactive or deleted."))
        token = Token(key=key, user=user, created=created)
        token._state.adding, token._state.db = False, DEFAULT_DB_ALIAS
        return user, token
