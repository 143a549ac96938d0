"""Two runs side by side, for `shopsim diff`: the headline KPIs, the by-device breakdown, every catalogue
metric, each with A, B and B − A, and each experiment's uplifts in A and in B, in words. Differences of rates are in percentage points ("+1.25 pp");
nothing is ever written "-0.00"."""

from __future__ import annotations

from typing import Any

from shopsim.metrics.catalog import METRICS, format_value, lookup
from shopsim.report.labels import LABELS, device_words, metric_label, pp, pp_range, relative, signed
from shopsim.report.model import Table, human_duration, signed_duration

__all__ = ["HEADLINE", "DEVICE_MEASURES", "metric_rows", "headline_rows", "device_rows", "kpi_table",
           "headline_table", "device_table", "signed_value", "shown_value", "experiment_rows", "experiment_table"]

# (name, section of the result, key, kind). "pp" is a difference of two rates already (incremental recovery).
HEADLINE: tuple[tuple[str, str, str, str], ...] = (
    ("abandonment_rate", "commerce", "abandonment_rate", "rate"),
    ("checkout_abandonment_rate", "commerce", "checkout_abandonment_rate", "rate"),
    ("attributed_recovery_rate", "commerce", "attributed_recovery_rate", "rate"),
    ("organic_recovery_rate", "commerce", "organic_recovery_rate", "rate"),
    ("incremental_recovery_rate", "commerce", "incremental_recovery_rate", "pp"),
    ("recovery_rate", "commerce", "recovery_rate", "rate"),
    ("conversion_rate", "commerce", "conversion_rate", "rate"),
    ("orders", "commerce", "orders", "count"),
    ("revenue", "commerce", "revenue", "money"),
    ("human_open_rate", "messages", "human_open_rate", "rate"),
    ("open_rate", "messages", "open_rate", "rate"),
    ("click_rate", "messages", "click_rate", "rate"),
    ("unsubscribe_rate", "messages", "unsubscribe_rate", "rate"),
    ("complaint_rate", "messages", "complaint_rate", "rate"),
)
DEVICE_MEASURES = (("visits", "visits", "count"), ("carts", "carts created", "count"),
                   ("orders", "carts ordered", "count"),
                   ("abandonment_rate", "cart abandonment (1 − ordered ÷ carts)", "rate"),
                   ("conversion_rate", "conversion (orders ÷ visits)", "rate"))


def _row(name: str, label: str, kind: str, a: Any, b: Any) -> dict[str, Any]:
    diff = b - a if isinstance(a, (int, float)) and isinstance(b, (int, float)) else None
    rel = diff / a if diff is not None and a and kind != "pp" else None
    return {"name": name, "label": label, "kind": kind, "a": a, "b": b, "diff": diff, "relative": rel}


def metric_rows(ra: dict[str, Any], rb: dict[str, Any], every: bool) -> list[dict[str, Any]]:
    """One row per catalogue metric that is not experiment-only: the two values, B − A and (B − A) / A.
    Only the rows that differ unless `every`."""
    rows = []
    for name, d in METRICS.items():
        if d.section == "experiment":
            continue
        a, b = lookup(ra, name), lookup(rb, name)
        if every or a != b:
            rows.append(_row(name, metric_label(name), d.kind, a, b))
    return rows


