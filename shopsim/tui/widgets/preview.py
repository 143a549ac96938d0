"""One message as the shopper sees it: an email, a phone notification, an SMS bubble, an in-app card, or a
retargeting ad banner.

The card is a few Statics whose frame, width and alignment come from CSS classes (`-email`, `-push`, `-sms`,
`-in-app`, `-ad`) and theme variables, so it reads well in dark and light themes; the text is Textual
`Content` styled with theme variables too ($text-muted, $text-primary…), never fixed colours. Frames and
titles keep at least 3:1 against the card in both built-in themes, text 4.5:1 (WCAG AA); the light theme's
orange and green text colours are too pale on white, so there the accents turn to its primary text colour.

An email's header takes five lines (From, To, Date, Subject, a rule); when the pane is too low for that and
the body, it folds into two (sender → recipient · time, then the subject), so the body stays in view.

Prices are written by `format_cents`, Babel's locale-aware currency format, in the shopper's locale: the way
her messages (rendered by the templates' `money` filter) write them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Rule, Static

from shopsim.contract.ids import product_index
from shopsim.notify.filters import format_cents
from shopsim.notify.state import Message
from shopsim.tui.flow_line import flow_steps

if TYPE_CHECKING:
    from shopsim.simulation import SimulationView

SENDER = "shop.example"
APP_NAME = "SHOP.EXAMPLE"
PUSH_WIDTH = 40  # the text inside a push card, like a phone's notification
SMS_WIDTH = 46   # the widest SMS bubble, border included
CHANNEL_ICONS = {"email": "✉", "push": "◉", "sms": "✆", "in_app": "▤", "ads": "◆"}
CHANNEL_LABELS = {"email": "email", "push": "push", "sms": "SMS", "in_app": "in-app", "ads": "ad"}
FULL_HEADER_LINES = 5  # From, To, Date, Subject, the rule; folded: two
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_KINDS = ("-email", "-push", "-sms", "-in-app", "-ad", "-empty")


@dataclass(slots=True)
class AdImpression:
    """A retargeting ad the shopper saw (from `ad.impression`; `clicked` from `ad.clicked`)."""

    id: str
    shopper: str
    t: int
    reason: str                 # cart or browse
    ref: str                    # the cart or browse session it retargets
    products: tuple[str, ...]   # product ids
    clicked: bool = False
    channel: str = "ads"


Entry = Message | AdImpression


def accent(widget: Any) -> str:
    """The style of what asks for attention (unread): the theme's accent text, where it reads. The light
    theme's accent (and success) text is about 3:1 on white, so there: its primary text colour, bold."""
    return "$text-accent" if widget.app.current_theme.dark else "bold $text-primary"


def success(widget: Any) -> str:
    return "$text-success" if widget.app.current_theme.dark else "bold $text-primary"


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def local_time(epoch: int, tz: str) -> datetime:
    return (_EPOCH + timedelta(milliseconds=epoch)).astimezone(_zone(tz))


def short_time(epoch: int, tz: str) -> str:
    """'Tue 3 Mar, 14:00' in the shopper's zone."""
    d = local_time(epoch, tz)
    return f"{d:%a} {d.day} {d:%b}, {d:%H:%M}"


def _content(*parts: Any) -> Content:
    return Content.assemble(*(p for p in parts if p))


