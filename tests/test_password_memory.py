"""A password check's 16 MiB (scrypt) is given back, and a login derives one key, not two.

glibc raises its threshold for mapping a block on its own to the size of the first large
block freed: after one password check, each later one made in a worker thread was carved
from that thread's arena and stayed resident for the rest of the process (16 MiB a check,
at every login and password change; ``sync/memory.py``). And ``store.access`` derived a
dummy hash when imported, at the first login: that was the first check, the login's own the
second, kept.
"""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest
from peewee import SqliteDatabase

from store.access import authenticate
from store.errors import AuthenticationFailed
from store.passwords import hash_password, unmatchable_hash, verify_password
from tests.support.repo import ROOT

CHECKS_IN_THREADS = """
import threading
from store.passwords import hash_password, verify_password
from sync.memory import map_large_blocks_apart

def resident_mib():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024

map_large_blocks_apart()  # as the app does first (tui.app.run_app)
stored = hash_password("first")  # the first large block freed
before = resident_mib()
for _ in range(3):  # a login and a password change, each in a worker thread
    thread = threading.Thread(target=verify_password, args=("other", stored))
    thread.start()
    thread.join()
print(resident_mib() - before)
"""

COUNT_AT_IMPORT = """
import hashlib
calls = []
derive = hashlib.scrypt
hashlib.scrypt = lambda *args, **kwargs: (calls.append(1), derive(*args, **kwargs))[1]
import store.access
print(len(calls))
"""


@pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="glibc's malloc and its thresholds; reads /proc"
)
def test_password_checks_in_worker_threads_give_their_memory_back() -> None:
    grown = float(_last_word(CHECKS_IN_THREADS, timeout=120))
    assert grown < 4, f"three checks left {grown:.1f} MiB resident (16 MiB a check before)"


def test_the_login_module_derives_no_key_when_imported() -> None:
    assert _last_word(COUNT_AT_IMPORT, timeout=60) == "0"


def test_an_unknown_login_costs_one_derivation_like_a_known_one(
    demo: SqliteDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    calls: list[int] = []
    derive = hashlib.scrypt

    def counted(*args: object, **kwargs: object) -> bytes:
        calls.append(int(kwargs["n"]))  # type: ignore[call-overload]
        return derive(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hashlib, "scrypt", counted)
    assert authenticate("dieter", "demo").person.login == "dieter"
    with pytest.raises(AuthenticationFailed):
        authenticate("nobody", "demo")
    assert len(calls) == 2 and calls[0] == calls[1]  # the same cost: the same parameters


def test_no_password_matches_the_unmatchable_hash() -> None:
    dummy = unmatchable_hash()
    assert dummy.split("$")[:4] == hash_password("x").split("$")[:4]  # today's parameters
    assert not verify_password("", dummy)
    assert not verify_password("not a password of anyone", dummy)


def _last_word(script: str, timeout: float) -> str:
    """The last word ``script`` prints, run in a fresh interpreter (a process of its own:
    its memory and its imports are its own)."""
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return run.stdout.split()[-1]