def headline_rows(ra: dict[str, Any], rb: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline KPIs of both runs, whether or not they differ."""
    return [_row(name, LABELS[name], kind, ra.get(sec, {}).get(key), rb.get(sec, {}).get(key))
            for name, sec, key, kind in HEADLINE]


def device_rows(ra: dict[str, Any], rb: dict[str, Any]) -> list[dict[str, Any]]:
    """Per device (of either run) and measure: A, B, B − A."""
    da, db = (r["commerce"].get("by_device") or {} for r in (ra, rb))
    rows = []
    for device in dict.fromkeys([*da, *db]):
        for key, label, kind in DEVICE_MEASURES:
            row = _row(key, label, kind, da.get(device, {}).get(key), db.get(device, {}).get(key))
            rows.append({"device": device, **row})
    return rows


def shown_value(value: Any, kind: str, currency: str = "") -> str:
    if kind == "pp":
        return pp(value, 2)
    if kind == "duration" and value is not None:
        return human_duration(value)
    return format_value(value, kind, currency if kind == "money" else "")


def signed_value(value: Any, kind: str, currency: str = "") -> str:
    """B − A in the metric's unit: rates in percentage points."""
    if value is None:
        return "—"
    if kind in ("rate", "pp"):
        return pp(value, 2)
    if kind == "money":
        return signed(value, ",.2f", currency)
    if kind == "duration":
        return signed_duration(value) if round(value) else "0s"
    if kind == "count":
        return signed(int(value), ",d")
    return signed(value, ",.4g")


def _cells(r: dict[str, Any], cur_a: str, cur_b: str) -> list[str]:
    cur = cur_a if cur_a == cur_b else ""
    return [shown_value(r["a"], r["kind"], cur_a), shown_value(r["b"], r["kind"], cur_b),
            signed_value(r["diff"], r["kind"], cur), relative(r["relative"])]


def kpi_table(rows: list[dict[str, Any]], cur_a: str, cur_b: str, title: str = "") -> Table:
    return Table(title, ["metric", "A", "B", "B − A", "relative\nchange"],
                 [[r["label"], *_cells(r, cur_a, cur_b)] for r in rows], wrap=(0,))


def headline_table(rows: list[dict[str, Any]], cur_a: str, cur_b: str) -> Table:
    return Table("", ["", "A", "B", "B − A"], [[r["label"], *_cells(r, cur_a, cur_b)[:3]] for r in rows], wrap=(0,),
                 note="B − A of rates in percentage points (pp). Incremental recovery is itself a difference "
                      "(treated arms − holdout, in pp), empty without a holdout.")


def device_table(rows: list[dict[str, Any]]) -> Table:
    body, last = [], None
    for r in rows:
        body.append([device_words(r["device"]) if r["device"] != last else "", r["label"],
                     *_cells(r, "", "")[:3]])
        last = r["device"]
    return Table("", ["device", "", "A", "B", "B − A"], body, align="llrrr",
                 note="A cart belongs to the device it was created on.")


def _uplifts(exp: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(variant, baseline) -> its row on the experiment's own metric: the named pairs, then each arm against
    the control, then the other pairs (the report's order)."""
    rows = [c for c in (*exp.get("comparisons", ()), *(exp.get("pairs") or ())) if c.get("primary")]
    rows.sort(key=lambda c: not c.get("named"))
    return {(c["variant"], c["control_name"]): c for c in rows}


def experiment_rows(ra: dict[str, Any], rb: dict[str, Any]) -> list[dict[str, Any]]:
    """Per experiment of either run and per comparison of its arms on the experiment's own metric: the uplift
    with its 95% interval and Holm-adjusted p in A and in B, and B − A of the uplifts. A comparison one run
    lacks (another experiment, another arm) has None on that side."""
    ea, eb = ra.get("experiments") or {}, rb.get("experiments") or {}
    out = []
    for name in dict.fromkeys([*ea, *eb]):
        a, b = ea.get(name) or {}, eb.get(name) or {}
        metric = a.get("metric") or b.get("metric")
        ua, ub = _uplifts(a), _uplifts(b)
        for key in dict.fromkeys([*ua, *ub]):
            ca, cb = ua.get(key), ub.get(key)
            row = {"experiment": name, "metric": metric, "variant": key[0], "against": key[1],
                   "named": bool((ca or {}).get("named") or (cb or {}).get("named")),
                   "metric_a": a.get("metric"), "metric_b": b.get("metric")}
            for side, c in (("a", ca), ("b", cb)):
                row.update({f"{k}_{side}": (c or {}).get(k) for k in ("diff", "low", "high", "p", "p_holm")})
                row[f"significant_{side}"] = bool(c and c.get("significant_holm", c.get("significant")))
            both = row["diff_a"] is not None and row["diff_b"] is not None and row["metric_a"] == row["metric_b"]
            row["change"] = row["diff_b"] - row["diff_a"] if both else None
            out.append(row)
    return out


def _uplift_cell(r: dict[str, Any], side: str, currency: str) -> str:
    d = r[f"diff_{side}"]
    if d is None:
        return "—"
    money_metric = r[f"metric_{side}"] == "revenue_per_shopper"
    value = signed(d, ",.2f", currency) if money_metric else pp(d)
    lo, hi = r[f"low_{side}"], r[f"high_{side}"]
    if lo is None:
        return value
    interval = f"{signed(lo)} to {signed(hi)}" if money_metric else pp_range(lo, hi)
    return f"{value}\n({interval})"


def experiment_table(rows: list[dict[str, Any]], currency: str = "") -> Table:
    """Each experiment's comparisons, uplift and 95% interval in A and in B, and B − A."""
    body = []
    for r in rows:
        money_metric = r["metric"] == "revenue_per_shopper"
        change = "—" if r["change"] is None else (signed(r["change"], ",.2f", currency) if money_metric
                                                  else pp(r["change"]))
        holm = " / ".join("—" if r[f"p_holm_{s}"] is None else f"{r[f'p_holm_{s}']:.3f}" for s in ("a", "b"))
        body.append([f"{r['experiment']}: {r['variant']} against {r['against']}" + (" (named)" if r["named"] else ""),
                     _uplift_cell(r, "a", currency), _uplift_cell(r, "b", currency), change, holm])
    return Table("", ["comparison", "uplift in A\n(95% interval)", "uplift in B\n(95% interval)", "B − A",
                      "Holm p\nA / B"], body, wrap=(0,),
                 note="Uplift: the first arm minus the second on the experiment's own metric (in pp for shopper "
                      "rates); Holm p: adjusted for every comparison of the experiment in that run.")
