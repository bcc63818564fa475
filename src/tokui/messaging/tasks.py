"""Delivery tasks: each carries a batch of outbox ids (or sweeps what is due); all call one service."""

from __future__ import annotations

from django.tasks import task

from tokui.messaging import delivery


@task()
def deliver_outbox(*, outbox_ids: list[int]) -> int:
    return delivery.outbox_deliver(outbox_ids=outbox_ids).sent


@task()
def deliver_due_mail() -> int:
    return delivery.outbox_deliver_due().sent
