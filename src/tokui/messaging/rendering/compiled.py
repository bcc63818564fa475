"""A template version prepared for sending: CSS inlined, Liquid parsed and the MIME skeleton built, once.

Per recipient only the Liquid render (compiled to closures where it can be, ``templating.fast``), the link rewrite
and the string assembly run.
Versions never change after they are saved, so a prepared version is cached per process by its id.
"""

from __future__ import annotations

import html as html_lib
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from threading import Lock
from typing import Any

import css_inline
from django.utils.translation import gettext as _
from liquid import Environment

from tokui.core.errors import DomainError
from tokui.messaging.enums import MailCharset, MailKind
from tokui.messaging.html_clean import mail_html_clean
from tokui.messaging.links import CLICK_PATH, click_link_part, mail_click_prefix, mail_open_url, site_url
from tokui.messaging.models import MailTemplateVersion
from tokui.messaging.rendering.lines import break_long_lines
from tokui.messaging.rendering.mime import AssembledMail, MimeSkeleton
from tokui.messaging.templating.environment import RenderError, html_environment, text_environment
from tokui.messaging.templating.fast import LinkRewrite, MailLiquid
from tokui.messaging.types import SenderData

_LIQUID = re.compile(r"\{%-?.*?-?%\}|\{\{-?.*?-?\}\}", re.S)
_PLACEHOLDER = re.compile(r"(?:<|&lt;)!--tkl(\d+)--(?:>|&gt;)")
_HREF = re.compile(r"""href="(https?://[^"]+)\"""")
_BODY_END = re.compile(r"</body\s*>", re.I)
# Stand-ins written into the send template at prepare time, replaced per mail with one ``str.replace`` each: the
# mail's click-link prefix in front of every fixed link's signed address half, and the open pixel before </body>.
LINK_SLOT = "\x00tkl\x01"
PIXEL_SLOT = "\x00tkp\x01"
_CACHE_SIZE = 64

# The footer 特定電子メール法 asks of marketing mail, added when a template has no opt-out link of its own.
FOOTER = (
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" class="tokui-footer">'
    '<tr><td style="padding:24px 16px;font-size:12px;line-height:1.6;color:#666666;text-align:center;">'
    "{{ sender.company }}<br>{{ sender.address }}<br>"
    '<a href="{{ unsubscribe_url }}" style="color:#666666;">[unsubscribe]</a> | '
    '<a href="{{ preferences_url }}" style="color:#666666;">[preferences]</a>'
    "</td></tr></table>"
)


def _protect_liquid(source: str) -> tuple[str, list[str]]:
    # The HTML parser inside css-inline moves text found between table rows out of the table ("foster
    # parenting"), which would tear {% for %} loops away from their rows. Comments stay where they are.
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"<!--tkl{len(kept) - 1}-->"

    return _LIQUID.sub(keep, source), kept


def inline_css(*, html: str, css: str) -> str:
    """``html`` with ``css`` (and its own <style> blocks) inlined into style attributes; @media rules are kept in a
    <style> block for clients that read it. Nothing is fetched from the network."""
    protected, kept = _protect_liquid(html)
    inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False, extra_css=css or None)
    inlined = (
        inliner.inline(protected) if "<html" in protected.lower() else inliner.inline_fragment(protected, css or "")
    )
    return _PLACEHOLDER.sub(lambda match: kept[int(match.group(1))], inlined)


def document(*, body: str, subject: str, preheader: str) -> str:
    """A whole mail document around the editor's body HTML (a full document is taken as it is)."""
    if "<html" in body.lower():
        return body
    # The preheader is text written by staff: cleaned like the body (no script rides in through it).
    hidden = (
        '<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;">' + mail_html_clean(preheader) + "</div>"
        if preheader
        else ""
    )
    return (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark"><meta name="supported-color-schemes" content="light dark">'
        f"<title>{html_lib.escape(subject)}</title></head><body>{hidden}{body}</body></html>"
    )


@dataclass(frozen=True, slots=True)
class CompiledVersion:
    version_id: int
    template_id: int
    kind: str
    topic: str
    charset: str
    sender: SenderData
    subject: MailLiquid
    html: MailLiquid
    html_source: str
    # The HTML with its fixed links already signed (LINK_SLOT in front) and PIXEL_SLOT: what a send renders.
    tracked_html: MailLiquid
    has_pixel_slot: bool
    text: MailLiquid
    needed: frozenset[str]
    skeleton: MimeSkeleton


