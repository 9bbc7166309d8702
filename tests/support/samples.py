"""The real responses of a WordPress + WooCommerce + LifterLMS site (`tests/fixtures/samples/`, see its
README): what the sandbox's shapes and the payload builders are compared with."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples"
GMT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
MONEY_RE = re.compile(r"^-?\d+\.\d{2}$")


def sample(name: str) -> dict[str, Any]:
    """One captured response: `request`, `status`, `headers` and `body`."""
    data: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return data
