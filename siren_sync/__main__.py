"""`python -m siren_sync` runs the command line."""
from siren_sync.cli import main

raise SystemExit(main())
