"""Regenerate every example line of docs/event-log.md from real runs, by the selection rules the doc states.

Run it after a change to the model made on purpose, when tests/docs/test_doc_examples.py says an example is no
longer a line a fresh run writes:

    .venv/bin/python tests/docs/regen_doc_examples.py [--write]

It prints the shoppers the prose names, so the stories can be checked against the new lines."""

from __future__ import annotations

import io
import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shopsim.validate import load_scenario, load_scenario_text  # noqa: E402
from shopsim.contract.units import parse_duration  # noqa: E402
from shopsim.simulation import Simulation  # noqa: E402
from shopsim.store.recorder import Recorder  # noqa: E402

DOC = ROOT / "docs" / "event-log.md"
text = DOC.read_text(encoding="utf-8")
OUT = Path(tempfile.mkdtemp(prefix="shopsim-doc-examples-"))


def run(sc, name, mark=None):
    sim = Simulation(sc)
    buf = io.BytesIO()
    sim.subscribe(Recorder(sim.scenario.start_epoch, buf))
    if mark:
        sim.run_until(parse_duration("2d"))
        sim.mark_read(mark)
    sim.run()
    raw = buf.getvalue().decode("utf-8")
    (OUT / f"{name}.jsonl").write_text(raw, encoding="utf-8")
    return [(json.loads(l), l) for l in raw.splitlines()]


def match(r, kw):
    for k, v in kw.items():
        if callable(v):
            if not v(r.get(k)):
                return False
        elif r.get(k) != v:
            return False
    return True


def first(L, **kw):
    for r, l in L:
        if match(r, kw):
            return r, l
    raise LookupError(kw)


def allof(L, **kw):
    return [(r, l) for r, l in L if match(r, kw)]


docsc = {re.search(r"name: (\w+)", m).group(1): m
         for m in re.findall(r"```yaml\n(schema_version: 1\nrun: .*?)```", text, re.S)}
print("doc scenarios:", sorted(docsc))
logs = {n: run(load_scenario_text(t), n) for n, t in docsc.items()}
for n in ("opt_out", "default", "account_security", "digests", "frequency_caps", "cart_recovery", "flash_sale",
          "heavy_promotion"):
    logs[n] = run(load_scenario(ROOT / "scenarios" / f"{n}.yaml"), n)

X, C, D, H = logs["examples"], logs["cart_recovery"], logs["default"], logs["heavy_promotion"]
out = []
story = {}

# --- run, shoppers, settings -------------------------------------------------------------------------
O = logs["opt_out"]
out += [O[0][1], X[-1][1], O[1][1]]
out.append(first(X, type="settings.changed", shopper="s000001")[1])
for m in ("link",):
    u = first(H, type="notification.unsubscribed", method=m)
    out.append(H[H.index(u) + 1][1])
u = first(H, type="notification.unsubscribed", method="os_settings")
out.append(H[H.index(u) + 1][1])
u = first(H, type="notification.complained")
out.append(H[H.index(u) + 1][1])

# --- the recovery story in cart_recovery: first step-2 coupon redeemed by an order attributed to its push
red = None
for r, l in allof(C, type="coupon.redeemed"):
    iss = first(C, type="coupon.issued", coupon=r["coupon"])[0]
    order = first(C, type="order.placed", order=r["order"])[0]
    if iss["source"] == "flow:cart_recovery:2":
        dl = first(C, type="notification.delivered", coupon=r["coupon"])[0]
        if order["attributed_to"] == dl["id"]:
            red = (r, iss, order, dl)
            break
r, iss, order, dl = red
sid, nid = r["shopper"], dl["id"]
story["recovery"] = (sid, nid, order["order"])
click_visit = first(C, type="session.started", source=f"click:{nid}")

