"""The site registry of each tenant: sites, and per site its agents, shift templates, rules and
weights, in the job store's database. Knows nothing of HTTP.

Every stored document has an ETag (its revision and a hash of its content). A write names the
ETag it read (`if_match`); when the document changed since, the write raises PreconditionFailed
and changes nothing. Every write of a site takes the site's row first (an UPDATE of its `writes`
counter), so writes to one site run one after the other on SQLite and PostgreSQL alike, and a
collection's ETag read inside the write is the one the write replaces. Every write is recorded in
the audit log with the API key that made it.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Column, Float, Index, Integer, String, Table, Text, delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from wfm.domain import Channel, ServiceTarget
from wfm.roster.domain import Agent, Rules, ShiftTemplate, Weights
from wfm.errors import InputError
from wfm.site import agent_rows_from_bytes

from .store import api_keys, hash_key, metadata

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"  # a site id: safe in a URL path segment as it is
ITEM_ID_PATTERN = r"^[^/\s]{1,200}$"  # an agent's or template's: one path segment (HR ids vary too much for more)
INTERVALS = (5, 10, 15, 20, 30, 60)  # divisors of an hour: every day holds whole intervals

sites = Table(
    "wfm_sites", metadata,
    Column("tenant", String(200), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("body", Text, nullable=False),
    Column("etag", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("writes", Integer, nullable=False),  # bumped by every write to the site or its items: the site's lock
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

items = Table(
    "wfm_site_items", metadata,
    Column("tenant", String(200), primary_key=True),
    Column("site_id", String(64), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("item_id", String(200), primary_key=True),
    Column("body", Text, nullable=False),
    Column("etag", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
)

audit = Table(
    "wfm_site_audit", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(200), nullable=False),
    Column("site_id", String(64), nullable=False),
    Column("at", Float, nullable=False),
    Column("key_id", String(32)),
    Column("action", String(16), nullable=False),
    Column("resource", String(300), nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_wfm_site_audit_site", "tenant", "site_id", "seq"),
)


class SiteQueue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    channel: Channel = Channel.voice
    target: ServiceTarget = ServiceTarget()
    time_off_per_day: int | None = Field(None, ge=0, le=10_000, description=(
        "agents with this skill who may be on approved time off on one day (null: no limit)"))


class Site(BaseModel):
    """A site: where and how finely it plans, and its queues with their service targets."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(description="IANA name, e.g. Europe/Berlin")
    interval_minutes: int = Field(strict=True, description=f"one of {INTERVALS}")
    queues: list[SiteQueue] = Field(default_factory=list, max_length=200)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA timezone name (e.g. 'Europe/Berlin')") from None
        return value

    @field_validator("interval_minutes")
    @classmethod
    def _interval(cls, value: int) -> int:
        if value not in INTERVALS:
            raise ValueError(f"must be one of {', '.join(map(str, INTERVALS))}")
        return value

    @field_validator("queues")
    @classmethod
    def _unique_queues(cls, value: list[SiteQueue]) -> list[SiteQueue]:
        ids = [q.id for q in value]
        if len(set(ids)) != len(ids):
            raise ValueError("two queues have the same id")
        return value


# Kinds of item kept per site: a collection (agents, templates) or one document (rules, weights).
COLLECTIONS = {"agents": Agent, "templates": ShiftTemplate}
DOCUMENTS = {"rules": Rules, "weights": Weights}
MODELS = {**COLLECTIONS, **DOCUMENTS}
MAX_ITEMS = {"agents": 2000, "templates": 100}


class NotFound(Exception):
    """No such site or item for this tenant (another tenant's is as absent as a missing one)."""


class AlreadyExists(Exception):
    pass


class PreconditionFailed(Exception):
    def __init__(self, current: str | None):
        super().__init__(f"the resource changed: its ETag is now {current}")
        self.current = current


class Invalid(Exception):
    """A document that breaks its model: `fields` as [{"field", "message", "type"}], paths relative to the body."""

    def __init__(self, fields: list[dict]):
        super().__init__("; ".join(f"{f['field']}: {f['message']}" for f in fields[:3]))
        self.fields = fields


class TooMany(Exception):
    pass


