"""Development keys in the data dir: made once on first need, shared by threads and processes."""

from __future__ import annotations

import json
import multiprocessing
import stat
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from contracts.keys import generate_keys
from receiver.keys import Decrypter, Signer
from services.delivery import dev_keys
from services.delivery.crypto import JweSealer, verify_signed_receipt
from services.delivery.dev_keys import DevelopmentKeyError, DevelopmentKeys
from services.delivery.recipients import Recipient, Recipients
from services.routing.keys import PRIVATE_MEMBERS, check_jwk
from tests.support.authority import HANNOVER, KOELN, encryption_key, public

FAST_BITS = 2048


def _pair_of(folder: str, authority_id: str, start_at: float) -> tuple[str, str]:
    """In another process: wait for the common start, then ask for the keys."""
    time.sleep(max(0.0, start_at - time.time()))
    pair = DevelopmentKeys(Path(folder)).get(authority_id)
    return pair.encryption["n"], pair.signing["n"]


def test_keys_are_made_on_first_need_and_kept_privately(tmp_path: Path) -> None:
    keys = DevelopmentKeys(tmp_path / "authority-keys")
    assert keys.find(KOELN) is None
    assert not (tmp_path / "authority-keys").exists()  # nothing made at start

    pair = keys.get(KOELN)

    path = tmp_path / "authority-keys" / f"{KOELN}.jwk.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    stored = json.loads(path.read_text())
    assert stored["encryption"] == pair.encryption
    assert "d" in stored["encryption"]
    assert stored["signing"] == pair.signing
    assert "d" in stored["signing"]
    assert check_jwk(json.loads(pair.encryption_jwk), "encryption") == []
    assert check_jwk(json.loads(pair.verification_jwk), "verification") == []
    assert DevelopmentKeys(path.parent).get(KOELN) == pair  # another process reads the same
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_threads_asking_at_once_make_one_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []

    def counted(kid: str, rsa_bits: int = FAST_BITS) -> dict[str, dict[str, Any]]:
        made.append(kid)
        return generate_keys(kid, rsa_bits)

    monkeypatch.setattr(dev_keys, "generate_keys", counted)
    keys = DevelopmentKeys(tmp_path)
    start = threading.Barrier(8)
    pairs = []

    def ask() -> None:
        start.wait()
        pairs.append(keys.get(KOELN))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert made == [f"{KOELN}-dev"]
    assert len(pairs) == 8
    assert all(pair == pairs[0] for pair in pairs)


def test_processes_asking_at_once_all_use_the_first_writers_keys(tmp_path: Path) -> None:
    start_at = time.time() + 2.0  # after every process has imported what it needs
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=3, mp_context=context) as pool:
        futures = [pool.submit(_pair_of, str(tmp_path), KOELN, start_at) for _ in range(3)]
        answers = [future.result(timeout=60) for future in futures]

    on_disk = DevelopmentKeys(tmp_path).get(KOELN)
    assert answers == [(on_disk.encryption["n"], on_disk.signing["n"])] * 3
    assert [p.name for p in tmp_path.iterdir()] == [f"{KOELN}.jwk.json"]


def test_a_process_that_loses_the_race_takes_the_winners_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = generate_keys
    winners = []

    def another_process_writes_first(kid: str, rsa_bits: int) -> dict[str, dict[str, Any]]:
        monkeypatch.setattr(dev_keys, "generate_keys", original)
        winners.append(DevelopmentKeys(tmp_path).get(KOELN))
        return original(kid, rsa_bits)  # this process's keys: made, but too late

    monkeypatch.setattr(dev_keys, "generate_keys", another_process_writes_first)
    loser = DevelopmentKeys(tmp_path).get(KOELN)

    assert loser == winners[0]
    assert [p.name for p in tmp_path.iterdir()] == [f"{KOELN}.jwk.json"]


def test_a_damaged_key_file_or_an_odd_id_is_an_error(tmp_path: Path) -> None:
    keys = DevelopmentKeys(tmp_path)
    (tmp_path / f"{KOELN}.jwk.json").write_text('{"encryption": {"kty": "RSA"}}')
    with pytest.raises(DevelopmentKeyError, match=KOELN):
        keys.get(KOELN)
    with pytest.raises(DevelopmentKeyError, match="not an authority id"):
        keys.get("../etc/passwd")


def test_recipients_in_development_complete_missing_keys_with_public_halves(
    tmp_path: Path,
) -> None:
    keys = DevelopmentKeys(tmp_path)
    own = json.dumps(public(encryption_key()))
    handover = Recipient("amtsweg-st", handover_url="https://st.example", handover_token="t")
    known = Recipients(
        [Recipient(KOELN), Recipient(HANNOVER, encryption_jwk=own), handover],
        development_keys=keys,
    )
    assert known.has_encryption_key(KOELN)
    assert known.has_verification_key(KOELN)
    assert keys.find(KOELN) is None  # asking whether makes nothing

    koeln = known.get(KOELN)
    hannover = known.get(HANNOVER)

    assert koeln is not None
    assert hannover is not None
    pair = keys.get(KOELN)
    assert (koeln.encryption_jwk, koeln.verification_jwk) == (
        pair.encryption_jwk,
        pair.verification_jwk,
    )
    assert not PRIVATE_MEMBERS & set(json.loads(koeln.encryption_jwk or "{}"))
    assert hannover.encryption_jwk == own  # the directory's key stays
    assert hannover.verification_jwk == keys.get(HANNOVER).verification_jwk
    assert known.get("amtsweg-st") == handover  # handed over: no envelope, no keys
    assert not known.has_encryption_key("amtsweg-st")
    assert known.coverage().without_encryption == 1  # the directory's own keys only


def test_outside_development_recipients_say_which_authorities_lack_keys() -> None:
    known = Recipients([Recipient(KOELN), Recipient(HANNOVER, encryption_jwk="{}")])
    assert not known.has_encryption_key(KOELN)
    assert known.has_encryption_key(HANNOVER)
    assert not known.has_verification_key(HANNOVER)
    assert not known.has_encryption_key("unknown-authority")
    coverage = known.coverage()
    assert (coverage.authorities, coverage.without_encryption) == (2, 1)
    assert coverage.without_verification == 2
    assert known.get(KOELN) == Recipient(KOELN)  # no keys made up


def test_what_delivery_seals_the_receiver_opens_and_what_it_signs_delivery_verifies(
    tmp_path: Path,
) -> None:
    pair = DevelopmentKeys(tmp_path).get(KOELN)
    sealed = JweSealer(json.loads(pair.encryption_jwk)).seal(b"<antrag/>", "application/xml")
    assert Decrypter(pair.encryption).decrypt(sealed) == b"<antrag/>"
    signed = Signer(pair.signing).sign(b'{"outcome": "accepted"}')
    assert verify_signed_receipt(signed, json.loads(pair.verification_jwk))
