"""Where the SDK and CLI keep the server URL and API token.

The file is ``$PETAPORT_CONFIG_DIR/config.json`` (default ``~/.config/petaport/config.json``),
written atomically with mode 0600 in a 0700 directory because it holds a secret. The
environment variables ``PETAPORT_URL`` and ``PETAPORT_TOKEN`` override what the file says; the
environment is read when a function is called, never at import time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from petaport.client.errors import ConfigError

DEFAULT_URL = "http://127.0.0.1:8000"
CONFIG_DIR_ENV = "PETAPORT_CONFIG_DIR"
URL_ENV = "PETAPORT_URL"
TOKEN_ENV = "PETAPORT_TOKEN"  # noqa: S105 (the variable's name, not a secret)


@dataclass(frozen=True)
class ClientConfig:
    """A server URL and, once logged in, an API token (and its id, to revoke it on logout)."""

    url: str = DEFAULT_URL
    token: str | None = None
    token_id: str | None = None
    username: str | None = None


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """The config file for this environment."""
    env = os.environ if env is None else env
    base = env.get(CONFIG_DIR_ENV)
    directory = Path(base) if base else Path.home() / ".config" / "petaport"
    return directory / "config.json"


def load_stored(env: Mapping[str, str] | None = None) -> ClientConfig:
    """What the config file says, ignoring environment overrides (defaults when absent)."""
    path = config_path(env)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ClientConfig()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"cannot read {path}: not a JSON object")
    fields = {k: v for k, v in raw.items() if k in ClientConfig.__dataclass_fields__}
    if not all(isinstance(v, str | None) for v in fields.values()):
        raise ConfigError(f"cannot read {path}: values must be strings")
    return ClientConfig(**fields)


def load_config(env: Mapping[str, str] | None = None) -> ClientConfig:
    """The effective config: the file, then ``PETAPORT_URL`` / ``PETAPORT_TOKEN`` on top."""
    env = os.environ if env is None else env
    config = load_stored(env)
    if env.get(URL_ENV):
        config = replace(config, url=env[URL_ENV])
    if env.get(TOKEN_ENV):
        config = replace(config, token=env[TOKEN_ENV], token_id=None, username=None)
    return config


def save_config(config: ClientConfig, env: Mapping[str, str] | None = None) -> Path:
    """Write ``config`` atomically, readable by the owner only; returns the path."""
    path = config_path(env)
    tmp = path.with_suffix(".json.tmp")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(asdict(config), f, indent=2)
            f.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc}") from exc
    return path


def clear_token(env: Mapping[str, str] | None = None) -> ClientConfig:
    """Forget the stored token (keeping the URL); returns what was stored before."""
    before = load_stored(env)
    save_config(ClientConfig(url=before.url), env)
    return before
