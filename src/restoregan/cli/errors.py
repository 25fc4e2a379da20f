"""Errors a user causes reach the terminal as one clear line, not a stack trace."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def is_user_error(err: BaseException) -> bool:
    """Errors restoregan raises on purpose carry a message written for the user."""
    return type(err).__module__.startswith("restoregan") and isinstance(
        err, (ValueError, OSError, RuntimeError)
    )


def user_errors(fn: F) -> F:
    """Print restoregan's own errors as one clear message (exit 1) instead of a stack trace.

    Set RESTOREGAN_TRACEBACK=1 to see the full trace.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            if not is_user_error(err) or os.environ.get("RESTOREGAN_TRACEBACK"):
                raise
            print(f"error: {err}", file=sys.stderr)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]
