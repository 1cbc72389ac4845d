"""Shared helpers for the config tests."""

from __future__ import annotations

import pytest

from damaris_ref.core.config import ConfigError


def check_error(
    error: ConfigError, file: str, path: str, line: int | None, *fragments: str
) -> None:
    """Assert a ConfigError names the file, key path and line, and says every fragment."""
    message = str(error)
    assert (error.file, error.path, error.line) == (file, path, line), message
    where = f"{file}:{line}" if line is not None else file
    expected_start = f"{where}: {path}: " if path else f"{where}: "
    assert message.startswith(expected_start), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.fixture
def expect_error():
    """``expect_error(error, file, path, line, *fragments)``: see :func:`check_error`."""
    return check_error