def _parse(
    environment: Environment,
    source: str,
    part: str,
    *,
    slots: tuple[str, ...] = (),
    link: LinkRewrite | None = None,
    utf8: bool = False,
) -> MailLiquid:
    try:
        return MailLiquid(environment.from_string(source), slots=slots, link=link, utf8=utf8)
    except RenderError as error:
        raise DomainError(
            _("The %(part)s of this template has an error: %(error)s. Open the template and save it again.")
            % {"part": part, "error": str(error).splitlines()[0]}
        ) from error


def compile_version(*, version: MailTemplateVersion, sender: SenderData) -> CompiledVersion:
    template = version.template
    body = version.html
    if template.kind == MailKind.MARKETING and "unsubscribe_url" not in body:
        body += FOOTER.replace("[unsubscribe]", _("Unsubscribe")).replace("[preferences]", _("Mail preferences"))
    html_source = inline_css(
        html=document(body=body, subject=version.subject, preheader=version.preheader), css=version.css
    )
    html_template = _parse(html_environment(), html_source, "HTML")
    # Sends get short lines (so the part can go as 8bit); previews keep the HTML as css-inline wrote it.
    tracked_source, has_pixel_slot = prepare_tracking(break_long_lines(html_source), version_id=version.pk)
    # The parts of a UTF-8 send are also compiled to render UTF-8 bytes (``render_tracked_utf8``).
    utf8 = template.charset == MailCharset.UTF8
    tracked_html = _parse(
        html_environment(),
        tracked_source,
        "HTML",
        slots=(LINK_SLOT, PIXEL_SLOT),
        link=link_rewrite(version.pk),
        utf8=utf8,
    )
    subject = _parse(text_environment(), version.subject, "subject")
    text = _parse(text_environment(), version.text, "text part", utf8=utf8)
    needed = frozenset().union(*(part.template.analyze().globals.keys() for part in (html_template, subject, text)))
    skeleton = MimeSkeleton.build(
        charset=template.charset,
        from_name=sender.name,
        from_email=sender.email,
        reply_to=sender.reply_to,
        list_unsubscribe_post=template.kind == MailKind.MARKETING,
    )
    return CompiledVersion(
        version_id=version.pk,
        template_id=template.pk,
        kind=template.kind,
        topic=template.topic,
        charset=template.charset,
        sender=sender,
        subject=subject,
        html=html_template,
        html_source=html_source,
        tracked_html=tracked_html,
        has_pixel_slot=has_pixel_slot,
        text=text,
        needed=needed,
        skeleton=skeleton,
    )


_compiled: OrderedDict[tuple[Any, ...], CompiledVersion] = OrderedDict()
_compiled_lock = Lock()


def compiled_version(*, version: MailTemplateVersion, sender: SenderData) -> CompiledVersion:
    """The prepared version, from this process's cache when it was prepared before (versions never change)."""
    template = version.template
    # A version's content never changes; the template's kind, charset and topic can, so they are in the key too.
    key = (version.pk, version.created_at, template.kind, template.charset, template.topic, sender)
    with _compiled_lock:
        found = _compiled.get(key)
        if found is not None:
            _compiled.move_to_end(key)
            return found
    compiled = compile_version(version=version, sender=sender)
    with _compiled_lock:
        _compiled[key] = compiled
        while len(_compiled) > _CACHE_SIZE:
            _compiled.popitem(last=False)
    return compiled


def _untracked_prefixes() -> tuple[str, ...]:
    # The opt-out links must work as they are and must not count as clicks; tracked links are not tracked twice.
    site = site_url()
    return (f"{site}/m/u/", f"{site}/m/p/", f"{site}{CLICK_PATH}")


