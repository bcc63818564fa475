"""The demo's marketing set-up: templates that pass the save checks, segments that are filled, once only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.messaging.conftest import opted_in
from tokui.analytics.services import analytics_nightly_run
from tokui.customers.models import Contact
from tokui.demo.demo_marketing import demo_marketing_load
from tokui.demo.generator import load_demo_data
from tokui.messaging.models import MailTemplate
from tokui.messaging.preview import template_preview
from tokui.segments.models import Segment

pytestmark = pytest.mark.django_db


def test_the_demo_has_templates_that_render_for_a_customer_and_filled_segments(
    django_capture_on_commit_callbacks: Any,
) -> None:
    load_demo_data(seed=7, scale=0.05)
    analytics_nightly_run(force=True)
    with django_capture_on_commit_callbacks(execute=True):
        loaded = demo_marketing_load()

    assert (loaded.templates, loaded.segments) == (3, 4)
    contact = opted_in(Contact.objects.exclude(email="").filter(company__isnull=False).order_by("pk").first())
    for template in MailTemplate.objects.all():
        assert template.current_version is not None
        rendered = template_preview(version=template.current_version, contact_id=contact.pk)
        assert "得意アパレル株式会社" in rendered.html and "配信停止" in rendered.html
    assert Segment.objects.filter(member_count__gt=0).count() >= 2  # RFM and the prefectures at least
    assert demo_marketing_load().templates == 0  # a second start adds nothing
