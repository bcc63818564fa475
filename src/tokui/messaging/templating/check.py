"""Checks run when a template is saved: Liquid syntax errors and unknown variables, each with its line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from liquid.exceptions import LiquidError, LiquidSyntaxError

from tokui.messaging.templating.environment import strict_environment
from tokui.messaging.templating.variables import path_known, sample_context


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    part: str  # "subject", "html" or "text"
    line: int
    message: str

    def __str__(self) -> str:
        return _("%(part)s, line %(line)s: %(message)s") % {
            "part": _part_label(self.part),
            "line": self.line,
            "message": self.message,
        }


def _part_label(part: str) -> str:
    return {"subject": _("Subject"), "html": _("HTML"), "text": _("Text part"), "preheader": _("Preheader")}.get(
        part, part
    )


def _line(source: str, index: int | None) -> int:
    return source.count("\n", 0, max(index or 0, 0)) + 1


def _error_line(source: str, error: LiquidError) -> int:
    token = getattr(error, "token", None)
    return _line(source, getattr(token, "start_index", 0) if token is not None else 0)


def _syntax_error_line(source: str, error: LiquidError) -> int:
    """The line where the template first goes wrong. Liquid places some errors at the end of the template (an
    unclosed ``{% if %}``) or nowhere, so the first prefix of lines that fails the same way names the line."""
    token = getattr(error, "token", None)
    message = _error_message(error)
    lines = source.splitlines(keepends=True)
    if len(lines) <= 2000:
        environment = strict_environment(html=False)
        for count in range(1, len(lines) + 1):
            try:
                environment.from_string("".join(lines[:count]))
            except LiquidError as prefix_error:
                if _error_message(prefix_error) == message:
                    return count
    index = getattr(token, "start_index", -1) if token is not None else -1
    return _line(source, index) if index >= 0 else len(lines) or 1


def _error_message(error: LiquidError) -> str:
    return str(getattr(error, "message", "") or error).splitlines()[0]


def _segments_checkable(segments: list[Any]) -> list[Any]:
    # ``a[b]`` with a variable index cannot be followed statically; check the part before it.
    checkable = []
    for segment in segments:
        if not isinstance(segment, str | int):
            break
        checkable.append(segment)
    return checkable


def template_part_check(*, part: str, source: str, html: bool) -> list[TemplateProblem]:
    """Problems of one part of a mail (subject, HTML or text): syntax, unknown variables, strict sample render."""
    environment = strict_environment(html=html)
    try:
        template = environment.from_string(source)
    except LiquidSyntaxError as error:
        return [TemplateProblem(part=part, line=_syntax_error_line(source, error), message=_error_message(error))]
    except LiquidError as error:
        return [TemplateProblem(part=part, line=_error_line(source, error), message=_error_message(error))]
    problems = []
    for name, variables in template.analyze().globals.items():
        for variable in variables:
            segments = _segments_checkable(list(variable.segments))
            if not path_known(segments):
                problems.append(
                    TemplateProblem(
                        part=part,
                        line=_line(source, variable.span.index),
                        message=_("Unknown variable “%(name)s”. Use one of the variables listed beside the editor.")
                        % {"name": ".".join(str(segment) for segment in variable.segments) or name},
                    )
                )
    if problems:
        return problems
    try:
        template.render(**sample_context())
    except LiquidError as error:
        message = _error_message(error)
        if "undefined" in message:
            message = _("Unknown variable: %(detail)s. Use one of the variables listed beside the editor.") % {
                "detail": message
            }
        return [TemplateProblem(part=part, line=_error_line(source, error), message=message)]
    return []


def template_check(*, subject: str, html: str, text: str, preheader: str = "") -> list[TemplateProblem]:
    """Every problem of a template's parts; empty when it can be saved."""
    return [
        *template_part_check(part="subject", source=subject, html=False),
        *template_part_check(part="preheader", source=preheader, html=False),
        *template_part_check(part="html", source=html, html=True),
        *template_part_check(part="text", source=text, html=False),
    ]
