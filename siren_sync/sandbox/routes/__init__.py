"""The sandbox's routes, one module per REST namespace; `ROUTES` is the one table the dispatcher reads."""
from __future__ import annotations

from siren_sync.sandbox.rest import Route
from siren_sync.sandbox.routes import control, ldlms, llms, siren, wc, wp

ROUTES: tuple[Route, ...] = (*wp.ROUTES, *wc.ROUTES, *llms.ROUTES, *ldlms.ROUTES, *siren.ROUTES, *control.ROUTES)
