"""Expedito's domain: the peewee model, its rules and the service functions.

Headless: never imports Textual. Service functions return frozen dataclasses.
"""

from store.lazy_psycopg import import_peewee

import_peewee()  # without psycopg: only a PostgreSQL database loads it (store.postgres)