class MatchRequired(Exception):
    """Replacing what exists needs the ETag it was read with."""


@dataclass
class Stored:
    body: dict
    etag: str
    created: bool = False


def etag_of(revision: int, body: dict) -> str:
    digest = hashlib.sha256(_canonical(body).encode()).hexdigest()[:16]
    return f'"{revision}-{digest}"'


def collection_etag(entries: list[tuple[str, str]]) -> str:
    """The ETag of a collection: changes when any item is added, changed or removed."""
    digest = hashlib.sha256("\n".join(f"{i} {e}" for i, e in sorted(entries)).encode()).hexdigest()[:16]
    return f'"c-{digest}"'


def _stored(body: dict) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)  # the model's field order, as answered


def _canonical(body: dict) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def validate(kind: str, body: Any) -> dict:
    """The document as its model reads it (defaults filled in), or Invalid naming each bad field."""
    model = Site if kind == "site" else MODELS[kind]
    try:
        return model.model_validate(body).model_dump(mode="json")
    except ValidationError as exc:
        raise Invalid([{"field": _path(e["loc"]), "message": e["msg"].removeprefix("Value error, "),
                        "type": e["type"]} for e in exc.errors()]) from None


def _path(loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: objects merge member by member, null removes a member,
    anything else (arrays included) replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class Registry:
    def __init__(self, engine: Engine):
        self.engine = engine

    def key_id(self, key: str | None) -> str | None:
        """The id of an API key (what the audit log names), never the key itself."""
        if not key:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(api_keys.c.id).where(api_keys.c.key_hash == hash_key(key))).first()
        return row[0] if row else None

    # --- sites ----------------------------------------------------------------------------

    def list_sites(self, tenant: str) -> list[Stored]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(sites.c.body, sites.c.etag).where(sites.c.tenant == tenant)
                                .order_by(sites.c.id)).all()
        return [Stored(json.loads(r.body), r.etag) for r in rows]

    def get_site(self, tenant: str, site_id: str) -> Stored:
        with self.engine.connect() as conn:
            row = conn.execute(select(sites.c.body, sites.c.etag).where(
                sites.c.tenant == tenant, sites.c.id == site_id)).first()
        if row is None:
            raise NotFound(f"no site {site_id!r}")
        return Stored(json.loads(row.body), row.etag)

    def create_site(self, tenant: str, body: Any, key_id: str | None) -> Stored:
        """A new site from its document; `rules` and `weights` in it (optional) start those
        documents, which otherwise start at their defaults."""
        extra = {kind: body.pop(kind) for kind in DOCUMENTS if isinstance(body, dict) and kind in body}
        doc = validate("site", body)
        settings = {}
        for kind in DOCUMENTS:
            try:
                settings[kind] = validate(kind, extra.get(kind, {}))
            except Invalid as exc:
                raise Invalid([{**f, "field": f"{kind}.{f['field']}" if f["field"] else kind}
                               for f in exc.fields]) from None
        now = time.time()
        etag = etag_of(1, doc)
        with self.engine.begin() as conn:
            if conn.execute(select(sites.c.id).where(sites.c.tenant == tenant, sites.c.id == doc["id"])).first():
                raise AlreadyExists(f"site {doc['id']!r} already exists")
            conn.execute(insert(sites).values(tenant=tenant, id=doc["id"], body=_stored(doc), etag=etag,
                                              revision=1, writes=0, created_at=now, updated_at=now))
            for kind, value in settings.items():
                self._write_item(conn, tenant, doc["id"], kind, kind, value, None)
            self._audit(conn, tenant, doc["id"], key_id, "create", f"sites/{doc['id']}", {"body": doc})
        return Stored(doc, etag)

    def replace_site(self, tenant: str, site_id: str, body: Any, if_match: str | None, key_id: str | None,
                     action: str = "replace") -> Stored:
        if isinstance(body, dict):
            body = {"id": site_id, **body}
        doc = validate("site", body)
        if doc["id"] != site_id:
            raise Invalid([{"field": "id", "message": f"the path names site {site_id!r}: a site's id cannot change",
                            "type": "value_error"}])
        with self.engine.begin() as conn:
            row = self.lock(conn, tenant, site_id)
            _check(if_match, row.etag)
            revision = row.revision + 1
            etag = etag_of(revision, doc)
            conn.execute(update(sites).where(sites.c.tenant == tenant, sites.c.id == site_id).values(
                body=_stored(doc), etag=etag, revision=revision, updated_at=time.time()))
            self._audit(conn, tenant, site_id, key_id, action, f"sites/{site_id}",
                        {"changed": _changed(json.loads(row.body), doc)})
        return Stored(doc, etag)

    def patch_site(self, tenant: str, site_id: str, patch: Any, if_match: str | None, key_id: str | None) -> Stored:
        current = self.get_site(tenant, site_id)
        _check(if_match, current.etag)  # early answer; the write checks again under the lock
        return self.replace_site(tenant, site_id, merge_patch(current.body, patch), if_match, key_id, "patch")

    def delete_site(self, tenant: str, site_id: str, if_match: str | None, key_id: str | None) -> None:
        with self.engine.begin() as conn:
            row = self.lock(conn, tenant, site_id)
            _check(if_match, row.etag)
            conn.execute(delete(items).where(items.c.tenant == tenant, items.c.site_id == site_id))
            conn.execute(delete(sites).where(sites.c.tenant == tenant, sites.c.id == site_id))
            self._audit(conn, tenant, site_id, key_id, "delete", f"sites/{site_id}", {})

    # --- agents, templates (collections) and rules, weights (documents) -------------------

    def list_items(self, tenant: str, site_id: str, kind: str) -> tuple[list[Stored], str]:
        with self.engine.connect() as conn:
            self._site_row(conn, tenant, site_id)
            rows = self._items(conn, tenant, site_id, kind)
        return [Stored(json.loads(r.body), r.etag) for r in rows], collection_etag([(r.item_id, r.etag) for r in rows])

    def get_item(self, tenant: str, site_id: str, kind: str, item_id: str) -> Stored:
        with self.engine.connect() as conn:
            self._site_row(conn, tenant, site_id)
            row = self._item(conn, tenant, site_id, kind, item_id)
        if row is None:
            raise NotFound(f"site {site_id!r} has no {_singular(kind)} {item_id!r}")
        return Stored(json.loads(row.body), row.etag)

    def put_item(self, tenant: str, site_id: str, kind: str, item_id: str, body: Any, if_match: str | None,
                 key_id: str | None, action: str = "replace", must_exist: bool = True) -> Stored:
        """Replace one agent, template, or the rules or weights; with must_exist False, create it
        when absent (and then If-Match is required only if it exists)."""
        doc = self._checked(kind, item_id, body)
        with self.engine.begin() as conn:
            self.lock(conn, tenant, site_id)
            row = self._item(conn, tenant, site_id, kind, item_id)
            if row is None and (must_exist or if_match is not None):
                raise NotFound(f"site {site_id!r} has no {_singular(kind)} {item_id!r}")
            if row is not None:
                if if_match is None and not must_exist:
                    raise MatchRequired(f"{_singular(kind)} {item_id!r} exists: send If-Match to replace it")
                _check(if_match, row.etag)
            self._check_references(conn, tenant, site_id, kind, [doc])
            stored = self._write_item(conn, tenant, site_id, kind, item_id, doc, row)
            detail = {"changed": _changed(json.loads(row.body), doc)} if row is not None else {"body": doc}
            self._audit(conn, tenant, site_id, key_id, action if row is not None else "create",
                        _resource(site_id, kind, item_id), detail)
        stored.created = row is None
        return stored

    def patch_item(self, tenant: str, site_id: str, kind: str, item_id: str, patch: Any, if_match: str | None,
                   key_id: str | None) -> Stored:
        current = self.get_item(tenant, site_id, kind, item_id)
        _check(if_match, current.etag)
        return self.put_item(tenant, site_id, kind, item_id, merge_patch(current.body, patch), if_match, key_id,
                             "patch")

    def create_item(self, tenant: str, site_id: str, kind: str, body: Any, if_match: str | None,
                    key_id: str | None) -> Stored:
        item_id = body.get("id") if isinstance(body, dict) else None
        doc = self._checked(kind, item_id, body)
        with self.engine.begin() as conn:
            self.lock(conn, tenant, site_id)
            rows = self._items(conn, tenant, site_id, kind)
            if if_match is not None:
                _check(if_match, collection_etag([(r.item_id, r.etag) for r in rows]))
            if any(r.item_id == doc["id"] for r in rows):
                raise AlreadyExists(f"site {site_id!r} already has {_singular(kind)} {doc['id']!r}")
            if len(rows) >= MAX_ITEMS[kind]:
                raise TooMany(f"a site holds at most {MAX_ITEMS[kind]} {kind}")
            self._check_references(conn, tenant, site_id, kind, [doc])
            stored = self._write_item(conn, tenant, site_id, kind, doc["id"], doc, None)
            self._audit(conn, tenant, site_id, key_id, "create", _resource(site_id, kind, doc["id"]), {"body": doc})
        return stored

    def delete_item(self, tenant: str, site_id: str, kind: str, item_id: str, if_match: str | None,
                    key_id: str | None) -> None:
        with self.engine.begin() as conn:
            self.lock(conn, tenant, site_id)
            row = self._item(conn, tenant, site_id, kind, item_id)
            if row is None:
                raise NotFound(f"site {site_id!r} has no {_singular(kind)} {item_id!r}")
            _check(if_match, row.etag)
            if kind == "templates":
                self._check_unused(conn, tenant, site_id, item_id)
            conn.execute(delete(items).where(*_item_key(tenant, site_id, kind, item_id)))
            self._audit(conn, tenant, site_id, key_id, "delete", _resource(site_id, kind, item_id), {})

    def upsert_items(self, tenant: str, site_id: str, kind: str, bodies: Any, if_match: str | None,
                     key_id: str | None, action: str = "upsert", replace_all: bool = False) -> dict:
        """Create or replace many at once, all or nothing. `replace_all`: the list becomes the
        whole collection (the others are deleted), as a staff list import means."""
        if not isinstance(bodies, list):
            raise Invalid([{"field": "", "message": f"a list of {kind}", "type": "list_type"}])
        docs = self._checked_all(kind, bodies)
        with self.engine.begin() as conn:
            self.lock(conn, tenant, site_id)
            rows = {r.item_id: r for r in self._items(conn, tenant, site_id, kind)}
            if if_match is not None:
                _check(if_match, collection_etag([(i, r.etag) for i, r in rows.items()]))
            incoming = {d["id"] for d in docs}
            removed = sorted(set(rows) - incoming) if replace_all else []
            if len(set(rows) | incoming) - len(removed) > MAX_ITEMS[kind]:
                raise TooMany(f"a site holds at most {MAX_ITEMS[kind]} {kind}")
            self._check_references(conn, tenant, site_id, kind, docs)
            created, changed = [], []
            for doc in docs:
                row = rows.get(doc["id"])
                if row is not None and json.loads(row.body) == doc:
                    continue  # unchanged: its ETag stays, so a sync that changes nothing changes nothing
                self._write_item(conn, tenant, site_id, kind, doc["id"], doc, row)
                (changed if row is not None else created).append(doc["id"])
            for item_id in removed:
                conn.execute(delete(items).where(*_item_key(tenant, site_id, kind, item_id)))
            summary = {"created": created, "changed": changed, "deleted": removed,
                       "unchanged": len(docs) - len(created) - len(changed)}
            self._audit(conn, tenant, site_id, key_id, action, f"sites/{site_id}/{kind}", summary)
            etag = collection_etag([(r.item_id, r.etag) for r in self._items(conn, tenant, site_id, kind)])
        return {**summary, "etag": etag}

    def import_agents_csv(self, tenant: str, site_id: str, raw: bytes, if_match: str | None,
                          key_id: str | None) -> dict:
        """A staff list (the columns of `wfm site from-csv`) becomes the site's agents, all or
        nothing; a bad cell raises wfm.errors.InputError naming its line and column."""
        templates, _ = self.list_items(tenant, site_id, "templates")
        rows = agent_rows_from_bytes(raw, "upload", {t.body["id"] for t in templates})
        bodies = [agent.model_dump(mode="json") for _, agent in rows]
        try:
            return self.upsert_items(tenant, site_id, "agents", bodies, if_match, key_id, "import", replace_all=True)
        except Invalid as exc:  # a rule of the registry's own (an id it cannot store): name the row's line
            first = exc.fields[0]
            index, _, column = first["field"].partition("].")
            line = rows[int(index.lstrip("["))][0]
            raise InputError(column.split(".")[0], bodies[int(index.lstrip("["))]["id"], first["message"],
                             line=line) from None

    def snapshot(self, tenant: str, site_id: str) -> dict:
        """The site and its agents, templates, rules and weights as one consistent moment (read
        under the site's lock, so no write lands halfway), with the site's and the agents' ETags."""
        with self.engine.begin() as conn:
            site = self.lock(conn, tenant, site_id)
            found = {kind: self._items(conn, tenant, site_id, kind) for kind in MODELS}
        out = {"site": json.loads(site.body), "etag": site.etag,
               "agents_etag": collection_etag([(r.item_id, r.etag) for r in found["agents"]])}
        for kind, rows in found.items():
            bodies = [json.loads(r.body) for r in rows]
            out[kind] = bodies if kind in COLLECTIONS else (bodies[0] if bodies else validate(kind, {}))
        return out

    def add_leave(self, conn: Connection, tenant: str, site_id: str, agent_id: str, days: list, key_id: str | None):
        """Days added to an agent's leave (unavailable_days), in the caller's transaction (an
        approved time-off request), audited."""
        row = self._item(conn, tenant, site_id, "agents", agent_id)
        if row is None:
            raise NotFound(f"site {site_id!r} has no agent {agent_id!r}")
        doc = json.loads(row.body)
        doc["unavailable_days"] = sorted(set(doc["unavailable_days"]) | {d.isoformat() for d in days})
        self._write_item(conn, tenant, site_id, "agents", agent_id, validate("agents", doc), row)
        self._audit(conn, tenant, site_id, key_id, "leave", _resource(site_id, "agents", agent_id),
                    {"changed": ["unavailable_days"]})

    # --- audit ----------------------------------------------------------------------------

    def audit_log(self, tenant: str, site_id: str, after: int = 0, limit: int = 100) -> list[dict]:
        with self.engine.connect() as conn:
            self._site_row(conn, tenant, site_id)
            rows = conn.execute(select(audit).where(audit.c.tenant == tenant, audit.c.site_id == site_id,
                                                    audit.c.seq > after).order_by(audit.c.seq).limit(limit)).all()
        return [{"seq": r.seq, "at": _iso(r.at), "key_id": r.key_id, "action": r.action, "resource": r.resource,
                 **json.loads(r.detail)} for r in rows]

    # --- helpers --------------------------------------------------------------------------

    def _checked(self, kind: str, item_id: str | None, body: Any) -> dict:
        if kind in COLLECTIONS and isinstance(body, dict) and item_id is not None:
            body = {"id": item_id, **body}
        doc = validate(kind, body)
        if kind in COLLECTIONS and item_id is not None and doc["id"] != item_id:
            raise Invalid([{"field": "id", "message": f"the path names {item_id!r}: an id cannot change",
                            "type": "value_error"}])
        if kind in COLLECTIONS and not re.match(ITEM_ID_PATTERN, doc["id"]):
            raise Invalid([{"field": "id", "message": "at most 200 characters, no '/' and no spaces",
                            "type": "string_pattern_mismatch"}])
        return doc

    def _checked_all(self, kind: str, bodies: list) -> list[dict]:
        docs, seen, errors = [], {}, []
        for index, body in enumerate(bodies):
            try:
                doc = self._checked(kind, None, body)
            except Invalid as exc:
                errors += [{**f, "field": f"[{index}].{f['field']}" if f["field"] else f"[{index}]"}
                           for f in exc.fields]
                continue
            if doc["id"] in seen:
                errors.append({"field": f"[{index}].id", "message": f"the same id as [{seen[doc['id']]}]",
                               "type": "value_error"})
            seen[doc["id"]] = index
            docs.append(doc)
        if errors:
            raise Invalid(errors)
        return docs

    def _check_references(self, conn: Connection, tenant: str, site_id: str, kind: str, docs: list[dict]) -> None:
        """Agents' template caps name templates of the site (a roster would refuse them later)."""
        if kind != "agents":
            return
        known = {r.item_id for r in self._items(conn, tenant, site_id, "templates")}
        for doc in docs:
            unknown = sorted(set(doc["contract"]["template_caps"]) - known)
            if unknown:
                raise Invalid([{"field": "contract.template_caps", "message": f"agent {doc['id']!r}: "
                                f"no template {unknown[0]!r} at this site", "type": "value_error"}])

    def _check_unused(self, conn: Connection, tenant: str, site_id: str, template_id: str) -> None:
        for row in self._items(conn, tenant, site_id, "agents"):
            if template_id in json.loads(row.body)["contract"]["template_caps"]:
                raise AlreadyExists(f"agent {row.item_id!r} has a cap on template {template_id!r}: "
                                    "change the agent first")

    @staticmethod
    def _site_row(conn: Connection, tenant: str, site_id: str):
        row = conn.execute(select(sites).where(sites.c.tenant == tenant, sites.c.id == site_id)).first()
        if row is None:
            raise NotFound(f"no site {site_id!r}")
        return row

    def lock(self, conn: Connection, tenant: str, site_id: str):
        """Take the site's row for this transaction (the first statement: a write lock on SQLite)."""
        done = conn.execute(update(sites).where(sites.c.tenant == tenant, sites.c.id == site_id).values(
            writes=sites.c.writes + 1)).rowcount
        if not done:
            raise NotFound(f"no site {site_id!r}")
        return self._site_row(conn, tenant, site_id)

    @staticmethod
    def _items(conn: Connection, tenant: str, site_id: str, kind: str):
        return conn.execute(select(items).where(items.c.tenant == tenant, items.c.site_id == site_id,
                                                items.c.kind == kind).order_by(items.c.item_id)).all()

    @staticmethod
    def _item(conn: Connection, tenant: str, site_id: str, kind: str, item_id: str):
        return conn.execute(select(items).where(*_item_key(tenant, site_id, kind, item_id))).first()

    @staticmethod
    def _write_item(conn: Connection, tenant: str, site_id: str, kind: str, item_id: str, doc: dict, row) -> Stored:
        revision = (row.revision if row is not None else 0) + 1
        etag = etag_of(revision, doc)
        values = dict(body=_stored(doc), etag=etag, revision=revision, updated_at=time.time())
        if row is None:
            conn.execute(insert(items).values(tenant=tenant, site_id=site_id, kind=kind, item_id=item_id, **values))
        else:
            conn.execute(update(items).where(*_item_key(tenant, site_id, kind, item_id)).values(**values))
        return Stored(doc, etag)

    def record(self, conn: Connection, tenant: str, site_id: str, key_id: str | None, action: str, resource: str,
               detail: dict) -> None:
        """An audit entry written in the caller's transaction (for writes other modules make)."""
        self._audit(conn, tenant, site_id, key_id, action, resource, detail)

    @staticmethod
    def _audit(conn: Connection, tenant: str, site_id: str, key_id: str | None, action: str, resource: str,
               detail: dict) -> None:
        conn.execute(insert(audit).values(tenant=tenant, site_id=site_id, at=time.time(), key_id=key_id,
                                          action=action, resource=resource, detail=_canonical(detail)))


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _check(if_match: str | None, current: str) -> None:
    if if_match is not None and if_match.strip() != "*" and current not in [t.strip() for t in if_match.split(",")]:
        raise PreconditionFailed(current)


def _changed(before: dict, after: dict) -> list[str]:
    """The top-level fields a write changed (what the audit log shows)."""
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def _item_key(tenant: str, site_id: str, kind: str, item_id: str):
    return (items.c.tenant == tenant, items.c.site_id == site_id, items.c.kind == kind, items.c.item_id == item_id)


def _resource(site_id: str, kind: str, item_id: str) -> str:
    return f"sites/{site_id}/{kind}" + (f"/{item_id}" if kind in COLLECTIONS else "")


def _singular(kind: str) -> str:
    return {"agents": "agent", "templates": "template"}.get(kind, kind)

