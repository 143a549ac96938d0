"""Session-wide settings every test runs under: hypothesis's profile and the terminal app's animations.
What tests build and check with lives in tests/helpers/."""

from __future__ import annotations

import os

from hypothesis import settings as _hyp_settings

# CI explores the same examples every run (a red build is reproducible); locally hypothesis explores freely.
_hyp_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    _hyp_settings.load_profile("ci")


# Terminal-app tests: no animations. A smooth scroll or a tab underline that glides is a race between the
# animation and the assertion after `pilot.pause()`, lost on a busy machine. Every App reads this constant
# when it is made (App.__init__), so setting it here reaches every test's app, the snapshot plugin's too.
try:
    from textual import constants as _textual_constants

    _textual_constants.TEXTUAL_ANIMATIONS = "none"
except ImportError:  # pragma: no cover - textual is a dependency
    pass
