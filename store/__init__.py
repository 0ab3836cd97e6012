"""Expedito's domain: the peewee model, its rules and the service functions.

Headless: never imports Textual. Service functions return frozen dataclasses.
"""

from store.lazy_psycopg import import_peewee_without_psycopg

import_peewee_without_psycopg()  # only a PostgreSQL database loads psycopg (store.postgres)
