"""peewee models, mirroring the schema built by ``store/migrations``.

Rows never leave ``store``: service functions convert them to frozen dataclasses.
"""

from __future__ import annotations

from typing import Any

from peewee import (
    BlobField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)
from playhouse.hybrid import hybrid_property

from store.db import db
from store.fields import FlagField
from store.text import person_search_text

# Roles of a person in a qualité.
GESTIONNAIRE = "gestionnaire_local"
CO_GESTIONNAIRE = "co_gestionnaire_local"
UTILISATEUR = "utilisateur"
ROLES = (GESTIONNAIRE, CO_GESTIONNAIRE, UTILISATEUR)
MANAGER_ROLES = (GESTIONNAIRE, CO_GESTIONNAIRE)
# The service's own operators (*Exploitation*): a role in the service's own qualité, not one a
# local manager can give.
EXPLOITATION = "exploitation"

# Kinds of qualité.
EMPLOYEUR_ONSS = "employeur_onss"
SECRETARIAT_SOCIAL = "secretariat_social"
PRESTATAIRE = "prestataire_services"
SERVICE = "service"  # the service's own qualité, where its operators have their role

# Channels.
SFTP, FTP, MQLINK, WEBSERVICE = "SFTP", "FTP", "MQLINK", "WEBSERVICE"
CHANNEL_KINDS = (SFTP, FTP, MQLINK, WEBSERVICE)
PENDING, ACTIVE, DELETED = "pending", "active", "deleted"


class BaseModel(Model):
    id: int  # the implicit AutoField (declared for type checkers only)

    class Meta:
        database = db
        legacy_table_names = False


class Organisation(BaseModel):
    name = TextField()
    kbo = CharField(unique=True)
    created_on = DateField()


class Qualite(BaseModel):
    organisation_id: int
    organisation = ForeignKeyField(Organisation, backref="qualites", on_delete="CASCADE")
    kind = CharField()
    onss_number = CharField(null=True)
    created_on = DateField()


class Person(BaseModel):
    login = CharField(unique=True)
    password_hash = TextField()
    title = CharField(default="Mr")
    first_name = TextField()
    last_name = TextField()
    language = CharField(default="fr")
    email = TextField(default="")
    phone = TextField(default="")
    password_changed_at = DateTimeField()
    created_at = DateTimeField()
    search_text = TextField(default="")  # kept by save(): store.text.person_search_text

    def save(self, *args: Any, **kwargs: Any) -> int:
        self.search_text = person_search_text(
            self.last_name, self.first_name, self.login, self.email
        )
        return int(super().save(*args, **kwargs))


class LoginFailure(BaseModel):
    login = CharField(primary_key=True)
    count = IntegerField()
    last_at = DateTimeField()


class Role(BaseModel):
    person_id: int
    qualite_id: int
    person = ForeignKeyField(Person, backref="roles", on_delete="CASCADE")
    qualite = ForeignKeyField(Qualite, backref="roles", on_delete="CASCADE")
    role = CharField()


class Application(BaseModel):
    code = CharField(primary_key=True)
    name = TextField()
    file_codes = TextField()
    position = IntegerField()


class Sender(BaseModel):
    qualite_id: int
    qualite = ForeignKeyField(Qualite, backref="senders", unique=True)
    number = IntegerField(unique=True)
    technical_user = CharField(unique=True)
    registered_on = DateField()
    active = FlagField(default=True)
    deleted_at = DateTimeField(null=True)


class ContactPerson(BaseModel):
    sender_id: int
    sender = ForeignKeyField(Sender, backref="contacts", unique=True, on_delete="CASCADE")
    last_name = TextField()
    first_name = TextField()
    title = CharField()
    function = TextField()
    language = CharField()
    phone = TextField()
    fax = TextField(default="")
    mobile = TextField(default="")
    email1 = TextField(default="")
    email2 = TextField(default="")
    email3 = TextField(default="")


