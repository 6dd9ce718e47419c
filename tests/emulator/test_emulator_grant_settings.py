"""Emulator.env(grant=...), the user-grant settings and their checks, and ``genesys-auth emulator --grant``."""

from __future__ import annotations

import io
import math
import threading

import pytest

from genesys_auth_adapter.cli import build_parser
from genesys_auth_adapter.cli import emulator as emulator_command
from genesys_auth_adapter.emulator import Emulator, serve_forever

from .userflow import (
    TIMEOUT,
    api,
    assert_oauth_error,
    authorize,
    code_exchange,
    code_grant_code,
    new_verifier,
    pkce_code,
    pkce_exchange,
    redirect_params,
    s256,
    saml2,
    token,
)


def test_env_default_is_the_client_credentials_client(genesys_emulator):
    env = genesys_emulator.env()
    assert env == {
        "GENESYS_CLIENT_ID": "emulator-client",
        "GENESYS_CLIENT_SECRET": "emulator-secret",
        "GENESYS_LOGIN_URL": genesys_emulator.login_url,
        "GENESYS_API_URL": genesys_emulator.api_url,
    }


def test_env_of_each_grant(genesys_emulator):
    urls = {"GENESYS_LOGIN_URL": genesys_emulator.login_url, "GENESYS_API_URL": genesys_emulator.api_url}

    assert genesys_emulator.env("pkce") == {
        "GENESYS_GRANT": "pkce",
        "GENESYS_CLIENT_ID": "emulator-pkce-client",
        "GENESYS_REDIRECT_URI": "http://127.0.0.1/callback",
        **urls,
    }
    assert genesys_emulator.env(grant="code") == {
        "GENESYS_GRANT": "code",
        "GENESYS_CLIENT_ID": "emulator-code-client",
        "GENESYS_CLIENT_SECRET": "emulator-code-secret",
        "GENESYS_REDIRECT_URI": "http://127.0.0.1/callback",
        **urls,
    }
    assert genesys_emulator.env("saml2") == {
        "GENESYS_GRANT": "saml2",
        "GENESYS_CLIENT_ID": "emulator-saml2-client",
        "GENESYS_CLIENT_SECRET": "emulator-saml2-secret",
        "GENESYS_ORG_NAME": "emulated-org",
        "GENESYS_SAML2_ASSERTION": genesys_emulator.saml_assertion(),
        **urls,
    }


def test_the_variables_of_each_grant_log_in(genesys_emulator):
    assert pkce_exchange(genesys_emulator, pkce_code(genesys_emulator)).status_code == 200
    assert code_exchange(genesys_emulator, code_grant_code(genesys_emulator)).status_code == 200
    assert saml2(genesys_emulator).status_code == 200


@pytest.mark.parametrize("grant", ["password", "implicit", "client_credentials", ""])
def test_env_refuses_other_grants(genesys_emulator, grant):
    with pytest.raises(ValueError, match="grant must be"):
        genesys_emulator.env(grant)


def test_the_first_registered_redirect_uri_is_in_env(genesys_emulator_factory):
    emu = genesys_emulator_factory(redirect_uris="http://127.0.0.1:7000/done")
    assert emu.env("code")["GENESYS_REDIRECT_URI"] == "http://127.0.0.1:7000/done"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"consent": "maybe"}, "consent must be one of auto, form, deny"),
        ({"redirect_uris": []}, "at least one redirect URI"),
        ({"redirect_uris": ["ftp://127.0.0.1/x"]}, "absolute http"),
        ({"redirect_uris": ["/callback"]}, "absolute http"),
        ({"redirect_uris": ["http://127.0.0.1/cb#frag"]}, "without a fragment"),
        ({"redirect_uris": [7]}, "must be a string"),
        ({"loopback_any_port": "yes"}, "loopback_any_port must be True or False"),
        ({"pkce_refresh_tokens": 1}, "pkce_refresh_tokens must be True or False"),
        ({"login_user": -1}, "login_user must be a whole number"),
        ({"idle_timeout": 0}, "idle_timeout must be a finite number"),
        ({"idle_timeout": math.nan}, "idle_timeout must be a finite number"),
        ({"idle_timeout": 28801}, "idle_timeout must be a finite number"),
    ],
)
def test_bad_settings_are_refused_by_name(settings, message):
    with pytest.raises(ValueError, match=message):
        Emulator(**settings)


def test_set_idle_timeout_checks_its_range(genesys_emulator):
    with pytest.raises(ValueError, match="idle_timeout"):
        genesys_emulator.set_idle_timeout(-5)


def test_repr_and_counters_hide_refresh_tokens_and_secrets(genesys_emulator):
    body = code_exchange(genesys_emulator, code_grant_code(genesys_emulator)).json()
    shown = repr(genesys_emulator) + repr(genesys_emulator.counters()) + repr(genesys_emulator._grants)
    assert body["refresh_token"] not in shown
    assert "emulator-code-secret" not in shown and "emulator-saml2-secret" not in shown


class _StopOnFlush(io.StringIO):
    """Stops the emulator from another thread once serve_forever has printed its lines."""

    def __init__(self, emu: Emulator) -> None:
        super().__init__()
        self.emu = emu
        self.stopper: threading.Thread | None = None

    def flush(self) -> None:
        super().flush()
        if self.getvalue() and self.stopper is None:
            self.stopper = threading.Thread(target=self.emu.stop)
            self.stopper.start()


def test_serve_forever_prints_the_variables_of_a_grant():
    emu = Emulator()
    out = _StopOnFlush(emu)

    serve_forever(emu, out, "pkce")

    assert out.stopper is not None
    out.stopper.join(TIMEOUT)
    lines = out.getvalue().splitlines()
    assert "export GENESYS_GRANT=pkce" in lines
    assert "export GENESYS_CLIENT_ID=emulator-pkce-client" in lines
    assert not any(line.startswith("export GENESYS_CLIENT_SECRET=") for line in lines)


def test_cli_grant_and_user_grant_options_reach_the_emulator(monkeypatch):
    seen: list[tuple[Emulator, str | None]] = []
    monkeypatch.setattr(emulator_command, "serve_forever", lambda emu, out, grant=None: seen.append((emu, grant)))
    args = build_parser().parse_args(["emulator", "--grant", "pkce", "--consent", "deny", "--idle-timeout", "2"])

    assert emulator_command.run(args) == 0

    emu, grant = seen[0]
    assert grant == "pkce"
    with emu:
        denied = authorize(
            emu,
            client_id="emulator-pkce-client",
            response_type="code",
            redirect_uri="http://127.0.0.1:1/callback",
            code_challenge=s256(new_verifier()),
            code_challenge_method="S256",
        )
        assert redirect_params(denied)["error"] == "access_denied"
        assert_oauth_error(saml2(emu, assertion="AAAA"), "invalid_grant")
        cc_token = token(emu, {"grant_type": "client_credentials"}, ("emulator-client", "emulator-secret"))
        timeout = api(emu, "GET", "/api/v2/tokens/timeout", cc_token.json()["access_token"]).json()
        assert timeout == {"idleTokenTimeoutSeconds": 2, "enableIdleTokenTimeout": True}


@pytest.mark.parametrize("argv", [["--grant", "password"], ["--consent", "later"], ["--idle-timeout", "0"]])
def test_cli_refuses_bad_grant_options(capsys, argv):
    from genesys_auth_adapter.cli import main

    assert main(["emulator", *argv]) == 2
