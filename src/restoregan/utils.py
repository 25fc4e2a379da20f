"""Small helpers shared by the command-line scripts in src/."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from hydra.utils import instantiate
from omegaconf import DictConfig

log = logging.getLogger("restoregan")
F = TypeVar("F", bound=Callable[..., Any])


def instantiate_dict(cfg: DictConfig | None) -> list[Any]:
    """Instantiate every `_target_` node of a dict-of-configs group (callbacks, loggers).

    Entries set to null are skipped, so `callbacks.sample_grid=null` switches one off.
    """
    if not cfg:
        return []
    return [instantiate(node) for node in cfg.values() if node is not None and "_target_" in node]


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
        import os

        try:
            return fn(*args, **kwargs)
        except Exception as err:
            if not is_user_error(err) or os.environ.get("RESTOREGAN_TRACEBACK"):
                raise
            print(f"error: {err}", file=sys.stderr)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]