def prepare_tracking(source: str, *, version_id: int) -> tuple[str, bool]:
    """The HTML source with every fixed http(s) link (one written in the HTML, not produced by Liquid) replaced by
    ``LINK_SLOT`` + its signed address half, and ``PIXEL_SLOT`` before the last </body> when that is fixed text.
    Links that Liquid writes (a cart item's address) are rewritten after rendering by ``rewrite_links``."""
    source = source.replace("\x00", "")
    skip = _untracked_prefixes()

    def fixed(match: re.Match[str]) -> str:
        url = html_lib.unescape(match.group(1))
        if url.startswith(skip):
            return match.group(0)
        part = click_link_part(version_id=version_id, url=url)
        return match.group(0) if part is None else f'href="{LINK_SLOT}{part}"'

    pieces: list[str] = []
    position = 0
    for markup in _LIQUID.finditer(source):
        pieces += [_HREF.sub(fixed, source[position : markup.start()]), markup.group(0)]
        position = markup.end()
    pieces.append(_HREF.sub(fixed, source[position:]))
    # The pixel goes before the last </body> when it is in fixed text (not inside Liquid markup).
    last_piece = max((index for index, piece in enumerate(pieces) if index % 2 == 0 and _BODY_END.search(piece)),
                     default=None)  # fmt: skip
    later_markup = last_piece is not None and any("</body" in p.lower() for p in pieces[last_piece + 1 :])
    if last_piece is None or later_markup:
        return "".join(pieces), False
    piece = pieces[last_piece]
    at = list(_BODY_END.finditer(piece))[-1].start()
    pieces[last_piece] = piece[:at] + PIXEL_SLOT + piece[at:]
    return "".join(pieces), True


@lru_cache(maxsize=4)
def _untracked_href(skip: tuple[str, ...]) -> re.Pattern[str]:
    # ``_HREF`` that passes over the links Tokui wrote itself (the fixed links are filled in before this runs):
    # the regex engine skips them, instead of a Python call each.
    return re.compile(r'href="((?!' + "|".join(map(re.escape, skip)) + r')https?://[^"]+)"')


_UNSEEN: Any = object()
_REWRITE_CACHE_SIZE = 20_000


def link_rewrite(version_id: int) -> LinkRewrite:
    """``rewrite_links`` for one value written as a whole href while rendering (``templating.fast_links``): the
    same rule as the regex, applied to the value alone."""
    skip = _untracked_prefixes()
    address = re.compile(r"(?!" + "|".join(map(re.escape, skip)) + r')https?://[^"]+')

    # The same product addresses come back in mail after mail: each value's signed half is looked up once here
    # (the signer's own cache is cleared with the secret; this one goes with the prepared version).
    parts: dict[str, str | None] = {}

    def rewrite(value: str, fills: Mapping[str, str]) -> str:
        part = parts.get(value, _UNSEEN)
        if part is _UNSEEN:
            part = None
            if address.fullmatch(value) is not None:
                url = html_lib.unescape(value)
                if not url.startswith(skip):
                    part = click_link_part(version_id=version_id, url=url)
            if len(parts) >= _REWRITE_CACHE_SIZE:
                parts.clear()
            parts[value] = part
        return value if part is None else fills[LINK_SLOT] + part

    return rewrite


def rewrite_links(html: str, *, message_id: int, contact_id: int, version_id: int, prefix: str | None = None) -> str:
    """Every http(s) link through the signed click redirect, except the opt-out links and links already tracked.
    ``prefix`` is the mail's ``mail_click_prefix`` when the caller has it already."""
    skip = _untracked_prefixes()
    prefix = prefix or mail_click_prefix(message_id=message_id, contact_id=contact_id, version_id=version_id)

    def tracked(match: re.Match[str]) -> str:
        url = html_lib.unescape(match.group(1))
        if url.startswith(skip):
            return match.group(0)
        part = click_link_part(version_id=version_id, url=url)
        return match.group(0) if part is None else f'href="{prefix}{part}"'

    return _untracked_href(skip).sub(tracked, html)


def _pixel(*, message_id: int, contact_id: int) -> str:
    return (
        f'<img src="{mail_open_url(message_id=message_id, contact_id=contact_id)}" width="1" height="1" alt="" '
        'style="display:block;border:0;width:1px;height:1px;">'
    )


def add_open_pixel(html: str, *, message_id: int, contact_id: int) -> str:
    pixel = _pixel(message_id=message_id, contact_id=contact_id)
    ends = list(_BODY_END.finditer(html))
    if not ends:
        return html + pixel
    at = ends[-1].start()
    return html[:at] + pixel + html[at:]


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    html: str
    text: str


