"""Initial schema: organisations, qualités, persons, roles, senders, channels, sync, intake."""

from __future__ import annotations

from typing import Any

from store.db import run_sql

STATEMENTS = [
    """CREATE TABLE organisation (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        kbo TEXT NOT NULL UNIQUE,
        created_on DATE NOT NULL)""",
    """CREATE TABLE qualite (
        id INTEGER PRIMARY KEY,
        organisation_id INTEGER NOT NULL REFERENCES organisation (id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        onss_number TEXT,
        created_on DATE NOT NULL)""",
    "CREATE INDEX qualite_organisation ON qualite (organisation_id)",
    """CREATE TABLE person (
        id INTEGER PRIMARY KEY,
        login TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT 'Mr',
        first_name TEXT NOT NULL,
        last_name TEXT NOT NULL,
        language TEXT NOT NULL DEFAULT 'fr',
        email TEXT NOT NULL DEFAULT '',
        phone TEXT NOT NULL DEFAULT '',
        password_changed_at DATETIME NOT NULL,
        created_at DATETIME NOT NULL)""",
    "CREATE INDEX person_last_name ON person (last_name COLLATE NOCASE)",
    "CREATE INDEX person_email ON person (email COLLATE NOCASE)",
    """CREATE TABLE login_failure (
        login TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        last_at DATETIME NOT NULL)""",
    """CREATE TABLE role (
        id INTEGER PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
        qualite_id INTEGER NOT NULL REFERENCES qualite (id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        UNIQUE (person_id, qualite_id))""",
    "CREATE INDEX role_qualite ON role (qualite_id)",
    """CREATE TABLE application (
        code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        file_codes TEXT NOT NULL,
        position INTEGER NOT NULL)""",
    """CREATE TABLE sender (
        id INTEGER PRIMARY KEY,
        qualite_id INTEGER NOT NULL UNIQUE REFERENCES qualite (id),
        number INTEGER NOT NULL UNIQUE,
        technical_user TEXT NOT NULL UNIQUE,
        registered_on DATE NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        deleted_at DATETIME)""",
    """CREATE TABLE contact_person (
        id INTEGER PRIMARY KEY,
        sender_id INTEGER NOT NULL UNIQUE REFERENCES sender (id) ON DELETE CASCADE,
        last_name TEXT NOT NULL,
        first_name TEXT NOT NULL,
        title TEXT NOT NULL,
        function TEXT NOT NULL,
        language TEXT NOT NULL,
        phone TEXT NOT NULL,
        fax TEXT NOT NULL DEFAULT '',
        mobile TEXT NOT NULL DEFAULT '',
        email1 TEXT NOT NULL DEFAULT '',
        email2 TEXT NOT NULL DEFAULT '',
        email3 TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE channel (
        id INTEGER PRIMARY KEY,
        sender_id INTEGER NOT NULL REFERENCES sender (id),
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        connection_type TEXT NOT NULL DEFAULT 'Internet',
        ssh_key TEXT,
        ssh_fingerprint TEXT,
        certificate BLOB,
        mq_queue_manager TEXT,
        mq_queue TEXT,
        provisioned_key TEXT,
        provisioned_at DATETIME,
        created_at DATETIME NOT NULL,
        activated_at DATETIME,
        deleted_at DATETIME)""",
    "CREATE INDEX channel_sender ON channel (sender_id)",
    "CREATE INDEX channel_status ON channel (status)",
    """CREATE UNIQUE INDEX channel_one_live_per_kind ON channel (sender_id, kind)
        WHERE status != 'deleted'""",
    """CREATE TABLE channel_application (
        id INTEGER PRIMARY KEY,
        channel_id INTEGER NOT NULL REFERENCES channel (id) ON DELETE CASCADE,
        application_code TEXT NOT NULL REFERENCES application (code),
        preferred INTEGER NOT NULL DEFAULT 0,
        UNIQUE (channel_id, application_code))""",
    """CREATE TABLE sync_cycle (
        id INTEGER PRIMARY KEY,
        slot DATETIME NOT NULL UNIQUE,
        owner TEXT NOT NULL,
        lease_until DATETIME NOT NULL,
        started_at DATETIME NOT NULL,
        finished_at DATETIME,
        status TEXT NOT NULL,
        provisioned INTEGER NOT NULL DEFAULT 0,
        details TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE batch_set (
        id INTEGER PRIMARY KEY,
        sender_id INTEGER NOT NULL REFERENCES sender (id),
        channel_id INTEGER REFERENCES channel (id),
        go_name TEXT NOT NULL,
        folder TEXT NOT NULL,
        env TEXT NOT NULL,
        purpose TEXT NOT NULL,
        file_date TEXT NOT NULL,
        sequence TEXT NOT NULL,
        files TEXT NOT NULL,
        total_bytes INTEGER NOT NULL DEFAULT 0,
        result INTEGER,
        errors TEXT NOT NULL DEFAULT '[]',
        ticket TEXT,
        ack_name TEXT,
        received_at DATETIME NOT NULL,
        processed_at DATETIME)""",
    "CREATE INDEX batch_set_sender ON batch_set (sender_id, received_at)",
    "CREATE INDEX batch_set_name ON batch_set (sender_id, file_date, sequence, env)",
    """CREATE TABLE audit_entry (
        id INTEGER PRIMARY KEY,
        at DATETIME NOT NULL,
        person_id INTEGER REFERENCES person (id) ON DELETE SET NULL,
        qualite_id INTEGER REFERENCES qualite (id) ON DELETE SET NULL,
        action TEXT NOT NULL,
        details TEXT NOT NULL DEFAULT '{}')""",
    "CREATE INDEX audit_entry_qualite ON audit_entry (qualite_id, at)",
    """CREATE TABLE setting (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL)""",
    """CREATE TABLE routing_choice (
        id INTEGER PRIMARY KEY,
        qualite_id INTEGER NOT NULL REFERENCES qualite (id) ON DELETE CASCADE,
        flow TEXT NOT NULL,
        recipient TEXT NOT NULL,
        channel_kind TEXT NOT NULL,
        UNIQUE (qualite_id, flow))""",
    """CREATE TABLE person_certificate (
        id INTEGER PRIMARY KEY,
        person_id INTEGER NOT NULL UNIQUE REFERENCES person (id) ON DELETE CASCADE,
        der BLOB NOT NULL,
        registered_at DATETIME NOT NULL)""",
]

APPLICATIONS = [
    ("dmfa", "Déclaration multifonctionnelle DmfA", "DMFA,DMWA,DMRQ", 1),
    ("drs", "Déclaration des risques sociaux", "WECH,AOAT,ZIMA", 2),
    ("chomage", "Chômage temporaire", "TWCT", 3),
    ("dimona", "DIMONA V2: Déclaration Immédiate à l'emploi", "DIMN", 4),
    ("chantier", "Déclaration unique de chantier", "DUCN", 5),
]


def up(migrator: Any, db: Any) -> None:
    for statement in STATEMENTS:
        run_sql(db, statement)
    for row in APPLICATIONS:
        run_sql(
            db,
            "INSERT INTO application (code, name, file_codes, position) VALUES (?, ?, ?, ?)",
            row,
        )