def _key_change_pending(row: Any) -> bool:
    """A live SFTP channel whose registered key is not the one the SFTP server accepts (none
    yet, or an older one) waits for the next cycle."""
    return bool(row.kind == SFTP and row.status != DELETED and row.provisioned_key != row.ssh_key)


def _key_change_pending_sql(model: Any) -> Any:
    """``_key_change_pending`` as a condition (SQL's ``!=`` is not true for NULL)."""
    return (
        (model.kind == SFTP)
        & (model.status != DELETED)
        & (model.provisioned_key.is_null() | (model.provisioned_key != model.ssh_key))
    )


class Channel(BaseModel):
    sender_id: int
    applications: Any  # backref to ChannelApplication
    sender = ForeignKeyField(Sender, backref="channels")
    kind = CharField()
    status = CharField()
    connection_type = CharField(default="Internet")
    ssh_key = TextField(null=True)
    ssh_fingerprint = TextField(null=True)
    certificate = BlobField(null=True)
    mq_queue_manager = TextField(null=True)
    mq_queue = TextField(null=True)
    provisioned_key = TextField(null=True)
    provisioned_at = DateTimeField(null=True)
    created_at = DateTimeField()
    activated_at = DateTimeField(null=True)
    deleted_at = DateTimeField(null=True)

    # The one rule for re-keying (see ``_key_change_pending``): a bool on a row, a query
    # condition on ``Channel``.
    key_change_pending = hybrid_property(_key_change_pending, expr=_key_change_pending_sql)


class ChannelApplication(BaseModel):
    channel_id: int
    application_id: str
    channel = ForeignKeyField(Channel, backref="applications", on_delete="CASCADE")
    application = ForeignKeyField(
        Application, column_name="application_code", field="code", object_id_name="application_id"
    )
    preferred = FlagField(default=False)


class SyncCycle(BaseModel):
    slot = DateTimeField(unique=True)
    owner = TextField()
    lease_until = DateTimeField()
    started_at = DateTimeField()
    finished_at = DateTimeField(null=True)
    status = CharField()
    provisioned = IntegerField(default=0)
    details = TextField(default="")


class BatchSet(BaseModel):
    sender_id: int
    channel_id: int | None
    sender = ForeignKeyField(Sender, backref="batch_sets")
    channel = ForeignKeyField(Channel, null=True)
    go_name = TextField()
    folder = CharField()
    env = CharField()
    purpose = CharField()
    file_date = CharField()
    sequence = CharField()
    files = TextField()
    total_bytes = IntegerField(default=0)
    result = IntegerField(null=True)
    errors = TextField(default="[]")
    ticket = TextField(null=True)
    ack_name = TextField(null=True)
    received_at = DateTimeField()
    processed_at = DateTimeField(null=True)


class AuditEntry(BaseModel):
    person_id: int | None
    qualite_id: int | None
    at = DateTimeField()
    person = ForeignKeyField(Person, null=True, on_delete="SET NULL")
    qualite = ForeignKeyField(Qualite, null=True, on_delete="SET NULL")
    action = CharField()
    details = TextField(default="{}")


class Setting(BaseModel):
    key = CharField(primary_key=True)
    value = TextField()


class RoutingChoice(BaseModel):
    qualite_id: int
    qualite = ForeignKeyField(Qualite, backref="routing", on_delete="CASCADE")
    flow = CharField()
    recipient = CharField()
    channel_kind = CharField()


class PersonCertificate(BaseModel):
    person_id: int
    person = ForeignKeyField(Person, unique=True, on_delete="CASCADE")
    der = BlobField()
    registered_at = DateTimeField()


ALL_MODELS: tuple[type[BaseModel], ...] = (
    Organisation,
    Qualite,
    Person,
    LoginFailure,
    Role,
    Application,
    Sender,
    ContactPerson,
    Channel,
    ChannelApplication,
    SyncCycle,
    BatchSet,
    AuditEntry,
    Setting,
    RoutingChoice,
    PersonCertificate,
)
