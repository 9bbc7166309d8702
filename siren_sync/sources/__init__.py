"""Adapters that read what happened on the site and turn it into events."""
