"""`Metrics.of_run`'s reader: the KPIs of a finished run from its lines, most of them never parsed.

A log line has one form (docs/event-log.md, store/jsonl.py): compact JSON with its keys sorted at every level,
so each type's fields come in a fixed order, and `,"key":` is always a key, never text (inside a string a
quote is escaped). Most types end their line with `"type":"T"}`, so a line's last bytes say its type without
a search. The reader takes the lines a list at a time (about 1 MB of log) and sorts them by type:

- a type no KPI reads (`Metrics.unread`) is counted, nothing more;
- the busiest types (`BULK`) are read from their bytes a list at a time: the bytes of the fields their
  handler reads are cut out of all the type's lines a column at a time (finds mapped over the list), and the
  handler is called once per group of lines that differ in nothing it reads, told how many the group holds.
  Their handlers read the time only for its hour and count nothing that depends on the order of other
  types' events, so they run before the list's other lines (notification.opened, whose first open counts,
  and shopper.created are handed their lines one by one, in order);
- every other line is parsed whole and handed to its handler in the log's order.

A line read from its bytes is checked as far as it is read: how it ends, the fields its handler reads, its
time to the hour; like a line of a type no KPI reads, the rest of it is not parsed. Every parsed line's seq
must be its line number, and each list's last line is parsed, so a line missing or repeated is noticed.

From the list with the first experiment assignment on, every line is parsed and goes through
`Metrics.read`, as experiment arms need every event's shopper. Whatever the reader cannot vouch for (a line
not written as the log writes it, a value with an escape, a run that starts within an hour) raises `Doubt`,
and `Metrics.of_run` reads the run again event by event: that read has the last word on a damaged log, and
names its bad line.

tests/metrics/test_kpis_log.py checks that both reads give the same KPIs on the shipped scenarios."""

from __future__ import annotations

import re
from collections import Counter
from itertools import repeat
from operator import add, getitem
from typing import Any, Callable, Container, Iterable, Iterator, Protocol

import orjson
import simdjson

from shopsim.contract import events as E
from shopsim.contract.clock import HOUR
from shopsim.contract.events import Event
from shopsim.contract.payloads import PAYLOADS

_find, _startswith, _endswith = bytes.find, bytes.startswith, bytes.endswith
_HOUR_KEY = re.compile(rb',"t":"(\d{4}-\d\d-\d\dT\d\d)')  # `,"t":"` and t[:13]
_CELL = re.compile(rb'[{,]"category":"([^"\\]*)","channel":"([^"\\]*)')
_TAIL = 20  # a line's last bytes that tell its type: today no two types' `"type":"T"}` end alike
_KEY = 19   # `,"t":"` and t[:13]: the hour of a line


class Doubt(Exception):
    """The fast reader cannot vouch for a line: the run is read event by event instead."""


def _all_json(checker: Any, part: list[bytes]) -> None:
    """Every line of the list is one JSON value, valid to its last byte (strings, escapes and UTF-8
    included), or Doubt. Most lines are read only as far as a KPI needs; this is what still tells a log
    damaged anywhere in a line from a sound one, at a tenth of what parsing them into objects costs
    (simdjson validates without building them)."""
    try:
        doc = checker.parse(b"[" + b",".join(part) + b"]")
        n = len(doc)
        del doc  # the parser's buffer is reused by the next list
    except (ValueError, RuntimeError):  # UnicodeDecodeError is a ValueError
        raise Doubt("a line that is not JSON") from None
    if n != len(part):  # a line such as `{...},{...}` is two values in the list, not one line
        raise Doubt("a line that is not one JSON value")


class RunLines(Protocol):
    """What the reader needs of a run (store.runfile.RunFile, named here, not imported: the store stands
    above the metrics)."""

    start_epoch: int

    def line_lists(self, cut: list | None = ...) -> Iterator[list[bytes]]: ...

    def ms(self, t: str) -> int: ...


def read_run(m: Any, run: RunLines, handlers: dict[str, Callable], unread: Container[str]) -> None:
    """Feed every line of `run` to `m`, a kpis.Metrics with no arms yet (not imported: kpis imports this
    module), through `handlers`, its handler of each type; Doubt when it cannot."""
    if run.start_epoch % HOUR:  # the hours of the run are not those of its times' text
        raise Doubt("the run does not start on the hour")
    _Reader(m, run, handlers, unread).read()


