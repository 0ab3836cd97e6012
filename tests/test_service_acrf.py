"""Answers as the real service sends them: ``FO.ACRF`` + ``FS.ACRF`` (a detached CMS
signature by the service's own certificate) + ``GO.ACRF`` written last, in the OUT folder;
the certificate made on first start and kept, or given by the operator, and published in
the database."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from peewee import SqliteDatabase

from store.democreds import DemoCredentials
from store.service_certificate import published, service_certificate
from store.signing import same_certificate, verify_detached
from sync.intake.acrf import (
    Acknowledgement,
    ack_companions,
    parse_acrf,
    publish,
    stage_acrf,
    sync_files,
    write_acrf,
)
from sync.intake.prepare import write_set
from sync.service_signer import (
    SERVICE_CERT_NAME,
    SERVICE_KEY_NAME,
    ServiceSignerError,
    load_or_create_service_signer,
)
from sync.services import ServiceConfig, Services
from tests.service_support import USER, Provisioned, provisioned_services
from tests.support.credentials import signing_pair
from tests.support.sftp import sftp

ACK = Acknowledgement("GO.DMFA.123456.20260115.00001.T.1", "000000000042", 0, ("ACRF-125",))

pytestmark = pytest.mark.both_backends


def test_write_acrf_writes_the_xml_its_signature_and_the_go(tmp_path: Path) -> None:
    signer = load_or_create_service_signer(tmp_path / "c.cer", tmp_path / "k.key")
    target = tmp_path / "OUTTEST" / "FO.ACRF.999999.20260115.00003.T"
    target.parent.mkdir()
    written: list[str] = []

    def signing(data: bytes) -> bytes:
        written.append(",".join(sorted(os.listdir(target.parent))))
        return signer.sign(data)

    write_acrf(target, ACK, signing, tmp_path / "staging")
    fs, go = ack_companions(target.name)
    assert (fs, go) == ("FS.ACRF.999999.20260115.00003.T", "GO.ACRF.999999.20260115.00003.T")
    assert sorted(os.listdir(target.parent)) == sorted([target.name, fs, go])
    assert written == [""]  # no name appears before every file is written and synced
    assert (target.parent / go).read_bytes() == b""
    xml = target.read_bytes()
    assert parse_acrf(xml) == ACK
    signer_cert = verify_detached((target.parent / fs).read_bytes(), xml)
    assert same_certificate(signer_cert, signer.certificate)
    assert [p.name for p in (tmp_path / "staging").iterdir()] == []  # nothing left behind


def test_a_staged_acrf_appears_in_order_the_go_last(tmp_path: Path) -> None:
    signer = load_or_create_service_signer(tmp_path / "c.cer", tmp_path / "k.key")
    target = tmp_path / "OUTTEST" / "FO.ACRF.999999.20260115.00004.T"
    target.parent.mkdir()
    staged = stage_acrf(target, ACK, signer.sign, tmp_path / "staging")
    fs, go = ack_companions(target.name)
    assert [final.name for _, final in staged.files] == [target.name, fs, go]
    assert [p.parent.name for p in staged.data_files] == ["staging", "staging"]  # not the GO
    assert os.listdir(target.parent) == []
    sync_files(staged.data_files)
    publish(staged)
    assert sorted(os.listdir(target.parent)) == sorted([target.name, fs, go])
    assert parse_acrf(target.read_bytes()) == ACK
    assert os.listdir(tmp_path / "staging") == []


def test_without_a_signer_only_the_xml_is_written(tmp_path: Path) -> None:
    target = tmp_path / "FO.ACRF.999999.20260115.00001.T"
    write_acrf(target, ACK)
    assert os.listdir(tmp_path) == [target.name]


def test_the_certificate_is_made_once_and_kept(tmp_path: Path) -> None:
    first = load_or_create_service_signer(tmp_path / SERVICE_CERT_NAME, tmp_path / SERVICE_KEY_NAME)
    assert stat.S_IMODE((tmp_path / SERVICE_KEY_NAME).stat().st_mode) == 0o600
    again = load_or_create_service_signer(tmp_path / SERVICE_CERT_NAME, tmp_path / SERVICE_KEY_NAME)
    assert first.der == again.der
    usage = first.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment


def test_a_certificate_given_by_the_operator_is_used_as_it_is(
    tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    given = load_or_create_service_signer(
        demo_credentials.certificate_pem, demo_credentials.certificate_key, create=False
    )
    assert given.der == demo_credentials.certificate_der.read_bytes()
    with pytest.raises(ServiceSignerError, match="not a certificate"):
        load_or_create_service_signer(
            demo_credentials.certificate_key, demo_credentials.certificate_key, create=False
        )
    encrypted, other_kind = tmp_path / "encrypted.key", tmp_path / "ed25519.key"
    encrypted.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    other_kind.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    for key, words in ((encrypted, "encrypted; decrypt it first"), (other_kind, "RSA or EC")):
        with pytest.raises(ServiceSignerError, match=words):
            load_or_create_service_signer(demo_credentials.certificate_pem, key, create=False)
    missing = tmp_path / "nowhere.cer"
    with pytest.raises(ServiceSignerError, match=r"nowhere\.cer"):
        Services(
            ServiceConfig(
                homes_root=tmp_path / "homes",
                port=0,
                host_key_path=tmp_path / "host_key",
                service_cert_path=missing,
                service_key_path=demo_credentials.certificate_key,
            )
        )
    assert not missing.exists()  # an operator's path is never made up


@pytest.fixture
def running(
    demo: SqliteDatabase, demo_credentials: DemoCredentials, tmp_path: Path
) -> Iterator[Provisioned]:
    yield from provisioned_services(demo_credentials, tmp_path)


def test_the_service_answers_with_a_signed_acrf_closed_by_a_go(
    running: Provisioned, demo_credentials: DemoCredentials
) -> None:
    cert, key = signing_pair(demo_credentials)
    outbox = running.work / "outbox"
    prepared = write_set(
        outbox,
        [b"<DmfA/>\n"],
        purpose="DMFA",
        sender=running.sender_number,
        date=f"{date.today():%Y%m%d}",
        sequence=1,
        env="T",
        cert=cert,
        key=key,
    )
    commands = "cd INTEST\n" + "".join(f'put "{p}"\n' for p in prepared.paths)
    result = sftp(running.port, demo_credentials.ssh_private_key, USER, commands)
    assert result.returncode == 0, result.stderr
    assert running.services.intake.wait_idle(30)

    names = sorted(os.listdir(running.home / "OUTTEST"))
    assert [n.split(".")[0] for n in names] == ["FO", "FS", "GO"]
    inbox = running.work / "inbox"
    inbox.mkdir()
    got = sftp(
        running.port,
        demo_credentials.ssh_private_key,
        USER,
        "cd OUTTEST\n" + "".join(f"get {n}\n" for n in names),
        cwd=inbox,
    )
    assert got.returncode == 0, got.stderr
    xml = (inbox / names[0]).read_bytes()
    assert parse_acrf(xml).accepted
    signer = verify_detached((inbox / names[1]).read_bytes(), xml)
    der = published()
    assert der is not None and same_certificate(signer, x509.load_der_x509_certificate(der))
    assert (running.work / SERVICE_CERT_NAME).is_file()  # next to the host key
    shown = service_certificate()
    assert shown is not None and shown.der == der
    assert shown.summary.owner.startswith("Expedito")
