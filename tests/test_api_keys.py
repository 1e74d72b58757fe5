"""API keys have a lifecycle: listed (never shown), revoked (refused within a second by every
server on the store), rotated (with or without a grace period), expired. The SQLite store is
readable by its owner only."""

from __future__ import annotations

import os
import sqlite3
import stat
import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.settings import Settings
from api.store import Store
from wfm.cli import app as cli

JOBS = "/v1/jobs/0123456789abcdef0123456789abcdef"  # any authenticated path: 404 with a good key, 401 without


def status(client: TestClient, key: str) -> int:
    return client.get(JOBS, headers={"X-API-Key": key}).status_code


@pytest.fixture
def servers(tmp_path):
    """Two servers on one store, as two processes of `wfm serve --workers 2` would be."""
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    with TestClient(create_app(Settings(database_url=url))) as one, \
            TestClient(create_app(Settings(database_url=url))) as two:
        yield url, one, two


def test_a_revoked_key_is_refused_by_every_server_within_a_second(servers):
    url, one, two = servers
    store = Store(url)
    key = store.create_api_key("acme")
    assert status(one, key) == 404 and status(two, key) == 404  # known: the job just does not exist
    [info] = store.list_api_keys("acme")
    assert store.revoke_api_key(info.id)
    time.sleep(1.0)
    assert status(one, key) == 401 and status(two, key) == 401
    assert not store.revoke_api_key("no-such-id")


def test_rotation_gives_a_new_key_and_ends_the_old_one_now_or_after_its_grace(servers):
    url, one, _ = servers
    store = Store(url)
    old = store.create_api_key("acme")
    [info] = store.list_api_keys()
    new_id, new = store.rotate_api_key(info.id)
    assert new != old and status(one, new) == 404
    time.sleep(1.0)
    assert status(one, old) == 401
    graced = store.create_api_key("acme")
    graced_id = next(k.id for k in store.list_api_keys() if k.active and k.id != new_id)
    _, newer = store.rotate_api_key(graced_id, grace_seconds=1.0)
    assert status(one, graced) == 404 and status(one, newer) == 404  # both work during the grace
    time.sleep(1.6)
    assert status(one, graced) == 401 and status(one, newer) == 404
    assert {k.tenant for k in store.list_api_keys()} == {"acme"}


def test_a_key_stops_at_its_expiry(servers):
    url, one, _ = servers
    store = Store(url)
    key = store.create_api_key("acme", expires_in_seconds=1.0)
    assert status(one, key) == 404
    time.sleep(1.6)
    assert status(one, key) == 401
    assert [k.active for k in store.list_api_keys()] == [False]


def test_the_cli_lists_revokes_and_rotates_without_showing_a_key(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    runner = CliRunner()
    created = runner.invoke(cli, ["apikey", "create", "--tenant", "acme", "--expires-days", "30",
                                  "--database-url", url])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[0]
    listed = runner.invoke(cli, ["apikey", "list", "--database-url", url])
    assert listed.exit_code == 0 and key not in listed.stdout
    header, row = listed.stdout.strip().splitlines()
    key_id, tenant, _, expires, state = row.split(",")
    assert header == "id,tenant,created,expires,status" and (tenant, state) == ("acme", "active")
    assert expires != "never"
    rotated = runner.invoke(cli, ["apikey", "rotate", key_id, "--database-url", url])
    assert rotated.exit_code == 0 and rotated.stdout.strip() != key
    assert Store(url).tenant_for_key(key) is None and Store(url).tenant_for_key(rotated.stdout.strip()) == "acme"
    missing = runner.invoke(cli, ["apikey", "revoke", "nope", "--database-url", url])
    assert missing.exit_code == 2 and "no API key has id 'nope'" in missing.output


def test_the_sqlite_store_is_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "jobs.db"
    Store(f"sqlite:///{path}").create_api_key("acme")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    path.chmod(0o644)  # a store made before: tightened when opened
    Store(f"sqlite:///{path}")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_store_from_before_key_expiry_gains_the_column_and_keeps_its_keys(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the table as the previous release made it
        db.execute("CREATE TABLE wfm_api_keys (id VARCHAR(32) PRIMARY KEY, tenant VARCHAR(200) NOT NULL, "
                   "key_hash VARCHAR(64) NOT NULL UNIQUE, created_at FLOAT NOT NULL, revoked BOOLEAN NOT NULL)")
        from api.store import hash_key

        db.execute("INSERT INTO wfm_api_keys VALUES ('k1', 'acme', ?, 0, 0)", (hash_key("wfm_old"),))
    store = Store(f"sqlite:///{path}")
    assert store.tenant_for_key("wfm_old") == "acme"
    assert [k.expires_at for k in store.list_api_keys()] == [None]


@pytest.fixture
def open_server(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'jobs.db'}", auth=False)
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as client:
        yield client


STAFFING = {"queues": [{"volume": [100], "aht_seconds": [180]}]}


@pytest.mark.parametrize("headers", [{"Host": "evil.example"}, {"Host": "rebound.example:8000"},
                                     {"Origin": "https://evil.example"}, {"Origin": "null"}])
def test_without_keys_a_request_from_another_host_or_page_is_refused(open_server, headers):
    res = open_server.post("/v1/staffing", json=STAFFING, headers=headers)
    assert res.status_code == 403 and res.json()["error"] == "forbidden_host", res.text


@pytest.mark.parametrize("headers", [{}, {"Host": "localhost:8000"}, {"Host": "[::1]:8000"},
                                     {"Origin": "http://127.0.0.1:8000"}, {"Origin": "http://localhost:5173"}])
def test_without_keys_this_machine_is_served(open_server, headers):
    assert open_server.post("/v1/staffing", json=STAFFING, headers=headers).status_code == 200


def test_with_keys_the_host_is_not_checked(servers):
    url, one, _ = servers
    key = Store(url).create_api_key("acme")
    res = one.post("/v1/staffing", json=STAFFING, headers={"X-API-Key": key, "Host": "wfm.example.com"})
    assert res.status_code == 200


@pytest.mark.parametrize("kind", ["text/plain", "application/x-www-form-urlencoded", None])
def test_staffing_takes_json_only(open_server, kind):
    import json

    headers = {"Content-Type": kind} if kind else {}
    res = open_server.post("/v1/staffing", content=json.dumps(STAFFING).encode(), headers=headers)
    assert res.status_code == 415 and res.json()["error"] == "unsupported_media_type", res.text
