"""camera credentials: sealed apart from the stream address

Revision ID: 0004_camera_credentials
Revises: 0003_evidence
Create Date: 2026-12-01

A stream address with a user name and password in it (``rtsp://admin:pw@host/…``) showed them to
every registry reader. The credentials move into ``cameras.stream_credentials``, sealed with
AES-256-GCM (``gwanje.core.crypto``, format ``v1``) under the credentials key
(``GWANJE_CREDENTIALS_KEY``, or derived from the secret key) and bound to the camera's management
number; the address keeps everything else. The key comes from the caller
(``gwanje.core.migrate.upgrade(credentials_key=…)``) or the environment's settings. Downgrading
puts them back into the address.
"""

import json
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import sqlalchemy as sa
from alembic import op

revision = "0004_camera_credentials"
down_revision = "0003_evidence"
branch_labels = None
depends_on = None

cameras = sa.table(
    "cameras",
    sa.column("id", sa.Integer),
    sa.column("management_number", sa.String),
    sa.column("stream_url", sa.String),
    sa.column("stream_credentials", sa.Text),
)


def _box():
    from gwanje.core.crypto import SecretBox

    key = op.get_context().config.attributes.get("credentials_key")
    if key is None:
        from gwanje.core.settings import Settings

        key = Settings().resolved_credentials_key()
    return SecretBox(key)


def _aad(management_number: str) -> bytes:
    return b"gwanje camera stream credentials:" + management_number.encode("utf-8")


def upgrade() -> None:
    op.add_column("cameras", sa.Column("stream_credentials", sa.Text(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(cameras.c.id, cameras.c.management_number, cameras.c.stream_url).where(
            cameras.c.stream_url.like("%@%")
        )
    ).all()
    box = None
    for camera_id, number, url in rows:
        parts = urlsplit(url)
        userinfo, at, hostport = parts.netloc.rpartition("@")
        if not at:
            continue
        bare = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
        username, colon, password = userinfo.partition(":")
        sealed = None
        if username:
            box = box or _box()
            payload = {"u": unquote(username), "p": unquote(password) if colon else None}
            sealed = box.seal(json.dumps(payload, ensure_ascii=False).encode("utf-8"), _aad(number))
        conn.execute(
            cameras.update().where(cameras.c.id == camera_id).values(stream_url=bare, stream_credentials=sealed)
        )


def downgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(cameras.c.id, cameras.c.management_number, cameras.c.stream_url, cameras.c.stream_credentials).where(
            cameras.c.stream_credentials.is_not(None), cameras.c.stream_url.is_not(None)
        )
    ).all()
    box = _box() if rows else None
    for camera_id, number, url, sealed in rows:
        data = json.loads(box.open(sealed, _aad(number)))
        auth = quote(data["u"], safe="") + (":" + quote(data["p"], safe="") if data.get("p") is not None else "")
        parts = urlsplit(url)
        joined = urlunsplit((parts.scheme, f"{auth}@{parts.netloc}", parts.path, parts.query, parts.fragment))
        conn.execute(cameras.update().where(cameras.c.id == camera_id).values(stream_url=joined))
    with op.batch_alter_table("cameras") as batch:
        batch.drop_column("stream_credentials")
