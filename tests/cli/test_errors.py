"""Which errors are the user's (one message) and which are bugs (a traceback), in-process.

The same cases through the scripts, as a user meets them, are in tests/test_user_errors.py.
"""

from __future__ import annotations

import pytest
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from restoregan.cli.errors import (
    UserError,
    is_user_error,
    root_cause,
    show_tracebacks,
    user_errors,
    user_message,
)
from restoregan.data.datamodule import evenly_spaced
from restoregan.data.io import ImageReadError


def raises_value_error(**_: object) -> None:
    raise ValueError("raised by code outside restoregan")


def raises_key_error(**_: object) -> None:
    raise KeyError("a bug")


def caught(fn, *args, **kwargs) -> BaseException:
    try:
        fn(*args, **kwargs)
    except Exception as err:
        return err
    raise AssertionError("expected an exception")


@pytest.fixture(autouse=True)
def _no_traceback_switches(monkeypatch) -> None:
    for name in ("RESTOREGAN_TRACEBACK", "HYDRA_FULL_ERROR", "_RESTOREGAN_SET_HYDRA_FULL_ERROR"):
        monkeypatch.delenv(name, raising=False)


def test_restoregan_errors_and_plain_value_errors_of_restoregan_code_are_the_users() -> None:
    assert is_user_error(ImageReadError("Cannot read image 'x.png'"))
    # evenly_spaced raises a plain ValueError: ours, so a message for the user.
    assert is_user_error(caught(evenly_spaced, [1, 2, 3], 0))
    # The same type raised by code outside restoregan (a library, a test) is not.
    assert not is_user_error(caught(raises_value_error))
    assert not is_user_error(caught(raises_key_error))


def test_instantiate_wrapping_is_unwrapped_to_the_root_cause() -> None:
    target = f"{__name__}.raises_value_error"
    err = caught(instantiate, {"_target_": target, "x": 1})
    assert isinstance(err, InstantiationException)
    assert isinstance(root_cause(err), ValueError)
    # A constructor that rejects its settings while a config node is built: the user's.
    assert is_user_error(err)
    message = user_message(err)
    assert "raised by code outside restoregan" in message and target in message
    # A bug inside a constructor (KeyError) stays a bug.
    assert not is_user_error(caught(instantiate, {"_target_": f"{__name__}.raises_key_error"}))


def test_config_mistakes_are_the_users() -> None:
    missing_target = caught(instantiate, {"_target_": "restoregan.nope.Nothing"})
    assert is_user_error(missing_target)
    unknown_arg = caught(
        instantiate, {"_target_": "restoregan.data.datamodule.evenly_spaced", "itemz": [1]}
    )
    assert is_user_error(unknown_arg) and "itemz" in user_message(unknown_arg)
    unset = caught(instantiate, {"_target_": "builtins.dict", "root": "???"})
    assert is_user_error(unset)
    assert user_message(unset).startswith("root is required and not set")


def test_decorator_prints_one_message_and_exits_1(capsys) -> None:
    @user_errors
    def task() -> None:
        raise ImageReadError("Cannot read image 'x.png': expected a readable image")

    with pytest.raises(SystemExit) as exit_info:
        task()
    assert exit_info.value.code == 1
    assert (
        capsys.readouterr().err == "error: Cannot read image 'x.png': expected a readable image\n"
    )


def test_bugs_and_requested_tracebacks_propagate(monkeypatch) -> None:
    @user_errors
    def buggy() -> None:
        raise KeyError("generator")

    with pytest.raises(KeyError):
        buggy()

    @user_errors
    def bad_input() -> None:
        raise ImageReadError("bad")

    for name in ("RESTOREGAN_TRACEBACK", "HYDRA_FULL_ERROR"):
        monkeypatch.setenv(name, "1")
        assert show_tracebacks()
        with pytest.raises(ImageReadError):
            bad_input()
        monkeypatch.delenv(name)
    # HYDRA_FULL_ERROR set by run_main itself (marked) is not a request for tracebacks.
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    monkeypatch.setenv("_RESTOREGAN_SET_HYDRA_FULL_ERROR", "1")
    assert not show_tracebacks()


def test_user_error_of_a_sweep_job_is_a_user_error_with_its_message() -> None:
    err = UserError("input=x does not exist")
    err.__cause__ = ImageReadError("input=x does not exist")
    assert is_user_error(err) and user_message(err) == "input=x does not exist"


def test_a_bad_override_names_it() -> None:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    err = caught(OverridesParser.create().parse_overrides, ["input=[a"])
    assert is_user_error(err)
    message = user_message(err)
    assert message.startswith("could not read the command-line setting 'input=[a'")
    assert "See https://" not in message
