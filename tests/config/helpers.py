"""What the config tests share: a minimal valid config, dotted-path changes to it, and the one-line
error a file gives (always one line, starting with the file)."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from siren_sync.config import Config, load_config
from siren_sync.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
ALL_RECIPES = sorted((ROOT / "siren_sync" / "recipes").glob("*.json"))
RECIPES = [p for p in ALL_RECIPES if '"distributors"' in p.read_text()]  # the distributor recipes
PROGRAM_RECIPES = [p for p in ALL_RECIPES if p not in RECIPES]
EXAMPLE_ENV = {"SIREN_WP_USER": "admin", "SIREN_WP_APP_PASSWORD": "abcd efgh ijkl", "SIREN_WC_KEY": "ck_1",
               "SIREN_WC_SECRET": "cs_1"}
BASE = {
    "site": {"url": "https://shop.example.com", "timezone": "Europe/Paris",
             "woocommerce": {"consumer_key": "ck_1", "consumer_secret": "cs_1"}},
    "distributors": {"bonus": {"distributionResolver": "topScoreWins", "units": "USD",
                               "schedule": ["first day of next month"],
                               "engagementTypes": {"boundCouponUsed": 5}, "revenuePercentage": 10}},
}


def config(**changes: Any) -> dict[str, Any]:
    """BASE with dotted-path changes: config(**{"site.url": "x"}); a value of ... deletes the key."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = data
        for key in parents:
            node = node.setdefault(key, {})
        if value is ...:
            node.pop(last, None)
        else:
            node[last] = value
    return data


def write(tmp_path: Path, data: Any, name: str = "siren.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def load(tmp_path: Path, data: Any, env: dict[str, str] | None = None) -> Config:
    return load_config(write(tmp_path, data), env=env or {})


def error(tmp_path: Path, data: Any, env: dict[str, str] | None = None) -> str:
    """The message of the ConfigError loading `data` gives; always one line, starting with the file."""
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env or {})
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    return message
