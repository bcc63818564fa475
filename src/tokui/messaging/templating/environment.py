"""The sandboxed Liquid environments mail is rendered with.

A template is text written by staff, run once per recipient, so it must not reach anything but the context it is
given: there is no loader (``include`` and ``render`` are removed, so no file can be read), the context holds only
plain dicts, lists and scalars built for one contact (no model objects whose attributes could lead elsewhere), and
loops, output and local variables are capped so an endless or huge template stops with an error instead of
stalling a worker.
"""

from __future__ import annotations

from functools import cache
from io import StringIO

from liquid import BoundTemplate, Environment, Mode, StrictUndefined, Undefined
from liquid.exceptions import LiquidError, OutputStreamLimitError
from liquid.output import LimitedStringIO

from tokui.messaging.templating.filters import date_ja, yen

LOOP_ITERATION_LIMIT = 10_000
OUTPUT_LIMIT_CHARACTERS = 1_000_000
LOCAL_NAMESPACE_LIMIT_BYTES = 100_000
_REMOVED_TAGS = ("include", "render")


class _CharacterLimitedOutput(LimitedStringIO):
    """The output limit counted in characters: Liquid's own counts UTF-8 bytes by encoding every write, which
    for a 20 KB mail costs more than the rest of the render."""

    def write(self, text: str) -> int:
        if text:
            self.size += len(text)
            if self.size > self.limit:
                raise OutputStreamLimitError("output stream limit reached", token=None)
        return StringIO.write(self, text)


class _MailTemplate(BoundTemplate):
    def _get_buffer(self) -> StringIO:
        return _CharacterLimitedOutput(limit=OUTPUT_LIMIT_CHARACTERS)


class _MailEnvironment(Environment):
    template_class = _MailTemplate
    loop_iteration_limit = LOOP_ITERATION_LIMIT
    output_stream_limit = OUTPUT_LIMIT_CHARACTERS
    local_namespace_limit = LOCAL_NAMESPACE_LIMIT_BYTES
    context_depth_limit = 10

    def setup_tags_and_filters(self, *, extra: bool = False) -> None:
        super().setup_tags_and_filters(extra=False)
        for name in _REMOVED_TAGS:
            self.tags.pop(name, None)
        self.filters["yen"] = yen
        self.filters["date_ja"] = date_ja


def _environment(*, html: bool, strict: bool) -> Environment:
    return _MailEnvironment(
        autoescape=html, undefined=StrictUndefined if strict else Undefined, tolerance=Mode.STRICT, strict_filters=True
    )


@cache
def html_environment() -> Environment:
    """Sending: values are HTML-escaped; a missing value renders as nothing (``default`` fills it)."""
    return _environment(html=True, strict=False)


@cache
def text_environment() -> Environment:
    """Subject and text part: no escaping."""
    return _environment(html=False, strict=False)


@cache
def strict_environment(*, html: bool) -> Environment:
    """Checking at save: a variable outside the known tree is an error."""
    return _environment(html=html, strict=True)


RenderError = LiquidError
