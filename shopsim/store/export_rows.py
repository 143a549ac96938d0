"""A finished run as tidy tables: one pass over its events fills one row per thing (a shopper, a visit, a
cart, an order, a notification, a coupon, an ad, a settings change, a survey answer), keyed by its id, plus
the daily KPI series of `Metrics`. `shopsim export` writes them; `build_tables(open_run(path))` returns
them to Python. The columns are `tables.EXPORT`, and shoppers, carts and orders are projected by
`tables.Commerce` and `tables.shopper_row`, as for the database; docs/exports.md describes each one."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

from shopsim.metrics.kpis import Metrics
from shopsim.store.runfile import RunFile
from shopsim.store.spill import SpillFile, SpillList, SpillStore
from shopsim.store.tables import EXPORT, F, I, ORDER_STEPS, SETTINGS_TRACKED, Commerce, shopper_row
from shopsim.contract.taxonomy import CATEGORY_CLASS, MARKETING
from shopsim.contract.units import parse_duration
from shopsim.contract import events as E
from shopsim.contract.clock import DAY, epoch_ms
from shopsim.contract.events import Event

__all__ = ["Table", "build_tables", "TableBuilder"]

PROXY = "proxy"                    # notification.opened.source of a machine open
ROWS_IN_MEMORY = 5_000             # rows of one table kept in memory while the run is read
_RESPONSES = {E.NOTIFICATION_OPENED: "opened", E.NOTIFICATION_CLICKED: "clicked",
              E.NOTIFICATION_DISMISSED: "dismissed", E.NOTIFICATION_UNSUBSCRIBED: "unsubscribed",
              E.NOTIFICATION_COMPLAINED: "complained"}


class Table:
    """Columns (name, kind) and rows (lists in column order), made one at a time each time `rows` is read."""

    def __init__(self, name: str, columns: tuple[tuple[str, str], ...], rows: Callable[[], Iterator[list[Any]]],
                 count: int):
        self.name, self.columns, self._rows, self._count = name, columns, rows, count

    @property
    def rows(self) -> Iterator[list[Any]]:
        return self._rows()

    def __len__(self) -> int:
        return self._count

    def dicts(self) -> Iterable[dict[str, Any]]:
        names = [c for c, _ in self.columns]
        return (dict(zip(names, r)) for r in self.rows)


class TableBuilder:
    """Feeds on events once, keeping one dict per id; `tables()` makes the rows. At most `limit` rows of a table
    are in memory at once (store.spill keeps the others on disk), so memory does not grow with the run."""

    def __init__(self, start_epoch: int, limit: int = ROWS_IN_MEMORY) -> None:
        self.start = start_epoch
        self.metrics = Metrics()
        self.header: dict[str, Any] = {}
        self.events = self.end = 0
        self.complete = False
        self.spill = spill = SpillFile()
        self.shoppers = SpillStore(spill, limit)
        self.experiments: dict[str, dict] = {}   # experiment.started, by name
        self.assignments = SpillList(spill, limit)
        self.sessions = SpillStore(spill, limit)
        self.visit: dict[str, str] = {}       # shopper -> her current session's id
        self.commerce = Commerce()
        self.commerce.carts, self.commerce.orders = SpillStore(spill, limit), SpillStore(spill, limit)  # type: ignore[assignment]
        self.commerce.items = SpillList(spill, limit)  # type: ignore[assignment]
        self.notes = SpillStore(spill, limit)
        self.coupons = SpillStore(spill, limit)
        self.ads = SpillStore(spill, limit)
        self.settings = SpillList(spill, limit)
        self.surveys = SpillList(spill, limit)
        self.handlers = {
            E.RUN_STARTED: self._run_started, E.RUN_FINISHED: self._run_finished,
            E.SHOPPER_CREATED: self._shopper, E.EXPERIMENT_STARTED: self._experiment,
            E.EXPERIMENT_ASSIGNED: self._assigned,
            E.SETTINGS_CHANGED: self._settings, E.SESSION_STARTED: self._session,
            E.PRODUCT_VIEWED: self._viewed, E.BROWSE_ABANDONED: self._browse,
            E.CART_ITEM_ADDED: self._item_added, E.CHECKOUT_STARTED: self._checkout,
            E.CART_ABANDONED: self.commerce.abandoned, E.CART_EMPTIED: self.commerce.emptied,
            E.ORDER_PLACED: self.commerce.order,
            E.NOTIFICATION_REQUESTED: self._requested, E.NOTIFICATION_DEFERRED: self._deferred,
            E.NOTIFICATION_DELIVERED: self._decided, E.NOTIFICATION_DIGESTED: self._decided,
            E.NOTIFICATION_SUPPRESSED: self._decided,
            E.COUPON_ISSUED: self._coupon_issued, E.COUPON_REDEEMED: self._coupon_redeemed,
            E.COUPON_EXPIRED: self._coupon_expired, E.COUPON_SEEN: self._coupon_seen,
            E.AD_IMPRESSION: self._ad, E.AD_CLICKED: self._ad_clicked, E.SURVEY_ANSWERED: self._survey,
        }
        for typ in ORDER_STEPS:
            self.handlers[typ] = self.commerce.order_step
        for typ in _RESPONSES:
            self.handlers[typ] = self._response

    def feed(self, events: Iterable[Event]) -> None:
        handlers, metrics = self.handlers, self.metrics
        # The rows are acyclic dicts: collections would only walk every row kept, again and again.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for ev in events:
                self.events += 1
                self.end = ev.t
                metrics.add(ev)
                h = handlers.get(ev.type)
                if h is not None:
                    h(ev, ev.data)
        finally:
            if collecting:
                gc.enable()

    def _t(self, instant: str | None) -> int | None:
        if instant is None:
            return None
        return epoch_ms(datetime.fromisoformat(instant)) - self.start

    # run, shoppers, settings
    def _run_started(self, ev: Event, d: dict) -> None:
        self.header = d

    def _run_finished(self, ev: Event, d: dict) -> None:
        self.complete = True

    def _shopper(self, ev: Event, d: dict) -> None:
        settings = d.get("settings") or {}
        row = shopper_row(ev.shopper, d)
        for s in SETTINGS_TRACKED:
            row[f"{s}_at_creation"] = row[f"{s}_at_end"] = settings.get(s)
        self.shoppers[ev.shopper] = row

    def _experiment(self, ev: Event, d: dict) -> None:
        self.experiments[d["experiment"]] = d

    def _assigned(self, ev: Event, d: dict) -> None:
        spec = self.experiments.get(d["experiment"]) or {}
        arm = next((v for v in spec.get("variants") or () if v.get("name") == d["variant"]), {})
        self.assignments.append({"experiment": d["experiment"], "variant": d["variant"],
                                 "control": d["variant"] == spec.get("control") if spec else None,
                                 "holdout": bool(arm.get("holdout")) if spec else None, "shopper": ev.shopper,
                                 "assigned": ev.t})

    def _settings(self, ev: Event, d: dict) -> None:
        change = d.get("change") or {}
        self.settings.append({"shopper": ev.shopper, "t": ev.t, "t_ms": ev.t, "seq": ev.seq,
                              "source": d.get("source"), "change": change})
        row = self.shoppers.get(ev.shopper)
        if row is not None:
            for s in SETTINGS_TRACKED:
                if s in change:
                    row[f"{s}_at_end"] = change[s]

    # visits and carts
    def _session(self, ev: Event, d: dict) -> None:
        src = d.get("source") or ""
        s = self.sessions[d["session"]] = {
            "session": d["session"], "shopper": ev.shopper, "started": ev.t, "started_ms": ev.t,
            "device": d.get("device"), "source": src, "clicked_id": src[6:] if src.startswith("click:") else None,
            "views": 0, "items_added": 0, "checkout": False, "browse_abandoned": False}
        self.visit[ev.shopper] = s["session"]

    def _viewed(self, ev: Event, d: dict) -> None:
        s = self.sessions.get(d.get("session"))
        if s is not None:
            s["views"] += 1

    def _browse(self, ev: Event, d: dict) -> None:
        s = self.sessions.get(d.get("session"))
        if s is not None:
            s["browse_abandoned"] = True

    def _item_added(self, ev: Event, d: dict) -> None:
        self.commerce.item_added(ev, d)
        s = self.sessions.get(self.visit.get(ev.shopper))
        if s is not None:
            s["items_added"] += 1

    def _checkout(self, ev: Event, d: dict) -> None:
        self.commerce.checkout(ev, d)
        s = self.sessions.get(self.visit.get(ev.shopper))
        if s is not None:
            s["checkout"] = True

    # notifications
    def _requested(self, ev: Event, d: dict) -> None:
        nid = d["id"]
        self.notes[nid] = {
            "notification": nid, "number": int(nid.rsplit("-n", 1)[1]), "shopper": ev.shopper,
            "category": d["category"], "class": CATEGORY_CLASS.get(d["category"], MARKETING),
            "requested_channel": d["channel"], "channel": d["channel"], "kind": d.get("kind"),
            "source": d.get("source"), "ref": d.get("ref"), "requested": ev.t, "requested_ms": ev.t,
            "deferrals": 0}

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
                 channel=d["channel"], decided=ev.t, decided_ms=ev.t, decided_by=_decided_by(d),
                 digest=d.get("digest"), coupon=d.get("coupon"), title=d.get("title"))
        if d.get("digest_of") is not None:
            n["digest_items"] = len(d["digest_of"])
        if d.get("coupon") is not None:
            cp = self.coupons.get(d["coupon"])
            if cp is not None:
                cp["notification"] = d["id"]

    def _response(self, ev: Event, d: dict) -> None:
        n = self.notes.get(d.get("id"))
        if n is None:
            return
        n.setdefault(_RESPONSES[ev.type], ev.t)
        if ev.type == E.NOTIFICATION_CLICKED:
            self.commerce.clicked(ev, d)
        elif ev.type == E.NOTIFICATION_OPENED:
            n.setdefault("machine_opened" if d.get("source") == PROXY else "human_opened", ev.t)
        elif ev.type == E.NOTIFICATION_UNSUBSCRIBED:
            n.setdefault("unsubscribe_method", d.get("method") or "link")

    # coupons, ads, surveys
    def _coupon_issued(self, ev: Event, d: dict) -> None:
        self.coupons[d["coupon"]] = {
            "coupon": d["coupon"], "shopper": ev.shopper, "kind": d.get("kind"), "value": d.get("value"),
            "min_order": d.get("min_order"), "source": d.get("source"), "auto_apply": d.get("auto_apply"),
            "issued": ev.t, "issued_ms": ev.t, "expires": self._t(d.get("expires"))}

    def _coupon_seen(self, ev: Event, d: dict) -> None:
        cp = self.coupons.get(d["coupon"])
        if cp is not None and cp.get("seen") is None:
            cp.update(seen=ev.t, seen_via=d.get("via"))

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
                             "products": d.get("products"), "shown": ev.t, "shown_ms": ev.t}

    def _ad_clicked(self, ev: Event, d: dict) -> None:
        a = self.ads.get(d["ad"])
        if a is not None:
            a.setdefault("clicked", ev.t)

    def _survey(self, ev: Event, d: dict) -> None:
        c = self.commerce.carts.get(d["cart"]) or {}
        real = c.get("last_abandon_reason")
        self.surveys.append({"cart": d["cart"], "shopper": ev.shopper, "answered": ev.t, "answered_ms": ev.t,
                             "channel": d.get("channel"), "answer": d.get("answer"), "real_reason": real,
                             "answer_is_real": None if real is None else real == d.get("answer"),
                             "first_abandon_reason": c.get("first_abandon_reason")})

    # the tables
    def tables(self) -> dict[str, Table]:
        h = self.header
        try:
            duration_ms = parse_duration(h["duration"]) if h.get("duration") else None
        except ValueError:
            duration_ms = None
        run = {**{k: h.get(k) for k in ("scenario", "description", "seed", "version", "schema_version")},
               "start": 0, "duration": h.get("duration"), "duration_ms": duration_ms, "end": self.end,
               "end_ms": self.end, "shoppers": h.get("shoppers"), "events": self.events,
               "complete": self.complete}
        daily = self.metrics.series()["day"]
        days = max((len(c) for c in daily.values()), default=0)
        start_day = datetime.fromtimestamp(self.start / 1000, timezone.utc)
        kpis = [{"day": i, "date": (start_day + timedelta(days=i)).date(), "start": i * DAY,
                 **{name: col[i] if i < len(col) else 0 for name, col in daily.items()}} for i in range(days)]
        sources = {"run": [run], "shoppers": self.shoppers, "experiment_assignments": self.assignments,
                   "sessions": self.sessions, "carts": self.commerce.carts, "orders": self.commerce.orders,
                   "order_items": self.commerce.items, "notifications": self.notes, "coupons": self.coupons,
                   "ads": self.ads, "settings_changes": self.settings, "surveys": self.surveys, "kpis_daily": kpis}
        out = {}
        for name, rows in sources.items():
            cols = EXPORT[name] + (kpi_columns(daily) if name == "kpis_daily" else ())
            out[name] = Table(name, cols, partial(_projected, rows, tuple(c for c, _ in cols)), len(rows))
        return out


def _projected(rows: Any, names: tuple[str, ...]) -> Iterator[list[Any]]:
    """The rows of one table (a store of dicts, or a list), each as a list in column order."""
    it = rows.values() if isinstance(rows, SpillStore) else iter(rows)
    return ([r.get(c) for c in names] for r in it)


def kpi_columns(daily: dict[str, list]) -> tuple[tuple[str, str], ...]:
    """The kpis_daily columns after day, date and start: one per daily series (revenue is money)."""
    return tuple((name, F if name == "revenue" or any(isinstance(x, float) for x in col) else I)
                 for name, col in daily.items())


def _decided_by(d: dict) -> str | None:
    trace = d.get("trace")
    return trace[-1].get("step") if trace else None


def build_tables(run: RunFile) -> dict[str, Table]:
    """Every table of one run, from one pass over its events."""
    b = TableBuilder(run.start_epoch)
    b.feed(run.events())
    return b.tables()
