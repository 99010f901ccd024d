"""The intake with its blobs on an S3-compatible server: parts sealed, streamed into the bucket."""

from __future__ import annotations

from pathlib import Path

import httpx

from events.ledger import Ledger
from events.settings import LedgerSettings
from events.vault import KeyStore, LocalKeyFile, Vault
from services.intake.http import create_app
from tests.support.blobs import S3Server, s3_backend, s3_server
from tests.support.factories import sha512, xdomea_sample
from tests.support.intake import assert_problem, multipart, submission_count
from tests.support.pipeline import auth, intake_settings

__all__ = ["s3_server"]

DATA = xdomea_sample()
ATTACHMENT_ID = "3f1c9a52-7a0e-4c55-9a43-1b2f3e4d5a61"
BIG = bytes(range(256)) * (12 * 4096 + 7)  # ~12 MiB: several S3 parts


async def test_multipart_parts_are_streamed_into_the_bucket(
    s3_server: S3Server, tmp_path: Path
) -> None:
    backend = s3_backend(s3_server)
    ledger = Ledger(LedgerSettings(data_dir=tmp_path))
    keys = KeyStore.sqlite(tmp_path / "keys.sqlite3", LocalKeyFile.create(tmp_path / "kek.json"))
    vault = Vault(keys, backend.store)
    settings = intake_settings(port=0).model_copy(update={"max_attachment_bytes": len(BIG)})
    app = create_app(ledger, vault, settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            files = multipart(DATA, attachments=[(ATTACHMENT_ID, BIG)])
            accepted = await client.post("/v1/submissions", files=files, headers=auth())
            assert accepted.status_code == 202, accepted.text

            bigger = BIG + b"!"  # one byte over the part limit, in the last S3 part
            refused = await client.post(
                "/v1/submissions",
                files=multipart(DATA, attachments=[(ATTACHMENT_ID, bigger)]),
                headers=auth(),
            )
            assert_problem(refused, 413, "payload-too-large")
        assert submission_count(ledger) == 1
        [submission_id] = list(ledger.submission_ids())
        received = ledger.get_submission(submission_id)
        assert vault.read(submission_id, received.attachments[0]["blob"]) == BIG
        assert vault.read(submission_id, received.data["blob"]) == DATA
        assert received.attachments[0]["sha512"] == sha512(BIG)
        assert BIG[:4096] not in backend.store.read(received.attachments[0]["blob"])  # sealed
        assert list(backend.store.groups()) == [str(submission_id)]  # the refused: discarded
        assert backend.leftovers() == []
    finally:
        ledger.close()
