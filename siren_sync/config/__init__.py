"""The configuration: YAML with `${VAR}` secrets, plus Siren recipe and distributor JSON as they are.

Every mistake is reported as one line, `<file>: <key path>: <problem>`, raised as `ConfigError`
before anything runs. The package reads downward: `types` (what a config is), `validate` (the
one-line-error kit), `read` (file -> data: YAML, JSON, `${VAR}`), `siren_json` (distributors and
recipes as Siren writes them), `load` (the sections and `load_config`). Other code imports from
here; the modules are the package's own business.
"""
from siren_sync.config.load import DEFAULT_PATH, load_config
from siren_sync.config.siren_json import builtin_recipes, load_distributor_json
from siren_sync.config.types import (
    Config,
    PayoutsConfig,
    PublishConfig,
    Secret,
    SiteConfig,
    SourceConfig,
    StoreConfig,
    SyncConfig,
)
from siren_sync.values import tzinfo_of

__all__ = ["DEFAULT_PATH", "Config", "PayoutsConfig", "PublishConfig", "Secret", "SiteConfig", "SourceConfig",
           "StoreConfig", "SyncConfig", "builtin_recipes", "load_config", "load_distributor_json", "tzinfo_of"]