# --- browsing and carts (examples.yaml) --------------------------------------------------------------
out.append(first(X, type="session.started", shopper="s000001", source="scenario")[1])
out.append(click_visit[1])
out.append(first(X, type="product.viewed")[1])
co = first(X, type="checkout.started", shopper="s000001")
add = [x for x in allof(X, type="cart.item_added", cart=co[0]["cart"]) if x[0]["seq"] < co[0]["seq"]][-1]
out.append(add[1])
out.append(first(X, type="cart.emptied", shopper="s000001")[1])
out.append(co[1])
ab_co = first(X, type="cart.abandoned", shopper="s000001", stage="checkout")
ab_ca = first(X, type="cart.abandoned", shopper="s000001", stage="cart")
ab_ex = first(X, type="cart.abandoned", reason="extra_costs")
out += [ab_co[1], ab_ca[1], ab_ex[1]]
story["s000001 abandonments"] = [ab_co[0], ab_ca[0], ab_ex[0]]
story["s000001 checkout"] = (add[0], co[0])

# survey: the first on-site answer that differs from the real reason, with its cart.abandoned; the first email one
S = logs["survey"]
last = {}
pair = None
for x in S:
    if x[0]["type"] == "cart.abandoned":
        last[x[0]["cart"]] = x
    if x[0]["type"] == "survey.answered" and x[0]["channel"] == "on_site" and x[0]["answer"] != last[x[0]["cart"]][0]["reason"]:
        pair = (last[x[0]["cart"]], x)
        break
out += [pair[0][1], pair[1][1], first(S, type="survey.answered", channel="email")[1]]
story["survey"] = (pair[0][0], pair[1][0], first(S, type="survey.answered", channel="email")[0])

out.append(first(logs["browse"], type="browse.abandoned")[1])

# --- orders ------------------------------------------------------------------------------------------
delivered = sorted((r for r, l in X if r["type"] == "order.delivered"), key=lambda r: (r["shopper"], r["seq"]))
o = delivered[0]["order"]
pl = first(X, type="order.placed", order=o)
other = first(X, type="order.placed", shipping=(lambda v: v == 0) if pl[0]["shipping"] > 0 else (lambda v: v > 0))
out += [pl[1], other[1], first(C, type="order.placed", order=order["order"])[1]]
story["orders"] = (pl[0], other[0])
placed = {r["order"]: r for r, l in X if r["type"] == "order.placed"}
conf2 = {r["order"] for r, l in X if r["type"] == "payment.confirmed" and r["attempt"] == 2}
refunds = {r["order"]: r for r, l in X if r["type"] == "refund.issued"}
disp = {r["order"] for r, l in X if r["type"] == "dispute.opened"}
po = next(r["order"] for r, l in X if r["type"] == "payment.failed" and r["order"] in conf2 and r["order"] in disp
          and r["order"] in refunds and round(refunds[r["order"]]["amount"] * 100) == round(placed[r["order"]]["total"] * 100))
out.append(first(X, type="payment.failed", order=po)[1])
out.append(first(X, type="payment.confirmed", order=po, attempt=2)[1])
out.append(first(X, type="order.cancelled")[1])
out.append(first(X, type="order.processing", order=o)[1])
for t in ("order.shipped", "shipment.in_transit", "shipment.out_for_delivery", "order.delivered"):
    out.append(first(X, type=t, order=o)[1])
out.append(first(X, type="dispute.opened", order=po)[1])
out.append(first(X, type="refund.issued", order=po)[1])

# --- coupons -----------------------------------------------------------------------------------------
G = logs["digest_coupons"]
dig = first(G, type="notification.delivered", category="digest", channel="email", coupons=lambda v: bool(v))
gsid = dig[0]["shopper"]
gissued = first(G, type="coupon.issued", coupon=dig[0]["coupons"][0])
gseen = first(G, type="coupon.seen", via="in_app", shopper=gsid)
out += [first(C, type="coupon.issued", coupon=r["coupon"])[1], gissued[1]]
out += [first(C, type="coupon.seen", coupon=r["coupon"])[1], gseen[1]]
out.append(r and first(C, type="coupon.redeemed", coupon=r["coupon"])[1])
out.append(first(C, type="coupon.expired")[1])
out.append(dig[1])
story["digest coupons"] = (dig[0]["id"], dig[0]["t"], gseen[0])

# --- prices, ads, account ----------------------------------------------------------------------------
out.append(first(logs["price_drop"], type="product.price_changed")[1])
out.append(first(logs["policy_change"], type="policy.changed")[1])
FS = logs["flash_sale"]
c = first(FS, type="ad.clicked")
out += [first(FS, type="ad.impression", ad=c[0]["ad"])[1], c[1]]
out.append(first(X, type="account.new_signin", shopper="s000001")[1])
out.append(first(X, type="account.password_changed", method="reset_link")[1])