class _Reader:
    def __init__(self, m: Any, run: RunLines, handlers: dict[str, Callable], unread: Container[str]):
        self.m, self.run, self.handlers, self.unread = m, run, handlers, unread
        self.hours: dict[bytes, int] = {}              # `,"t":"` + t[:13] -> virtual ms of that hour
        self.words: dict[bytes, Any] = {}              # a JSON value's bytes (a string, a boolean) -> the value
        self.cells: dict[bytes, dict[str, str]] = {}   # `"category":"C","channel":"H` -> its fields
        self.names: dict[bytes, str] = {}              # a type as a line writes it -> its name
        self.tails: dict[bytes, str] = {}              # a line's last _TAIL bytes -> its type
        ends = Counter((b'"type":"' + name.encode() + b'"}')[-_TAIL:] for name in PAYLOADS)
        for name in PAYLOADS:
            tail = (b'"type":"' + name.encode() + b'"}')[-_TAIL:]
            if ends[tail] == 1:  # types that end alike go to the search for `"type":"` below
                self.tails[tail] = name

    def read(self) -> None:
        m, counts, handlers, unread = self.m, self.m.counts, self.handlers, self.unread
        bulk, names, parse = BULK, self.names, self.parse
        end_t = None
        n0 = 1  # the line number of the list's first line
        parts = self.run.line_lists()
        checker = simdjson.Parser()
        for part in parts:
            if not part:  # a chunk of the file inside one long line
                continue
            _all_json(checker, part)
            # Sort the list's lines: a list per bulk or unread type, the others in order.
            groups: dict[str, list[bytes]] = {}
            push = {tail: groups.setdefault(name, []).append for tail, name in self.tails.items()
                    if name in bulk or name in unread}
            rest: list[bytes] = []
            get, other = push.get, rest.append
            for line in part:
                get(line[-_TAIL:], other)(line)
            ordered, unread_seen, arms = [], [], False
            for line in rest:  # a line with a key after `type` (or not a log line at all)
                i = line.rfind(b'"type":"')
                if i > 0:
                    j = line.find(b'"', i + 8)
                    if line.find(b"}", j) == len(line) - 1:  # nothing nested after the type
                        raw = line[i + 8:j]
                        name = names.get(raw)
                        if name is None:
                            name = names[raw] = raw.decode("utf-8", "replace")
                        if name in unread:  # as RunFile.events(unread=...) counts it
                            unread_seen.append(name)
                            continue
                        if name in bulk:
                            groups.setdefault(name, []).append(line)
                            continue
                        arms = arms or name == E.EXPERIMENT_ASSIGNED
                ordered.append(line)
            if arms:  # arms need every event's shopper: from this list on, each line goes through Metrics.read
                m.read(self._events(part, n0, parts))
                return
            counts.update(unread_seen)
            for name, lines in groups.items():
                if not lines:
                    continue
                counts[name] += len(lines)
                if name in bulk:
                    getattr(self, bulk[name])(lines, name, handlers[name])
                else:
                    _ends(lines, name, b"")
            for line in ordered:
                t, typ, sid, d = parse(line, part, n0)
                counts[typ] += 1
                h = handlers.get(typ)
                if h is not None:
                    h(m, t, d, sid)
                elif typ == E.EXPERIMENT_ASSIGNED:  # an assignment not written as the log writes it
                    raise Doubt("an experiment assignment")
            # the list's last line: its seq says no line before it is missing or repeated
            end_t = parse(part[-1], part, n0)[0]
            n0 += len(part)
        if end_t is not None:
            m.end_t = end_t

    def parse(self, line: bytes, part: list[bytes], n0: int) -> tuple[int, str, Any, dict]:
        """A line parsed whole: its t, type, shopper and other fields. Its seq must be its line number: its
        place in the list it came in."""
        seq, t, typ, sid, rec = self.record(line)
        if not 0 <= seq - n0 < len(part) or part[seq - n0] is not line:
            raise Doubt(f"a line whose seq ({seq}) is not its line number")
        return t, typ, sid, rec

    def record(self, line: bytes) -> Event:
        """A line parsed whole, as the Event RunFile.events() makes of it (its seq not checked)."""
        try:
            rec = orjson.loads(line)
            seq, t, typ, sid = rec.pop("seq"), rec.pop("t"), rec.pop("type"), rec.pop("shopper")
            if type(seq) is not int:
                raise TypeError(seq)
            return Event(seq, self.run.ms(t), typ, sid, rec)
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
            raise Doubt("a line that does not parse") from None

    def _events(self, part: list[bytes], n0: int, parts: Iterator[list[bytes]]) -> Iterator[Event]:
        """Every line from this list on, its seq its line number."""
        while True:
            for n, line in enumerate(part, n0):
                ev = self.record(line)
                if ev[0] != n:
                    raise Doubt(f"a line whose seq ({ev[0]}) is not its line number")
                yield ev
            n0 += len(part)
            part = next(parts, None)
            if part is None:
                return

    # --- parts of lines ---------------------------------------------------------------------------------

    def hour(self, raw: bytes) -> int:
        """`,"t":"` and t[:13] as the virtual ms of that hour's start (the run starts on the hour)."""
        t = self.hours.get(raw)
        if t is None:
            found = _HOUR_KEY.fullmatch(raw)
            if found is None:
                raise Doubt(f"no time where it should be: {raw!r}")
            try:
                t = self.hours[raw] = self.run.ms(found[1].decode() + ":00:00.000Z")
            except (TypeError, ValueError):
                raise Doubt(f"a time that is not one: {raw!r}") from None
        return t

    def word(self, raw: bytes) -> Any:
        """A JSON value's bytes as the value: a string without escapes, true, false or null."""
        try:
            return self.words[raw]
        except KeyError:
            pass
        if raw[:1] == b'"' and raw[-1:] == b'"' and len(raw) > 1:
            w = _texts([raw[1:-1]])[0]
        elif raw in _LITERALS:
            w = _LITERALS[raw]
        else:
            raise Doubt(f"a value the reader does not take: {raw!r}")
        self.words[raw] = w
        return w

    def cell(self, raw: bytes) -> dict[str, str]:
        """`"category":"C","channel":"H` (after a `{` or `,`) as the fields category and channel. The dict is
        shared: the handlers handed it neither keep nor change it."""
        d = self.cells.get(raw)
        if d is None:
            found = _CELL.fullmatch(raw)
            if found is None:
                raise Doubt(f"no category and channel where they should be: {raw!r}")
            category, channel = _texts([found[1], found[2]])
            d = self.cells[raw] = {"category": category, "channel": channel}
        return d

    # --- bulk readers: the lines of one type in a list, its name, its handler ---------------------------------

    def _hours_at_end(self, lines: list[bytes], name: str) -> Iterator[bytes]:
        """Each line's `,"t":"` + t[:13], for a type whose last key before `type` is `t`."""
        k = _ends(lines, name, b'"') + 30
        return map(getitem, lines, repeat(slice(-k, -k + _KEY)))

    def ads(self, lines: list[bytes], name: str, handler: Callable) -> None:
        # ad.impression, ad.clicked: ad, products, reason, ref, seq, shopper, t, type; the handler reads t
        m, hour = self.m, self.hour
        for raw, n in Counter(self._hours_at_end(lines, name)).items():
            handler(m, hour(raw), None, None, n)

    def requested(self, lines: list[bytes], name: str, handler: Callable) -> None:
        # category, channel, id, kind, ref, seq, shopper, source, t, type (notification.dismissed: category,
        # channel, id, seq, shopper, t, type); the handler reads t, category, channel
        m, hour, cell = self.m, self.hour, self.cell
        cells = _cut(lines, repeat(0), map(_find, lines, repeat(b'","id":"')))
        for (c, raw), n in Counter(zip(cells, self._hours_at_end(lines, name))).items():
            handler(m, hour(raw), cell(c), None, n)

    def session(self, lines: list[bytes], name: str, handler: Callable) -> None:
        # device, seq, session, shopper, source, t, type; the handler reads t, device
        m, hour, word = self.m, self.hour, self.word
        if not all(map(_startswith, lines, repeat(b'{"device":'))):
            raise Doubt("a session.started line not written as the log writes it")
        devices = _cut(lines, repeat(10), map(_find, lines, repeat(b',"seq":')))
        fields: dict[bytes, dict[str, str]] = {}
        for (dev, raw), n in Counter(zip(devices, self._hours_at_end(lines, name))).items():
            d = fields.get(dev)
            if d is None:
                d = fields[dev] = {"device": word(dev)}
            handler(m, hour(raw), d, None, n)

    def suppressed(self, lines: list[bytes], name: str, handler: Callable) -> None:
        # category, channel, id, reason, rule, seq, shopper, t, trace, type; the handler reads t, category,
        # channel, reason
        m, hour, cell, word = self.m, self.hour, self.cell, self.word
        _ends(lines, name, b"]")  # trace comes between t and type: t is found after the rule
        ids, reasons, rules, ts = _places(lines, b'","id":"', b',"reason":', b',"rule":', b',"t":"')
        keys = zip(_cut(lines, repeat(0), ids), _cut(lines, _plus(reasons, 10), rules),
                   _cut(lines, ts, _plus(ts, _KEY)))
        fields: dict[tuple[bytes, bytes], dict[str, str]] = {}
        for (c, why, raw), n in Counter(keys).items():
            d = fields.get((c, why))
            if d is None:
                d = fields[(c, why)] = {**cell(c), "reason": word(why)}
            handler(m, hour(raw), d, None, n)

    def delivered(self, lines: list[bytes], name: str, handler: Callable) -> None:
        # body, category, channel, coupon, coupons, digest_of, dropped, id, link, rerouted_from, seq, shopper,
        # t, title, trace, type; the handler reads t, category, channel, rerouted_from, and the shopper, whose
        # part (Metrics._delivered_to) is handed every line's shopper and fields at once
        m, hour, cell, word = self.m, self.hour, self.cell, self.word
        if not all(map(_startswith, lines, repeat(b'{"body":"'))):  # the body, a string, then the category
            raise Doubt("a notification.delivered line not written as the log writes it")
        _ends(lines, name, b"]")  # title and trace come between t and type
        cats, coupons, moved, seqs, sids, ts = _places(
            lines, b',"category":"', b'","coupon":', b',"rerouted_from":', b',"seq":', b',"shopper":"', b'","t":"')
        cells = list(_cut(lines, cats, coupons))
        fields: dict[tuple[bytes, bytes], dict[str, Any]] = {}
        for (c, via, raw), n in Counter(zip(cells, _cut(lines, _plus(moved, 17), seqs),
                                            _cut(lines, _plus(ts, 1), _plus(ts, 1 + _KEY)))).items():
            d = fields.get((c, via))
            if d is None:
                d = fields[(c, via)] = {**cell(c), "rerouted_from": word(via)}
            handler(m, hour(raw), d, None, n)
        of = _values(cells, cell)
        m._delivered_to(_texts(_cut(lines, _plus(sids, 12), ts)), list(map(of.__getitem__, cells)))

    def opened(self, lines: list[bytes], name: str, handler: Callable) -> None:
        # category, channel, id, seq, shopper, source, t, type; the handler reads t, category, channel, id,
        # source and the shopper, and counts a message's first open: the lines are handed over one by one
        m = self.m
        ids, seqs, sids, sources = _places(lines, b'","id":"', b',"seq":', b',"shopper":"', b'","source":')
        k = _ends(lines, name, b'"') + 30
        cells, how = _cut(lines, repeat(0), ids), _cut(lines, _plus(sources, 11), repeat(-k))
        hours = list(map(getitem, lines, repeat(slice(-k, -k + _KEY))))
        of, by, at = _values(cells, self.cell), _values(how, self.word), _values(hours, self.hour)
        for c, nid, sid, source, raw in zip(cells, _texts(_cut(lines, _plus(ids, 8), _plus(seqs, -1))),
                                            _texts(_cut(lines, _plus(sids, 12), sources)), how, hours):
            handler(m, at[raw], {**of[c], "id": nid, "source": by[source]}, sid)

    def shoppers(self, lines: list[bytes], name: str, handler: Callable) -> None:
        # city, country, email, favourites, locale, mail_proxy, name, phone, platform, reach {app, email, phone},
        # segment, seq, settings {categories, channels, digest, marketing_consent, personalization,
        # push_os_permission, quiet_hours, sms_opt_in}, shopper, t, type, tz; the handler reads the shopper and,
        # through kpis_shoppers.profile, platform, reach.app, settings.push_os_permission,
        # settings.marketing_consent and mail_proxy
        m, word = self.m, self.word
        proxy, names, platform, app, email, consent, personal, push, quiet, sids, ts = _places(
            lines, b',"mail_proxy":', b',"name":"', b',"platform":', b',"reach":{"app":', b',"email":',
            b',"marketing_consent":', b',"personalization":', b',"push_os_permission":', b',"quiet_hours":',
            b'},"shopper":"', b'","t":"')
        keys = zip(_cut(lines, _plus(proxy, 14), names), _cut(lines, _plus(platform, 12), app),
                   _cut(lines, _plus(app, 16), email), _cut(lines, _plus(consent, 21), personal),
                   _cut(lines, _plus(push, 22), quiet))
        profiles: dict[tuple[bytes, ...], dict[str, Any]] = {}
        hours = _cut(lines, _plus(ts, 1), _plus(ts, 1 + _KEY))
        at = _values(hours, self.hour)
        for key, sid, raw in zip(keys, _texts(_cut(lines, _plus(sids, 13), ts)), hours):
            d = profiles.get(key)
            if d is None:
                mail_proxy, platform_, app_, consent_, push_ = map(word, key)
                d = profiles[key] = {"platform": platform_, "reach": {"app": app_}, "mail_proxy": mail_proxy,
                                     "settings": {"push_os_permission": push_, "marketing_consent": consent_}}
            handler(m, at[raw], d, sid)


