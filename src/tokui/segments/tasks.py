"""Tasks take ids and call one service (DESIGN.md convention 6)."""

from __future__ import annotations

from django.tasks import task

from tokui.segments import services
from tokui.segments.models import Segment


@task()
def segment_refresh_task(*, segment_id: int) -> int:
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        return 0
    result = services.segment_refresh(segment=segment)
    return result.entered + result.left


@task()
def segments_refresh_all_task() -> int:
    return services.segments_refresh_all()