@dataclass(frozen=True, slots=True)
class EncodedMail:
    """A rendered mail whose parts are UTF-8 bytes already (``render_tracked_utf8``)."""

    subject: str
    html: bytes
    text: bytes


def render_parts(compiled: CompiledVersion, *, context: dict[str, Any]) -> RenderedMail:
    """Subject, HTML and text of one mail (no tracking): previews and the first step of a send."""
    return RenderedMail(
        subject=compiled.subject.render(**context),
        html=compiled.html.render(**context),
        text=compiled.text.render(**context),
    )


def tracking_fills(compiled: CompiledVersion, *, message_pk: int, contact_id: int) -> tuple[str, dict[str, str]]:
    """The mail's click-link prefix and the fills of the version's slots."""
    prefix = mail_click_prefix(message_id=message_pk, contact_id=contact_id, version_id=compiled.version_id)
    if not compiled.has_pixel_slot:
        return prefix, {LINK_SLOT: prefix}
    return prefix, {LINK_SLOT: prefix, PIXEL_SLOT: _pixel(message_id=message_pk, contact_id=contact_id)}


def _finish_tracking(
    compiled: CompiledVersion, html: str, *, linked: bool, prefix: str, message_pk: int, contact_id: int
) -> str:
    if not linked:  # links written by Liquid that were not rewritten while rendering
        html = rewrite_links(
            html, message_id=message_pk, contact_id=contact_id, version_id=compiled.version_id, prefix=prefix
        )
    if not compiled.has_pixel_slot:
        html = add_open_pixel(html, message_id=message_pk, contact_id=contact_id)
    return html


def render_tracked(
    compiled: CompiledVersion, *, context: dict[str, Any], message_pk: int, contact_id: int
) -> RenderedMail:
    """Subject, HTML and text of one mail with its links signed and the open pixel added. The fixed links were
    signed when the version was prepared: per mail only its own prefix is signed and put in front of them."""
    # The slots are filled while rendering: a search of 20 KB of Japanese text costs ~12 µs, a replace ~24 µs.
    prefix, fills = tracking_fills(compiled, message_pk=message_pk, contact_id=contact_id)
    html, linked = compiled.tracked_html.render_linked(context, fills)
    html = _finish_tracking(compiled, html, linked=linked, prefix=prefix, message_pk=message_pk, contact_id=contact_id)
    return RenderedMail(subject=compiled.subject.render(**context), html=html, text=compiled.text.render(**context))


def render_tracked_utf8(
    compiled: CompiledVersion, *, context: dict[str, Any], message_pk: int, contact_id: int
) -> EncodedMail:
    """``render_tracked`` with the HTML and text as UTF-8 bytes, for the SMTP message of a UTF-8 version: the
    version's literal text was encoded once, so a 20 KB part is not encoded again for every mail."""
    prefix, fills = tracking_fills(compiled, message_pk=message_pk, contact_id=contact_id)
    html, linked = compiled.tracked_html.render_linked_utf8(context, fills)
    if not linked or not compiled.has_pixel_slot:  # the regex pass and the pixel search work on text
        text_html = html.decode()
        html = _finish_tracking(
            compiled, text_html, linked=linked, prefix=prefix, message_pk=message_pk, contact_id=contact_id
        ).encode()
    text = compiled.text.render_linked_utf8(context, {})[0]
    return EncodedMail(subject=compiled.subject.render(**context), html=html, text=text)


def assemble_mail(
    compiled: CompiledVersion,
    *,
    parts: RenderedMail | EncodedMail,
    rfc_message_id: str,
    to_email: str,
    to_name: str,
    unsubscribe_url: str,
    eight_bit: bool = False,
) -> AssembledMail:
    """The finished message for one recipient, ready for SMTP; with ``eight_bit`` its UTF-8 parts go as 8bit where
    they allow it (for a server that offers 8BITMIME)."""
    return compiled.skeleton.assemble(
        to_name=to_name,
        to_email=to_email,
        subject=parts.subject,
        message_id=rfc_message_id,
        text=parts.text,
        html=parts.html,
        unsubscribe_url=unsubscribe_url if compiled.kind == MailKind.MARKETING else "",
        eight_bit=eight_bit,
    )