# --- notifications -----------------------------------------------------------------------------------
D2 = parse_duration("2d")
opened_by_her = {}
for x, l in D:
    if x["type"] == "notification.opened" and x["source"] != "proxy":
        opened_by_her.setdefault(x["id"], x["t"])
dlv = {x["id"]: x for x, l in D if x["type"] == "notification.delivered"}
ship = None
for x, l in D:
    if x["type"] == "notification.deferred" and x["category"] == "shipping" and x["channel"] == "push" \
            and x["reason"] == "quiet_hours" and x["id"] in dlv and dlv[x["id"]]["t"] < "2026-03-04" \
            and opened_by_her.get(x["id"], "z") > "2026-03-04":
        ship = x["id"]
        break
story["shipped push"] = ship
DM = run(load_scenario(ROOT / "scenarios" / "default.yaml"), "default_mr", mark=ship)
Gd = logs["digests"]
out.append(first(D, type="notification.requested", id=ship)[1])
out.append(first(Gd, type="notification.requested", id="s000002-n2")[1])
out.append(first(C, type="notification.requested", id=nid)[1])
out.append(first(FS, type="notification.requested", kind="campaign")[1])
out.append(first(D, type="notification.deferred", id=ship)[1])
out.append(first(D, type="notification.delivered", id=ship)[1])
out.append(first(logs["account_security"], type="notification.delivered", rerouted_from="push", channel="in_app")[1])
out.append(first(Gd, type="notification.delivered", id="s000002-n2")[1])
out.append(first(C, type="notification.delivered", id=nid)[1])
out.append(first(Gd, type="notification.digested", id="s000002-n1")[1])
out.append(first(D, type="notification.suppressed")[1])
out.append(first(logs["frequency_caps"], type="notification.suppressed", reason="frequency_cap")[1])
out.append(first(C, type="notification.suppressed", rule="flow.exit.retriggered")[1])
last_step = first(C, type="notification.suppressed", rule="flow.exit.order_placed", shopper=sid)
out.append(last_step[1])
out.append(first(D, type="notification.suppressed", reason="flow_condition")[1])
story["recovery steps"] = last_step[0]["id"]

# engagement
out.append(first(C, type="notification.opened", id=nid, source="shopper")[1])
opens = {}
for x, l in C:
    if x["type"] == "notification.opened":
        opens.setdefault(x["id"], []).append((x, l))
proxy = next(v for v in opens.values() if v[0][0]["source"] == "proxy" and len(v) > 1)
out += [proxy[0][1], proxy[1][1]]
pd = first(C, type="notification.delivered", id=proxy[0][0]["id"])[0]
story["proxy"] = (pd["id"], pd["category"], pd["t"], proxy[0][0]["t"], proxy[1][0]["t"])
out.append(first(DM, type="notification.opened", source="user")[1])
out.append(first(C, type="notification.clicked", id=nid)[1])
out.append(first(C, type="notification.dismissed", category="cart_reminders")[1])
for m in ("link", "list_unsubscribe", "os_settings"):
    out.append(first(H, type="notification.unsubscribed", method=m)[1])
out.append(first(H, type="notification.complained")[1])
out.append(first(logs["experiment_example"], type="experiment.started")[1])
out.append(first(logs["experiment_example"], type="experiment.assigned")[1])

# --- write -------------------------------------------------------------------------------------------
lines = text.split("\n")
idx = [i for i, l in enumerate(lines) if l.startswith('{"') and '"type":' in l]
old_types = [json.loads(lines[i])["type"] for i in idx]
new_types = [json.loads(l)["type"] for l in out]
assert old_types == new_types, list(zip(old_types, new_types))
changed = 0
for i, l in zip(idx, out):
    if lines[i] != l:
        changed += 1
        lines[i] = l
print("example lines:", len(idx), "changed:", changed)
for k, v in story.items():
    print(k, "=>", v)
if "--write" in sys.argv:
    DOC.write_text("\n".join(lines), encoding="utf-8")
    print("written")

