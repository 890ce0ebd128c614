"""What the PostgreSQL store's errors mean to the matcher: retry, reject, or stop."""

from __future__ import annotations

from sqlalchemy.exc import DataError, DBAPIError, OperationalError, ProgrammingError

from services.store.outcomes import ContentRefused, StoreUnavailable
from services.store.postgres import translated


def test_an_unreachable_database_is_unavailable() -> None:
    meaning = translated(OperationalError("INSERT", {}, Exception("server closed the connection")))
    assert isinstance(meaning, StoreUnavailable)
    assert "server closed the connection" in str(meaning)


def test_a_socket_error_is_unavailable() -> None:
    assert isinstance(translated(ConnectionRefusedError(111, "refused")), StoreUnavailable)


def test_any_error_that_invalidated_the_connection_is_unavailable() -> None:
    error = DBAPIError("INSERT", {}, Exception("gone"), connection_invalidated=True)
    assert isinstance(translated(error), StoreUnavailable)


def test_content_postgresql_cannot_hold_is_refused_with_its_reason() -> None:
    meaning = translated(DataError("INSERT", {}, Exception("value too long")))
    assert isinstance(meaning, ContentRefused)
    assert str(meaning) == "PostgreSQL refused to store it: value too long"


def test_other_errors_are_lasting_faults() -> None:
    error = ProgrammingError("INSERT", {}, Exception('relation "findings" does not exist'))
    assert translated(error) is None
