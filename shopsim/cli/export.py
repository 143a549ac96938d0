"""`shopsim export RUN --format csv|parquet|jsonl --out DIR`: a finished run as tidy tables for analysts.

One pass over the run's events (a log or a database gives the same tables) fills one row per thing, keyed by
its id: the run, shoppers, experiment assignments, sessions, carts, orders and their items, notifications,
coupons, ads, settings changes, and the daily KPI series of `shopsim.metrics.kpis.Metrics`. Every table has
a fixed schema (`SCHEMAS`), so an empty table still has its columns. docs/exports.md describes each column.

Times are UTC: ISO strings (`2026-03-02T08:00:00.000Z`) in CSV and JSON Lines, `timestamp[ms, tz=UTC]` in
Parquet; `*_t_ms` columns give the same instant as milliseconds since the run's start. Money is a float in
the run's currency. Lists and objects (`favourites`, `products`, `change`) are JSON text.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click
import orjson

from shopsim.cli.common import fail
from shopsim.cli.runarg import parse_iso, reading, run_argument
from shopsim.metrics.kpis import Metrics
from shopsim.metrics.runfile import RunFile
from shopsim.scenario.taxonomy import CATEGORY_CLASS, MARKETING
from shopsim.scenario.units import parse_duration
from shopsim.sim import events as E
from shopsim.sim.clock import DAY, iso
from shopsim.sim.events import Event

FORMATS = ("csv", "parquet", "jsonl")
S, I, F, B, T, D, J = "string", "int", "float", "bool", "time", "date", "json"

# Column name and kind, in order, per table. A "time" column holds ms since the run's start internally.
SCHEMAS: dict[str, tuple[tuple[str, str], ...]] = {
    "run": (("scenario", S), ("description", S), ("seed", I), ("version", S), ("schema_version", I),
            ("start", T), ("duration", S), ("duration_ms", I), ("end", T), ("end_t_ms", I), ("shoppers", I),
            ("events", I), ("complete", B)),
    "shoppers": (("shopper", S), ("name", S), ("email", S), ("phone", S), ("city", S), ("country", S),
                 ("locale", S), ("tz", S), ("segment", S), ("platform", S), ("favourites", J),
                 ("reach_app", B), ("reach_email", B), ("reach_phone", B)),
    "experiment_assignments": (("experiment", S), ("variant", S), ("shopper", S), ("assigned", T)),
    "sessions": (("session", S), ("shopper", S), ("started", T), ("started_t_ms", I), ("device", S),
                 ("source", S), ("clicked", S), ("views", I), ("items_added", I), ("checkout", B),
                 ("browse_abandoned", B)),
    "carts": (("cart", S), ("shopper", S), ("created", T), ("created_t_ms", I), ("items", I), ("value", F),
              ("checkout_reached", B), ("checkouts", I), ("times_abandoned", I), ("first_abandoned", T),
              ("first_abandoned_t_ms", I), ("last_abandoned", T), ("last_reason", S), ("last_stage", S),
              ("emptied", T), ("order", S), ("ordered", T), ("recovered", B)),
    "orders": (("order", S), ("shopper", S), ("cart", S), ("placed", T), ("placed_t_ms", I), ("currency", S),
               ("lines", I), ("units", I), ("subtotal", F), ("shipping", F), ("discount", F), ("total", F),
               ("coupon", S), ("attributed_to", S), ("attributed_type", S), ("recovered_cart", B),
               ("payment_failed", T), ("paid", T), ("cancelled", T), ("processing", T), ("shipped", T),
               ("carrier", S), ("tracking", S), ("in_transit", T), ("out_for_delivery", T), ("delivered", T),
               ("delivered_t_ms", I), ("disputed", T), ("dispute", S), ("dispute_reason", S), ("refunded", T),
               ("refund_amount", F)),
    "order_items": (("order", S), ("shopper", S), ("line", I), ("product", S), ("qty", I), ("price", F)),
    "notifications": (("id", S), ("number", I), ("shopper", S), ("category", S), ("class", S),
                      ("requested_channel", S), ("channel", S), ("kind", S), ("source", S), ("ref", S),
                      ("requested", T), ("requested_t_ms", I), ("outcome", S), ("reason", S), ("rule", S),
                      ("decided_by", S), ("deferrals", I), ("until", T), ("decided", T), ("decided_t_ms", I),
                      ("digest", S), ("digest_items", I), ("coupon", S), ("title", S), ("opened", T),
                      ("clicked", T), ("dismissed", T), ("unsubscribed", T)),
    "coupons": (("coupon", S), ("shopper", S), ("kind", S), ("value", F), ("min_order", F), ("source", S),
                ("notification", S), ("issued", T), ("issued_t_ms", I), ("expires", T), ("redeemed", T),
                ("order", S), ("discount", F), ("expired", T)),
    "ads": (("ad", S), ("shopper", S), ("reason", S), ("ref", S), ("products", J), ("shown", T),
            ("shown_t_ms", I), ("clicked", B)),
    "settings_changes": (("shopper", S), ("t", T), ("t_ms", I), ("seq", I), ("source", S), ("change", J)),
    "kpis_daily": (("day", I), ("date", D), ("start", T)),  # + every daily series, added by build_tables
}
TABLES = tuple(SCHEMAS)
_ORDER_TIMES = {E.PAYMENT_FAILED: "payment_failed", E.PAYMENT_CONFIRMED: "paid", E.ORDER_CANCELLED: "cancelled",
                E.ORDER_PROCESSING: "processing", E.ORDER_SHIPPED: "shipped",
                E.SHIPMENT_IN_TRANSIT: "in_transit", E.SHIPMENT_OUT_FOR_DELIVERY: "out_for_delivery",
                E.ORDER_DELIVERED: "delivered", E.DISPUTE_OPENED: "disputed", E.REFUND_ISSUED: "refunded"}
_RESPONSES = {E.NOTIFICATION_OPENED: "opened", E.NOTIFICATION_CLICKED: "clicked",
              E.NOTIFICATION_DISMISSED: "dismissed", E.NOTIFICATION_UNSUBSCRIBED: "unsubscribed"}


class Table:
    """Columns (name, kind) and rows (lists in column order)."""

    def __init__(self, name: str, columns: tuple[tuple[str, str], ...], rows: list[list[Any]]):
        self.name, self.columns, self.rows = name, columns, rows

    def __len__(self) -> int:
        return len(self.rows)

    def dicts(self) -> Iterable[dict[str, Any]]:
        names = [c for c, _ in self.columns]
        return (dict(zip(names, r)) for r in self.rows)


# --- building ----------------------------------------------------------------------------------------------

class _Builder:
    """Feeds on events once, keeping one dict per id; `tables()` makes the rows."""

    def __init__(self, start_epoch: int) -> None:
        self.start = start_epoch
        self.metrics = Metrics()
        self.header: dict[str, Any] = {}
        self.events = 0
        self.end = 0
        self.complete = False
        self.shoppers: list[dict] = []
        self.assignments: list[dict] = []
        self.sessions: dict[str, dict] = {}
        self.visit: dict[str, dict] = {}      # shopper -> her current session
        self.carts: dict[str, dict] = {}
        self.orders: dict[str, dict] = {}
        self.items: list[dict] = []
        self.notes: dict[str, dict] = {}
        self.coupons: dict[str, dict] = {}
        self.ads: dict[str, dict] = {}
        self.settings: list[dict] = []
        self.handlers = {
            E.RUN_STARTED: self._run_started, E.RUN_FINISHED: self._run_finished,
            E.SHOPPER_CREATED: self._shopper, E.EXPERIMENT_ASSIGNED: self._assigned,
            E.SETTINGS_CHANGED: self._settings, E.SESSION_STARTED: self._session,
            E.PRODUCT_VIEWED: self._viewed, E.BROWSE_ABANDONED: self._browse,
            E.CART_ITEM_ADDED: self._item_added, E.CHECKOUT_STARTED: self._checkout,
            E.CART_ABANDONED: self._abandoned, E.CART_EMPTIED: self._emptied, E.ORDER_PLACED: self._order,
            E.NOTIFICATION_REQUESTED: self._requested, E.NOTIFICATION_DEFERRED: self._deferred,
            E.NOTIFICATION_DELIVERED: self._decided, E.NOTIFICATION_DIGESTED: self._decided,
            E.NOTIFICATION_SUPPRESSED: self._decided,
            E.COUPON_ISSUED: self._coupon_issued, E.COUPON_REDEEMED: self._coupon_redeemed,
            E.COUPON_EXPIRED: self._coupon_expired, E.AD_IMPRESSION: self._ad, E.AD_CLICKED: self._ad_clicked,
        }
        for typ in _ORDER_TIMES:
            self.handlers[typ] = self._order_step
        for typ in _RESPONSES:
            self.handlers[typ] = self._response

    def feed(self, events: Iterable[Event]) -> None:
        handlers, metrics = self.handlers, self.metrics
        for ev in events:
            self.events += 1
            self.end = ev.t
            metrics.add(ev)
            h = handlers.get(ev.type)
            if h is not None:
                h(ev, ev.data)

    def _t(self, instant: str | None) -> int | None:
        return None if instant is None else parse_iso(instant) - self.start

    # run and shoppers
    def _run_started(self, ev: Event, d: dict) -> None:
        self.header = d

    def _run_finished(self, ev: Event, d: dict) -> None:
        self.complete = True

    def _shopper(self, ev: Event, d: dict) -> None:
        reach = d.get("reach") or {}
        self.shoppers.append({**{k: v for k, v in d.items() if k not in ("settings", "reach")},
                              "shopper": ev.shopper, "reach_app": reach.get("app"),
                              "reach_email": reach.get("email"), "reach_phone": reach.get("phone")})

    def _assigned(self, ev: Event, d: dict) -> None:
        self.assignments.append({"experiment": d["experiment"], "variant": d["variant"], "shopper": ev.shopper,
                                 "assigned": ev.t})

    def _settings(self, ev: Event, d: dict) -> None:
        self.settings.append({"shopper": ev.shopper, "t": ev.t, "t_ms": ev.t, "seq": ev.seq,
                              "source": d.get("source"), "change": d.get("change")})

    # visits and carts
    def _session(self, ev: Event, d: dict) -> None:
        src = d.get("source") or ""
        s = self.sessions[d["session"]] = {
            "session": d["session"], "shopper": ev.shopper, "started": ev.t, "started_t_ms": ev.t,
            "device": d.get("device"), "source": src, "clicked": src[6:] if src.startswith("click:") else None,
            "views": 0, "items_added": 0, "checkout": False, "browse_abandoned": False}
        self.visit[ev.shopper] = s

    def _viewed(self, ev: Event, d: dict) -> None:
        s = self.sessions.get(d.get("session"))
        if s is not None:
            s["views"] += 1

    def _browse(self, ev: Event, d: dict) -> None:
        s = self.sessions.get(d.get("session"))
        if s is not None:
            s["browse_abandoned"] = True

    def _cart(self, ev: Event, d: dict) -> dict:
        c = self.carts.get(d["cart"])
        if c is None:
            c = self.carts[d["cart"]] = {"cart": d["cart"], "shopper": ev.shopper, "created": ev.t,
                                         "created_t_ms": ev.t, "checkout_reached": False, "checkouts": 0,
                                         "times_abandoned": 0, "recovered": False}
        if "items" in d and "value" in d:
            c["items"], c["value"] = d["items"], d["value"]
        return c

    def _item_added(self, ev: Event, d: dict) -> None:
        self._cart(ev, d)
        s = self.visit.get(ev.shopper)
        if s is not None:
            s["items_added"] += 1

    def _checkout(self, ev: Event, d: dict) -> None:
        c = self._cart(ev, d)
        c["checkout_reached"] = True
        c["checkouts"] += 1
        s = self.visit.get(ev.shopper)
        if s is not None:
            s["checkout"] = True

    def _abandoned(self, ev: Event, d: dict) -> None:
        c = self._cart(ev, d)
        c["times_abandoned"] += 1
        if c.get("first_abandoned") is None:
            c["first_abandoned"] = c["first_abandoned_t_ms"] = ev.t
        c["last_abandoned"], c["last_reason"], c["last_stage"] = ev.t, d.get("reason"), d.get("stage")

    def _emptied(self, ev: Event, d: dict) -> None:
        self._cart(ev, d)["emptied"] = ev.t

    # orders
    def _order(self, ev: Event, d: dict) -> None:
        c = self.carts.get(d["cart"])
        recovered = c is not None and c["times_abandoned"] > 0
        if c is not None:
            c.update(order=d["order"], ordered=ev.t, recovered=recovered)
        items = d.get("items") or []
        by = d.get("attributed_to")
        self.orders[d["order"]] = {
            **{k: d.get(k) for k in ("order", "cart", "currency", "subtotal", "shipping", "discount", "total",
                                     "coupon", "attributed_to")},
            "shopper": ev.shopper, "placed": ev.t, "placed_t_ms": ev.t, "lines": len(items),
            "units": sum(i.get("qty", 0) for i in items),
            "attributed_type": None if by is None else "ad" if _is_ad(by) else "notification",
            "recovered_cart": recovered}
        for n, item in enumerate(items, 1):
            self.items.append({"order": d["order"], "shopper": ev.shopper, "line": n, "product": item["product"],
                               "qty": item.get("qty"), "price": item.get("price")})

    def _order_step(self, ev: Event, d: dict) -> None:
        o = self.orders.get(d.get("order"))
        if o is None:
            return
        col = _ORDER_TIMES[ev.type]
        o.setdefault(col, ev.t)
        if ev.type == E.ORDER_DELIVERED:
            o.setdefault("delivered_t_ms", ev.t)
        if "carrier" in d:
            o["carrier"], o["tracking"] = d["carrier"], d.get("tracking")
        if ev.type == E.DISPUTE_OPENED:
            o["dispute"], o["dispute_reason"] = d.get("dispute"), d.get("reason")
        elif ev.type == E.REFUND_ISSUED:
            o["refund_amount"] = d.get("amount")

    # notifications
    def _requested(self, ev: Event, d: dict) -> None:
        nid = d["id"]
        self.notes[nid] = {
            "id": nid, "number": int(nid.rsplit("-n", 1)[1]), "shopper": ev.shopper, "category": d["category"],
            "class": CATEGORY_CLASS.get(d["category"], MARKETING), "requested_channel": d["channel"],
            "channel": d["channel"], "kind": d.get("kind"), "source": d.get("source"), "ref": d.get("ref"),
            "requested": ev.t, "requested_t_ms": ev.t, "deferrals": 0}

    def _deferred(self, ev: Event, d: dict) -> None:
        n = self.notes.get(d["id"])
        if n is None:
            return
        n["deferrals"] += 1
        n.update(outcome="deferred", reason=d.get("reason"), rule=d.get("rule"), until=self._t(d.get("until")),
                 channel=d["channel"], decided_by=_decided_by(d))

    def _decided(self, ev: Event, d: dict) -> None:
        n = self.notes.get(d["id"])
        if n is None:
            return
        n.update(outcome=ev.type[len("notification."):], reason=d.get("reason"), rule=d.get("rule"),
                 channel=d["channel"], decided=ev.t, decided_t_ms=ev.t, decided_by=_decided_by(d),
                 digest=d.get("digest"), coupon=d.get("coupon"), title=d.get("title"))
        if d.get("digest_of") is not None:
            n["digest_items"] = len(d["digest_of"])
        if d.get("coupon") is not None:
            cp = self.coupons.get(d["coupon"])
            if cp is not None:
                cp["notification"] = d["id"]

    def _response(self, ev: Event, d: dict) -> None:
        n = self.notes.get(d.get("id"))
        if n is not None:
            n.setdefault(_RESPONSES[ev.type], ev.t)

    # coupons and ads
    def _coupon_issued(self, ev: Event, d: dict) -> None:
        self.coupons[d["coupon"]] = {
            "coupon": d["coupon"], "shopper": ev.shopper, "kind": d.get("kind"), "value": d.get("value"),
            "min_order": d.get("min_order"), "source": d.get("source"), "issued": ev.t, "issued_t_ms": ev.t,
            "expires": self._t(d.get("expires"))}

    def _coupon_redeemed(self, ev: Event, d: dict) -> None:
        cp = self.coupons.get(d["coupon"])
        if cp is not None:
            cp.update(redeemed=ev.t, order=d.get("order"), discount=d.get("discount"))

    def _coupon_expired(self, ev: Event, d: dict) -> None:
        cp = self.coupons.get(d["coupon"])
        if cp is not None:
            cp["expired"] = ev.t

    def _ad(self, ev: Event, d: dict) -> None:
        self.ads[d["ad"]] = {"ad": d["ad"], "shopper": ev.shopper, "reason": d.get("reason"), "ref": d.get("ref"),
                             "products": d.get("products"), "shown": ev.t, "shown_t_ms": ev.t, "clicked": False}

    def _ad_clicked(self, ev: Event, d: dict) -> None:
        a = self.ads.get(d["ad"])
        if a is not None:
            a["clicked"] = True

    # the tables
    def tables(self) -> dict[str, Table]:
        h = self.header
        try:
            duration_ms = parse_duration(h["duration"]) if h.get("duration") else None
        except ValueError:
            duration_ms = None
        run = {**{k: h.get(k) for k in ("scenario", "description", "seed", "version", "schema_version")},
               "start": 0, "duration": h.get("duration"), "duration_ms": duration_ms, "end": self.end,
               "end_t_ms": self.end, "shoppers": h.get("shoppers"), "events": self.events,
               "complete": self.complete}
        daily = self.metrics.series()["day"]
        kpi_cols = tuple((name, F if any(isinstance(x, float) for x in col) or name == "revenue" else I)
                         for name, col in daily.items())
        days = max((len(c) for c in daily.values()), default=0)
        start_day = datetime.fromtimestamp(self.start / 1000, timezone.utc)
        kpis = [{"day": i, "date": (start_day + timedelta(days=i)).date(), "start": i * DAY,
                 **{name: col[i] if i < len(col) else 0 for name, col in daily.items()}} for i in range(days)]
        sources = {"run": [run], "shoppers": self.shoppers, "experiment_assignments": self.assignments,
                   "sessions": self.sessions.values(), "carts": self.carts.values(), "orders": self.orders.values(),
                   "order_items": self.items, "notifications": self.notes.values(),
                   "coupons": self.coupons.values(), "ads": self.ads.values(), "settings_changes": self.settings,
                   "kpis_daily": kpis}
        out = {}
        for name, rows in sources.items():
            cols = SCHEMAS[name] + (kpi_cols if name == "kpis_daily" else ())
            names = [c for c, _ in cols]
            out[name] = Table(name, cols, [[r.get(c) for c in names] for r in rows])
        return out


def _decided_by(d: dict) -> str | None:
    trace = d.get("trace")
    return trace[-1].get("step") if trace else None


def _is_ad(ref: str) -> bool:
    return ref.rsplit("-", 1)[-1].startswith("a")  # s000433-a2; a notification is s000001-n3


def build_tables(run: RunFile) -> dict[str, Table]:
    """Every table of one run, from one pass over its events."""
    b = _Builder(run.start_epoch)
    b.feed(run.events())
    return b.tables()


# --- writing -----------------------------------------------------------------------------------------------

def _json_text(v: Any) -> str | None:
    return None if v is None else orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode()


def _plain(kind: str, start: int):
    """Value -> what CSV and JSON Lines hold (None stays None)."""
    if kind == T:
        return lambda v: None if v is None else iso(start + v)
    if kind == D:
        return lambda v: None if v is None else v.isoformat()
    if kind == J:
        return _json_text
    if kind == F:
        return lambda v: None if v is None else float(v)
    return lambda v: v


def write_csv(table: Table, path: Path, start: int) -> None:
    conv = [_plain(k, start) for _, k in table.columns]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([c for c, _ in table.columns])
        for row in table.rows:
            out = []
            for c, v in zip(conv, row):
                v = c(v)
                out.append("" if v is None else "true" if v is True else "false" if v is False else v)
            w.writerow(out)


def write_jsonl(table: Table, path: Path, start: int) -> None:
    conv = [_plain(k, start) for _, k in table.columns]
    names = [c for c, _ in table.columns]
    with open(path, "wb") as f:
        for row in table.rows:
            f.write(orjson.dumps({n: c(v) for n, c, v in zip(names, conv, row)}) + b"\n")


def write_parquet(table: Table, path: Path, start: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {S: pa.string(), I: pa.int64(), F: pa.float64(), B: pa.bool_(), T: pa.timestamp("ms", tz="UTC"),
             D: pa.date32(), J: pa.string()}
    arrays, fields = [], []
    for i, (name, kind) in enumerate(table.columns):
        col = [r[i] for r in table.rows]
        if kind == T:
            col = [None if v is None else start + v for v in col]
        elif kind == J:
            col = [_json_text(v) for v in col]
        elif kind == F:
            col = [None if v is None else float(v) for v in col]
        arrays.append(pa.array(col, type=types[kind]))
        fields.append(pa.field(name, types[kind]))
    pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), path)


WRITERS = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}


def write_tables(tables: dict[str, Table], out: Path, fmt: str, start: int) -> list[tuple[str, int, Path]]:
    """Write every table to OUT/NAME.FMT: first all to temporary names, then each renamed over its final
    name, so a failure leaves the earlier tables of OUT as they were and no half-written file."""
    done: list[tuple[str, Path, Path]] = []
    try:
        for name, table in tables.items():
            final = out / f"{name}.{fmt}"
            tmp = out / f".{name}.{fmt}.{os.getpid()}.tmp"
            done.append((name, tmp, final))
            WRITERS[fmt](table, tmp, start)
    except BaseException:
        for _, tmp, _ in done:
            tmp.unlink(missing_ok=True)
        raise
    for _, tmp, final in done:
        os.replace(tmp, final)
    return [(name, len(tables[name]), final) for name, _, final in done]


@click.command("export")
@run_argument
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True,
              help="file format of the tables")
@click.option("--out", "out", required=True, metavar="DIR", help="folder for the tables (created if missing)")
def export_cmd(run: str, fmt: str, out: str) -> None:
    """Write RUN (an event log or a run's database) as tidy tables, one file per table in DIR: run,
    shoppers, experiment_assignments, sessions, carts, orders, order_items, notifications, coupons, ads,
    settings_changes and kpis_daily (docs/exports.md)."""
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            fail("parquet needs pyarrow: pip install 'shopsim[parquet]'")
    dest = Path(out)
    if not out.strip():
        fail("--out needs a folder")
    if dest.exists() and not dest.is_dir():
        fail(f"--out {dest} is a file; give a folder")
    with reading(run) as rf:
        tables = build_tables(rf)
    try:
        dest.mkdir(parents=True, exist_ok=True)
        written = write_tables(tables, dest, fmt, rf.start_epoch)
    except OSError as e:
        fail(f"cannot write to {dest}: {e.strerror or e}")
    width = max(len(n) for n, _, _ in written)
    for name, rows, path in written:
        click.echo(f"{name:<{width}}  {rows:>8,} row{'' if rows == 1 else 's'}  {path}")