# --- tables in the query section -----------------------------------------------------------------------
import collections  # noqa: E402

src, rows = {}, collections.defaultdict(collections.Counter)
for x, l in C:
    t = x["type"]
    if t == "notification.requested" and x["source"].startswith(("flow:", "campaign:")):
        src[x["id"]] = x["source"]
        rows[x["source"]]["requested"] += 1
    elif t in ("notification.delivered", "notification.clicked") and x["id"] in src:
        rows[src[x["id"]]][t[13:]] += 1
    elif t == "notification.opened" and x["source"] == "shopper" and x["id"] in src:
        rows[src[x["id"]]]["opened"] += 1
    elif t == "order.placed" and x["attributed_to"] in src:
        rows[src[x["attributed_to"]]]["orders"] += 1
cols = ("requested", "delivered", "opened", "clicked", "orders")
funnel = "\t".join(("source",) + cols) + "\n" + "".join(
    "\t".join([s] + [str(rows[s][c]) for c in cols]) + "\n" for s in sorted(rows))
print(funnel)
cnt = collections.Counter()
for x, l in D:
    if x["type"] in ("notification.delivered", "notification.deferred", "notification.digested", "notification.suppressed"):
        cnt[(x["type"], x["trace"][-1]["step"], x["trace"][-1]["outcome"])] += 1
ranked = cnt.most_common()
assert len({n for _, n in ranked}) == len(ranked), "ties: duckdb's order would be undefined"
w = [max(len("type"), max(len(k[0]) for k, _ in ranked)), max(len("decided_by"), max(len(k[1]) for k, _ in ranked)),
     max(len("outcome"), max(len(k[2]) for k, _ in ranked)), max(len("n"), len("int64"), max(len(str(n)) for _, n in ranked))]


def row(vals, align):
    cells = []
    for v, width, a in zip(vals, w, align):
        if a == "c":
            pad = width - len(v)
            cells.append(" " * (pad // 2) + v + " " * (pad - pad // 2))
        elif a == "r":
            cells.append(v.rjust(width))
        else:
            cells.append(v.ljust(width))
    return "│ " + " │ ".join(cells) + " │"


bar = lambda l, m, r: l + m.join("─" * (x + 2) for x in w) + r  # noqa: E731
table = "\n".join([bar("┌", "┬", "┐"), row(("type", "decided_by", "outcome", "n"), "cccc"),
                   row(("varchar", "varchar", "varchar", "int64"), "cccc"), bar("├", "┼", "┤")]
                  + [row((k[0], k[1], k[2], str(n)), "lllr") for k, n in ranked] + [bar("└", "┴", "┘")]) + "\n"
print(table)
if "--write" in sys.argv:
    t2 = DOC.read_text(encoding="utf-8")
    t2 = re.sub(r"(On `scenarios/cart_recovery.yaml` the funnel prints:\n\n```\n).*?(```)", lambda m: m.group(1) + funnel + m.group(2), t2, flags=re.S)
    t2 = re.sub(r"(On `scenarios/default.yaml` the first DuckDB query prints:\n\n```\n).*?(```)", lambda m: m.group(1) + table + m.group(2), t2, flags=re.S)
    DOC.write_text(t2, encoding="utf-8")
    print("tables written")

# --- docs/notifications.md: the explain/inbox/mark_read example's output -----------------------------
import contextlib  # noqa: E402

NDOC = ROOT / "docs" / "notifications.md"
nt = NDOC.read_text(encoding="utf-8")
m = re.search(r"```python\n(from shopsim.validate import load_scenario\nfrom shopsim.contract.units import "
              r"parse_duration\nfrom shopsim.simulation import Simulation\n\nsim = Simulation.*?)```\n\n```\n(.*?)```", nt, re.S)
code = m.group(1).replace('"scenarios/default.yaml"', f'"{ROOT}/scenarios/default.yaml"')
assert f'"{ship}"' in code, f"the example's notification is no longer {ship}"
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    exec(compile(code, "notifications.md", "exec"), {})
print(buf.getvalue())
if "--write" in sys.argv:
    nt = nt[:m.start(2)] + buf.getvalue() + nt[m.end(2):]
    NDOC.write_text(nt, encoding="utf-8")
    print("notifications.md output written")
