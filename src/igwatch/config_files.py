"""Reading the server's TOML configuration files (users, SMART registrations, single sign-on) and
the client identity the OAuth ones share: one way to fail, a one-line message naming the file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from igwatch.errors import IgwatchError

KEY_ALGORITHMS = ("RS384", "ES384")


def read_toml(path: Path, what: str, error: type[IgwatchError]) -> dict[str, Any]:
    """The file's tables, or ``error`` saying the file is missing or not TOML."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise error(f"{path}: not a readable TOML file ({exc})") from None


def text_value(
    entry: dict[str, Any], key: str, where: str, error: type[IgwatchError], *, required: bool = True
) -> str | None:
    """A non-empty string setting (stripped); None when optional and absent."""
    value = entry.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise error(f"{where}: {key} must be a non-empty string")
    return value.strip()


@dataclass(frozen=True, kw_only=True)
class OAuthClient:
    """How igwatch is known to an authorization server: a client id and a secret, a private key
    (private-key JWT) or neither (a public client, PKCE alone)."""

    client_id: str
    client_secret: str | None = None
    private_key_pem: str | None = None
    key_id: str | None = None
    key_algorithm: str = "RS384"

    @property
    def auth_method(self) -> str:
        """How igwatch authenticates at the token endpoint."""
        if self.private_key_pem:
            return "private_key_jwt"
        return "client_secret_basic" if self.client_secret else "none"


def oauth_client(entry: dict[str, Any], path: Path, where: str, error: type[IgwatchError]) -> dict[str, Any]:
    """The :class:`OAuthClient` fields of a table (``client_id``, ``client_secret`` or
    ``private_key_file`` read beside ``path``, ``key_id``, ``key_algorithm``)."""
    secret = text_value(entry, "client_secret", where, error, required=False)
    key_file = text_value(entry, "private_key_file", where, error, required=False)
    if secret and key_file:
        raise error(f"{where}: give client_secret or private_key_file, not both")
    pem = None
    if key_file:
        key_path = Path(key_file) if Path(key_file).is_absolute() else path.parent / key_file
        try:
            pem = key_path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            raise error(f"{where}: private_key_file {key_file} cannot be read") from None
        if "PRIVATE KEY" not in pem:
            raise error(f"{where}: private_key_file {key_file} is not a PEM private key")
    algorithm = text_value(entry, "key_algorithm", where, error, required=False) or "RS384"
    if algorithm not in KEY_ALGORITHMS:
        raise error(f"{where}: key_algorithm must be one of {', '.join(KEY_ALGORITHMS)}")
    return {
        "client_id": text_value(entry, "client_id", where, error) or "",
        "client_secret": secret,
        "private_key_pem": pem,
        "key_id": text_value(entry, "key_id", where, error, required=False),
        "key_algorithm": algorithm,
    }