class MessagePreview(VerticalScroll):
    """Shows one inbox `Message` (or `AdImpression`) the way the shopper's device would."""

    DEFAULT_CSS = """
    MessagePreview {
        height: 1fr;
        padding: 0 1;
        background: $background;
        #preview-empty {
            display: none; color: $text-muted; width: 100%; content-align: center middle; height: 3;
        }
        #card {
            height: auto; width: 100%; padding: 0 1; background: $surface;
            border-title-color: $foreground; border-subtitle-color: $foreground;
        }
        #card-head, #card-body, #card-foot { height: auto; width: 100%; }
        #card-rule { margin: 0; color: $text-muted; }
        #card-foot { margin-top: 1; }
        &.-empty #card { display: none; }
        &.-empty #preview-empty { display: block; }
        &.-email #card { border: round $primary; max-width: 86; }
        &.-push { align-horizontal: center; }
        &.-push #card { width: 44; border: round $accent; background: $boost; }
        &.-sms { align-horizontal: right; }
        &.-sms #card { border: round $text-success; background: $success-muted; margin-right: 2; }
        &.-in-app #card { max-width: 66; border: round $text-secondary; background: $boost; }
        &.-ad #card { max-width: 70; border: double $warning; background: $boost; }
        /* The light theme's orange is 1.4:1 on white: its primary colour frames the push and ad cards. */
        &:light.-push #card { border: round $primary; }
        &:light.-ad #card { border: double $primary; }
    }
    """

    def __init__(self, sim: SimulationView, *, placeholder: str = "Select a message to see it as the shopper does.",
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.sim = sim
        self.placeholder = placeholder
        self.entry: Entry | None = None
        self.folded = False  # the email header on two lines: the pane is too low for five and the body
        self.add_class("-empty")

    def compose(self) -> ComposeResult:
        yield Static(self.placeholder, id="preview-empty")
        with Vertical(id="card"):
            yield Static(id="card-head")
            yield Rule(id="card-rule")
            yield Static(id="card-body")
            yield Static(id="card-foot")

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._render_entry(scroll_home=False))
        self._render_entry(scroll_home=True)

    def on_resize(self) -> None:
        if isinstance(self.entry, Message) and self.entry.channel == "email" and self._fold(self.entry) != self.folded:
            self._render_entry(scroll_home=False)

    # --- public -------------------------------------------------------------------------------------

    def show(self, entry: Entry | None) -> None:
        """Show a Message or an AdImpression (None clears). Showing the same one again (its read state
        changed) keeps the scroll position."""
        fresh, self.entry = entry is not self.entry, entry
        self._render_entry(scroll_home=fresh)

    def show_message(self, message: Message) -> None:
        self.show(message)

    def show_ad(self, ad: AdImpression) -> None:
        self.show(ad)

    def clear(self, placeholder: str | None = None) -> None:
        if placeholder is not None:
            self.placeholder = placeholder
        self.show(None)

    # --- rendering ----------------------------------------------------------------------------------

    def _render_entry(self, scroll_home: bool) -> None:
        # Mounted but without its children: being composed, or being removed with its screen (a busy
        # machine can deliver a message in between). Nothing to draw on; on_mount draws it when it comes.
        if not self.is_mounted or not self.query("#preview-empty"):
            return
        e = self.entry
        if e is None:
            self._set_kind("-empty")
            self.query_one("#preview-empty", Static).update(self.placeholder)
            return
        sh = self.sim.shopper(e.shopper)
        epoch = self.sim.scenario.start_epoch + e.t
        if isinstance(e, AdImpression):
            kind, parts = "-ad", self._ad(e, sh, epoch)
        elif e.channel == "email":
            kind, parts = "-email", self._email(e, sh, epoch)
        elif e.channel == "push":
            kind, parts = "-push", self._push(e, sh, epoch)
        elif e.channel == "sms":
            kind, parts = "-sms", self._sms(e, sh, epoch)
        else:
            kind, parts = "-in-app", self._in_app(e, sh, epoch)
        title, subtitle, head, body, foot = parts
        card = self.query_one("#card", Vertical)
        card.border_title, card.border_subtitle = title, subtitle
        for wid, content in (("#card-head", head), ("#card-body", body), ("#card-foot", foot)):
            static = self.query_one(wid, Static)
            static.update(content or "")
            static.display = bool(content)
        self.query_one("#card-rule", Rule).display = kind == "-email" and not self.folded
        # A bubble is as wide as its text, up to SMS_WIDTH (the other cards' widths are in the CSS).
        card.styles.width = (min(SMS_WIDTH, max(24, max(map(len, e.body.split("\n"))) + 4))
                             if kind == "-sms" else None)
        self._set_kind(kind)
        if scroll_home:
            self.scroll_home(animate=False)

    def _set_kind(self, kind: str) -> None:
        for k in _KINDS:
            self.set_class(k == kind, k)

    def _status(self, m: Message) -> Content:
        return Content.styled("read", "$text-muted") if m.read else Content.styled("● unread", accent(self))

    def _fold(self, m: Message) -> bool:
        """Whether the email header folds to two lines: the pane cannot hold five, the frame and the body
        (up to eight lines of it)."""
        height = self.scrollable_content_region.height
        return height < FULL_HEADER_LINES + 2 + min(8, m.body.count("\n") + 1)

    def _email(self, m: Message, sh: Any, epoch: int):
        d = local_time(epoch, sh.tz)
        subject = _content(("Subject: ", "$text-muted"), (m.title or "(no subject)", "bold"))
        self.folded = self._fold(m)
        if self.folded:
            head = _content((SENDER, "bold"), (" → ", "$text-muted"), sh.name,
                            (f" · {short_time(epoch, sh.tz)}", "$text-muted"), "\n", subject)
        else:
            date = f"{d:%a} {d.day} {d:%b %Y}, {d:%H:%M} {d.tzname()}"
            rows = (("From", f"{SENDER} <hello@{SENDER}>"), ("To", f"{sh.name} <{sh.email}>"), ("Date", date))
            head = Content("\n").join(_content((f"{k + ':':<9}", "$text-muted"), v) for k, v in rows)
            head = _content(head, "\n", subject)
        foot = self._notes(m, link=m.link not in m.body)
        return (Content(f"{CHANNEL_ICONS['email']} email"), self._status(m), head, Content(m.body), foot)

    def _push(self, m: Message, sh: Any, epoch: int):
        when = short_time(epoch, sh.tz)
        app = f"{CHANNEL_ICONS['push']} {APP_NAME}"
        gap = max(1, PUSH_WIDTH - len(app) - len(when))
        head = _content((app, "bold $text-muted"), " " * gap, (when, "$text-muted"))
        body = _content((m.title or "", "bold"), "\n" if m.title else "", m.body)
        foot = self._notes(m, link=False)
        return (Content(f"{sh.platform} · lock screen"), self._status(m), head, body, foot)

    def _sms(self, m: Message, sh: Any, epoch: int):
        head = Content.styled(f"{CHANNEL_ICONS['sms']} SHOPEX (text message)", "$text-muted")
        return (Content("SMS"), Content(short_time(epoch, sh.tz)), head, Content(m.body), self._notes(m, False))

    def _in_app(self, m: Message, sh: Any, epoch: int):
        head = Content.styled(m.title or "", "bold")
        foot = _content(("View ›", "bold $text-primary"), "  ", (m.link, "$text-muted"))
        notes = self._notes(m, link=False)
        if notes:
            foot = _content(foot, "\n", notes)
        return (Content(f"{CHANNEL_ICONS['in_app']} in-app · message centre"),
                _content(short_time(epoch, sh.tz), " · ", self._status(m)), head, Content(m.body), foot)

    def _ad(self, a: AdImpression, sh: Any, epoch: int):
        head = Content.styled("Still in your cart?" if a.reason == "cart" else "Picked for you from your browsing",
                              "bold")
        lines = []
        for pid in a.products:
            p = self._product(pid)
            if p is None:
                lines.append(Content(f"• {pid}"))
                continue
            price = format_cents(self.sim.prices.get(p.index, p.price_cents), self.sim.scenario.currency, sh.locale)
            lines.append(_content("• ", (p.name, "bold"), "  ", (price, "$text-primary"),
                                  ("  " + p.store, "italic")))  # not muted: under 4.5:1 in the light theme
        body = Content("\n").join(lines) if lines else Content.styled("(no products)", "$text-muted")
        clicked = ("clicked ✓", success(self)) if a.clicked else ("not clicked", "$text-muted")
        foot = _content((f"Shown {short_time(epoch, sh.tz)} on a partner site · retargets {a.ref} · ",
                         "$text-muted"), clicked)
        return (Content(f"{CHANNEL_ICONS['ads']} Sponsored · {SENDER}"), Content(f"ad {a.id}"), head, body, foot)

    def _notes(self, m: Message, link: bool) -> Content | None:
        parts: list[Any] = []
        if link and m.link:
            parts.append(_content(("→ ", "$text-muted"), (m.link, "underline $text-primary")))
        if m.digest_of:
            parts.append(Content.styled(f"Digest of {len(m.digest_of)}: " + ", ".join(m.digest_of), "$text-muted"))
        flow = self._flow(m)
        if flow is not None:
            parts.append(flow)
        return Content("\n").join(parts) if parts else None

    def _flow(self, m: Message) -> Content | None:
        """The flow this message is a step of, every step on one line and this one picked out."""
        explain = getattr(self.sim, "explain", None)  # a preview of the run before it is built has none
        try:
            source = explain(m.id).get("source") if explain is not None else None
        except (LookupError, KeyError, ValueError):
            return None
        found = flow_steps(self.sim.scenario.model.flows, source)
        if found is None:
            return None
        name, steps, at = found
        pieces: list[Any] = [(f"flow {name}: ", "$text-muted")]
        for i, step in enumerate(steps):
            if i:
                pieces.append((" › ", "$text-muted"))
            pieces.append((f"[{step}]", f"bold {accent(self)}") if i == at else (step, "$text-muted"))
        return _content(*pieces)

    def _product(self, pid: str) -> Any:
        return product(self.sim, pid)


def product(sim: SimulationView, pid: str) -> Any:
    """The catalogue's ProductDef for a product id ('p00188'), or None."""
    products = sim.scenario.products
    try:
        p = products[product_index(pid)]
        if p.id == pid:
            return p
    except (KeyError, IndexError):
        pass
    return next((p for p in products if p.id == pid), None)
