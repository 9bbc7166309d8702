"""Pure domain code: scores, pools, splits and periods. No I/O here."""