def _places(lines: list[bytes], *keys: bytes) -> list[list[int]]:
    """Where each key is in every line, each searched for from where the one before it was found (the keys
    in the order the log writes them), a list per key."""
    found: list[list[int]] = []
    for key in keys:
        after = found[-1] if found else repeat(0)
        found.append(list(map(_find, lines, repeat(key), after)))
    return found


def _ends(lines: list[bytes], name: str, before: bytes) -> int:
    """Check that each line ends with `before` (the end of the value before `type`) and `,"type":"T"}`, and
    return that ending's length."""
    tail = before + b',"type":"' + name.encode() + b'"}'
    if not all(map(_endswith, lines, repeat(tail))):
        raise Doubt(f"a {name} line not written as the log writes it")
    return len(tail)


def _plus(xs: list[int], k: int) -> Iterator[int]:
    return map(add, xs, repeat(k))


def _cut(lines: list[bytes], starts: Iterable[int], stops: Iterable[int]) -> list[bytes]:
    """Each line's bytes from its start to its stop (a comprehension: cheaper than map over slice objects)."""
    return [line[a:b] for line, a, b in zip(lines, starts, stops)]


def _values(column: list[bytes], read: Callable[[bytes], Any]) -> dict[bytes, Any]:
    """What `read` makes of each distinct bytes of a column (its few times, cells or words), once each."""
    return {raw: read(raw) for raw in set(column)}


def _texts(raw: list[bytes]) -> list[str]:
    """String values' bytes (between their quotes) as text, a whole column at once; Doubt when one has an
    escape (or a quote: it was cut at the wrong place)."""
    joined = b"\n".join(raw)
    if b'"' in joined or b"\\" in joined:
        raise Doubt("a value with an escape")
    try:
        return joined.decode().split("\n")
    except UnicodeDecodeError:
        raise Doubt("a value that is not UTF-8") from None


_LITERALS = {b"true": True, b"false": False, b"null": None}

# The types read a list at a time, and their readers (methods of _Reader).
BULK = {
    E.AD_IMPRESSION: "ads", E.AD_CLICKED: "ads", E.NOTIFICATION_REQUESTED: "requested",
    E.NOTIFICATION_DISMISSED: "requested", E.NOTIFICATION_DELIVERED: "delivered",
    E.NOTIFICATION_SUPPRESSED: "suppressed", E.NOTIFICATION_OPENED: "opened", E.SESSION_STARTED: "session",
    E.SHOPPER_CREATED: "shoppers",
}
