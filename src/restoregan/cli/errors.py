"""Errors a user causes reach the terminal as one clear message, not a stack trace.

Two layers, both in this module:

- `user_errors` wraps a script's task function (inside ``@hydra.main``): an error the
  user's input or settings caused prints ``error: <message>`` and exits 1.
- `run_main` runs the ``@hydra.main`` function itself (``run_main(main)`` instead of
  ``main()``), so that what Hydra reports before the task starts (an unknown config choice,
  an unknown key, a bad override) is one message too, instead of Hydra's search-path dump.

What counts as a user error is decided by the exception's type (and, for plain
``ValueError``/``FileNotFoundError``, where it was raised), never by its text; Hydra's
``InstantiationException`` wrapping is unwrapped to the root cause first. Anything else
is a bug and keeps its traceback. ``HYDRA_FULL_ERROR=1`` or ``RESTOREGAN_TRACEBACK=1``
shows the traceback of user errors too.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from hydra.core.hydra_config import HydraConfig
from hydra.errors import (
    CompactHydraException,
    HydraException,
    InstantiationException,
    MissingConfigException,
    OverrideParseException,
)
from hydra.types import RunMode
from omegaconf.errors import (
    InterpolationResolutionError,
    MissingMandatoryValue,
    OmegaConfBaseException,
    ValidationError,
)

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("restoregan")

# Set by `run_main` next to HYDRA_FULL_ERROR (which it sets so that Hydra raises its
# errors for us to print): tells this process and its children (DDP re-runs the script)
# that the user did not ask for tracebacks.
_SET_BY_US = "_RESTOREGAN_SET_HYDRA_FULL_ERROR"
# Config errors that mean a value the user has to give or fix.
_CONFIG_ERRORS = (MissingMandatoryValue, InterpolationResolutionError, ValidationError)


class UserError(CompactHydraException):
    """A user error carried out of a job of a ``-m`` sweep: Hydra records that job as
    failed (a ``SystemExit`` would end the whole sweep) and prints this message without a
    traceback when the sweep reports it."""


def show_tracebacks() -> bool:
    """True when the user asked for full tracebacks (RESTOREGAN_TRACEBACK=1 or
    HYDRA_FULL_ERROR=1, the latter unless `run_main` set it itself)."""
    if os.environ.get("RESTOREGAN_TRACEBACK", "") not in ("", "0"):
        return True
    return os.environ.get("HYDRA_FULL_ERROR") == "1" and not os.environ.get(_SET_BY_US)


def root_cause(err: BaseException) -> BaseException:
    """The error under Hydra's wrapping: ``instantiate`` re-raises whatever a constructor
    raised as an ``InstantiationException`` ``from`` it."""
    seen: set[int] = set()
    while isinstance(err, (InstantiationException, UserError)) and err.__cause__ is not None:
        if id(err) in seen:
            break
        seen.add(id(err))
        err = err.__cause__
    return err


def _raised_in(err: BaseException) -> str:
    """The module whose code raised `err` (the innermost frame of its traceback)."""
    tb = err.__traceback__
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    return str(tb.tb_frame.f_globals.get("__name__", ""))


# The suite's own code: the package, and the reproductions in the top-level experiments/.
OUR_PACKAGES = ("restoregan", "experiments")


def _ours(module: str) -> bool:
    return module == "__main__" or module.split(".")[0] in OUR_PACKAGES


def is_user_error(err: BaseException) -> bool:
    """Whether `err` was caused by the user's input or settings (see the module doc).

    User errors: restoregan's own error classes (subclasses of ValueError / OSError /
    RuntimeError, raised with a message for the user); Hydra's config errors (an unknown
    choice or key, a bad override or ``_target_``); a ``???`` value left unset or an
    interpolation that does not resolve; a plain ``ValueError`` or ``FileNotFoundError``
    raised by restoregan's code, or a ``ValueError`` / ``FileNotFoundError`` /
    ``TypeError`` raised while ``instantiate`` builds a config node (the constructor
    rejected its settings: Lightning's Trainer refusing ``trainer.precision=17``, an
    argument the class does not take); an ``ImportError`` from Hydra locating a
    ``_target_`` that does not exist.
    """
    root = root_cause(err)
    wrapped = root is not err
    origin = _raised_in(root)
    if isinstance(root, UserError):
        return True
    if isinstance(root, HydraException):
        return True  # composition, override and instantiation errors of the config itself
    if isinstance(root, _CONFIG_ERRORS):
        return True
    if type(root).__module__.split(".")[0] in OUR_PACKAGES and isinstance(
        root, (ValueError, OSError, RuntimeError)
    ):
        return True
    if isinstance(root, OmegaConfBaseException):
        return False  # any other config access error is the code's
    if isinstance(root, (ValueError, FileNotFoundError)):
        return wrapped or _ours(origin)
    if isinstance(root, TypeError):
        return wrapped  # a constructor called with an argument it does not take
    if isinstance(root, (ImportError, AttributeError)):
        return wrapped and origin.split(".")[0] == "hydra"  # a `_target_` that does not exist
    return False


def _missing_choice(err: MissingConfigException) -> str:
    missing = err.missing_cfg_file or ""
    group, _, name = missing.rpartition("/")
    if not group or not err.options:
        return str(err).split("\n\nConfig search path", 1)[0].strip()
    options = sorted(err.options)
    close = difflib.get_close_matches(name, options, n=1)
    found = f"there is no conf/{group}/{name}.yaml" if name else "no choice was given"
    return f"{group}={name}: {found}. The choices for {group} are: {', '.join(options)}. " + (
        f"Did you mean {group}={close[0]}?" if close else f"Pick one, e.g. {group}={options[0]}."
    )


def _config_node(err: BaseException) -> str:
    """`<key> (<target>)` of the config node whose construction failed, for the message.

    Hydra states both only inside the text of its wrapping exception (never used to
    decide anything here, only shown)."""
    text = str(err)
    key = re.search(r"full_key: (\S+)", text)
    target = re.search(r"target '([^']+)'", text)
    parts = [f"`{key.group(1)}`" if key else "", f"({target.group(1)})" if target else ""]
    return " ".join(p for p in parts if p)


def user_message(err: BaseException) -> str:
    """The one message printed for a user error: what was expected, found, what to do."""
    root = root_cause(err)
    if isinstance(root, UserError):
        return str(root)
    if isinstance(root, MissingConfigException):
        return _missing_choice(root)
    if isinstance(root, OverrideParseException):
        detail = root.message.split("See https://", 1)[0].strip()
        return (
            f"could not read the command-line setting {root.override!r}: {detail}. Quote a "
            "value holding brackets, commas or spaces, e.g. 'key=\"a value\"'."
        )
    if isinstance(root, MissingMandatoryValue):
        key = root.full_key or root.key or "a value"
        return (
            f"{key} is required and not set (it is ??? in the config); give it on the "
            f"command line, e.g. {key}=<value>"
        )
    if isinstance(root, OmegaConfBaseException):
        where = f" (config key {root.full_key})" if root.full_key else ""
        return f"{str(root.msg or root).splitlines()[0]}{where}"
    if isinstance(root, HydraException):
        text = str(root).strip()
        cause = root.__cause__
        if isinstance(cause, OmegaConfBaseException):
            text += f" ({str(cause.msg or cause).splitlines()[0]})"
        return text.replace("\n", " ")
    text = str(root).strip() or type(root).__name__
    own = type(root).__module__.split(".")[0] in OUR_PACKAGES
    if root is not err and not own:
        node = _config_node(err) or "a config node"
        return (
            f"the settings of {node} were rejected: {type(root).__name__}: {text}\n"
            "Fix that setting on the command line (HYDRA_FULL_ERROR=1 shows the traceback)."
        )
    return text


def _in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def report(err: BaseException) -> None:
    """Print a user error as ``error: <message>`` on stderr."""
    print(f"error: {user_message(err)}", file=sys.stderr, flush=True)


def user_errors(fn: F) -> F:
    """Print user errors (`is_user_error`) as one message and exit 1, not a traceback.

    Inside a ``-m`` sweep the job fails alone: the message is logged and a `UserError`
    raised, which Hydra records as the job's failure (exiting would stop the sweep).
    Set RESTOREGAN_TRACEBACK=1 or HYDRA_FULL_ERROR=1 to see the full trace.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            if show_tracebacks() or not is_user_error(err):
                raise
            if _in_multirun():
                message = user_message(err)
                log.error("job failed: %s", message)
                raise UserError(message) from err
            report(err)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def run_main(main: Callable[[], Any]) -> None:
    """Call a ``@hydra.main`` function (`main()`), printing Hydra's own config errors (an
    unknown choice with the available ones, an unknown key, a bad override) and user
    errors that reach this far (the failed job of a sweep) as one message, exit 1.

    Hydra prints its errors itself unless HYDRA_FULL_ERROR=1; this sets it (marked as
    ours, so `show_tracebacks` stays false) to get them as exceptions instead.
    """
    quiet = not show_tracebacks()
    if quiet and os.environ.get("HYDRA_FULL_ERROR") != "1":
        os.environ["HYDRA_FULL_ERROR"] = "1"
        os.environ[_SET_BY_US] = "1"
    try:
        main()
    except Exception as err:
        if not quiet or not is_user_error(err):
            raise
        report(err)
        sys.exit(1)
