"""Conditions on the materialised per-customer figures (analytics.CustomerStats), predictions and RFM.

A contact of a company reads its company's figures (orders are the company's in B2B); an individual customer reads
its own. A customer without orders has no stats row: it has 0 orders and 0 yen spent, and no order dates.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import model_validator

from tokui.analytics.enums import CustomerLevel
from tokui.analytics.models import CustomerPrediction, CustomerStats
from tokui.analytics.selectors import rfm_customer_ids, rfm_rules
from tokui.segments.enums import Subject, ValueKind
from tokui.segments.rules.base import (
    ConditionConfig,
    ConditionType,
    RuleContext,
    RuleError,
    condition_types,
    options,
)
from tokui.segments.rules.values import OPERATORS_BY_KIND, scalar_describe, scalar_matches, scalar_q, value_clean

SECTION = gettext_lazy("Orders and RFM")

STATS_METRICS: dict[str, tuple[Any, str, Any]] = {
    # metric: (label, kind, value of a customer without orders)
    "order_count": (gettext_lazy("number of orders"), ValueKind.NUMBER, 0),
    "total_spend": (gettext_lazy("total spend (yen)"), ValueKind.NUMBER, 0),
    "average_spend": (gettext_lazy("average order value (yen)"), ValueKind.NUMBER, None),
    "last_order_on": (gettext_lazy("last order date"), ValueKind.DATE, None),
    "first_order_on": (gettext_lazy("first order date"), ValueKind.DATE, None),
    "predicted_next_order_on": (gettext_lazy("predicted next order date"), ValueKind.DATE, None),
}
PREDICTION_METRICS: dict[str, tuple[Any, str]] = {
    "clv_365_days": (gettext_lazy("predicted value of a year (yen)"), ValueKind.NUMBER),
    "probability_alive": (gettext_lazy("probability still active (0-1)"), ValueKind.NUMBER),
    "expected_orders_90_days": (gettext_lazy("orders expected in 90 days"), ValueKind.NUMBER),
}


def stats_rows_of(ctx: RuleContext) -> Q:
    """The stats row of the subject (see the module docstring for contacts)."""
    if ctx.subject == Subject.COMPANY:
        return Q(company_id=OuterRef("pk"))
    return Q(contact_id=OuterRef("pk")) | Q(company_id=OuterRef("company_id"))


class MetricConfig(ConditionConfig):
    metric: str
    op: str
    value: Any = None

    @model_validator(mode="before")
    @classmethod
    def _valid(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        metrics = cls._metrics()
        metric = data.get("metric")
        if metric not in metrics:
            raise ValueError(_("“%(field)s” is not a field you can filter on.") % {"field": metric})
        kind = metrics[metric][1]
        return {**data, "value": value_clean(kind, str(data.get("op")), data.get("value"))}

    @classmethod
    def _metrics(cls) -> dict[str, Any]:
        return STATS_METRICS


class PredictionConfig(MetricConfig):
    @classmethod
    def _metrics(cls) -> dict[str, Any]:
        return PREDICTION_METRICS


def _metric_catalog(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "value": key,
            "label": str(spec[0]),
            "kind": spec[1],
            "operators": [{"value": k, "label": str(v)} for k, v in OPERATORS_BY_KIND[spec[1]].items()],
            "choices": [],
        }
        for key, spec in metrics.items()
    ]


@condition_types.register("order_stats")
class OrderStatsCondition(ConditionType[MetricConfig]):
    label = gettext_lazy("Order figures")
    section = SECTION
    config_model = MetricConfig
    value_kind = ValueKind.NUMBER
    inputs = [{"type": "fov", "field": "metric"}]
    defaults = {"metric": "order_count", "op": "gte", "value": 1}

    def compile(self, config: MetricConfig, ctx: RuleContext) -> Q:
        _label, kind, default = STATS_METRICS[config.metric]
        has_row = Q(Exists(CustomerStats.objects.filter(stats_rows_of(ctx))))
        matching = Q(
            Exists(
                CustomerStats.objects.filter(
                    stats_rows_of(ctx), scalar_q(config.metric, kind, config.op, config.value, today=ctx.today)
                )
            )
        )
        # Whether a customer without orders matches is decided here, once, with the same operator in Python.
        if scalar_matches(kind, config.op, config.value, default, today=ctx.today):
            return matching | ~has_row
        return matching

    def describe(self, config: MetricConfig) -> str:
        label, kind, _default = STATS_METRICS[config.metric]
        return _("%(field)s %(phrase)s") % {"field": label, "phrase": scalar_describe(kind, config.op, config.value)}

    def catalog(self) -> dict[str, Any]:
        return {**super().catalog(), "fields": _metric_catalog(STATS_METRICS)}


def _prediction_rows(ctx: RuleContext) -> Q:
    if ctx.subject == Subject.COMPANY:
        return Q(company_id=OuterRef("pk"))
    return Q(contact_id=OuterRef("pk")) | Q(company_id=OuterRef("company_id"))


@condition_types.register("prediction")
class PredictionCondition(ConditionType[PredictionConfig]):
    label = gettext_lazy("Predictions (CLV)")
    section = SECTION
    config_model = PredictionConfig
    value_kind = ValueKind.NUMBER
    inputs = [{"type": "fov", "field": "metric"}]
    defaults = {"metric": "clv_365_days", "op": "gte", "value": 100000}

    def compile(self, config: PredictionConfig, ctx: RuleContext) -> Q:
        _label, kind = PREDICTION_METRICS[config.metric]
        matching = CustomerPrediction.objects.filter(
            _prediction_rows(ctx), scalar_q(config.metric, kind, config.op, config.value, today=ctx.today)
        )
        q = Q(Exists(matching))
        if scalar_matches(kind, config.op, config.value, None, today=ctx.today):
            q |= ~Q(Exists(CustomerPrediction.objects.filter(_prediction_rows(ctx))))
        return q

    def describe(self, config: PredictionConfig) -> str:
        label, kind = PREDICTION_METRICS[config.metric]
        return _("%(field)s %(phrase)s") % {"field": label, "phrase": scalar_describe(kind, config.op, config.value)}

    def catalog(self) -> dict[str, Any]:
        return {**super().catalog(), "fields": _metric_catalog(PREDICTION_METRICS)}


DELAY_OPERATORS = {"is_true": gettext_lazy("at risk"), "is_false": gettext_lazy("not at risk")}


class DelayRiskConfig(ConditionConfig):
    op: str = "is_true"

    @model_validator(mode="after")
    def _valid(self) -> DelayRiskConfig:
        if self.op not in DELAY_OPERATORS:
            raise ValueError(_("“%(op)s” is not an operator for this field. Choose one of the list.") % {"op": self.op})
        return self


@condition_types.register("order_delay_risk")
class OrderDelayRiskCondition(ConditionType[DelayRiskConfig]):
    """Past the usual reorder interval (発注遅延予備軍), as the nightly prediction run stored it."""

    label = gettext_lazy("Order-delay risk")
    section = SECTION
    config_model = DelayRiskConfig
    value_kind = ValueKind.BOOLEAN
    operators = DELAY_OPERATORS
    inputs = [{"type": "select", "name": "op", "options": options(DELAY_OPERATORS)}]
    defaults = {"op": "is_true"}

    def compile(self, config: DelayRiskConfig, ctx: RuleContext) -> Q:
        overdue = Q(Exists(CustomerPrediction.objects.filter(_prediction_rows(ctx), overdue=True)))
        return overdue if config.op == "is_true" else ~overdue

    def describe(self, config: DelayRiskConfig) -> str:
        if config.op == "is_true":
            return _("is past the usual reorder interval (order-delay risk)")
        return _("is not past the usual reorder interval")


# --- RFM: ranks are computed when read (analytics.ranks), so the boundaries the user edits apply at once ---------


class RfmConfig(ConditionConfig):
    r: list[int] = []
    f: list[int] = []
    m: list[int] = []
    group: str = ""

    @model_validator(mode="after")
    def _valid(self) -> RfmConfig:
        for ranks in (self.r, self.f, self.m):
            if any(not 1 <= rank <= 5 for rank in ranks):
                raise ValueError(_("Ranks are 1 to 5."))
        if not (self.r or self.f or self.m or self.group):
            raise ValueError(_("Choose a group or at least one rank."))
        return self


@condition_types.register("rfm")
class RfmCondition(ConditionType[RfmConfig]):
    label = gettext_lazy("RFM rank or group")
    section = SECTION
    config_model = RfmConfig
    value_kind = ValueKind.CHOICE
    inputs = [{"type": "rfm"}]
    defaults = {"r": [], "f": [], "m": [], "group": ""}

    def catalog(self) -> dict[str, Any]:
        data = super().catalog()
        data["groups"] = {
            level: [group.name for group in rfm_rules(level=level).groups]
            for level in (CustomerLevel.COMPANY, CustomerLevel.CONTACT)
        }
        return data

    def check(self, config: RfmConfig, *, subject: Subject) -> RfmConfig:
        if config.group:
            level = CustomerLevel.COMPANY if subject == Subject.COMPANY else CustomerLevel.CONTACT
            names = {group.name for group in rfm_rules(level=level).groups}
            if config.group not in names:
                raise RuleError(_("There is no RFM group “%(group)s”.") % {"group": config.group})
        return config

    def _ids(self, config: RfmConfig, level: str, ctx: RuleContext) -> Any:
        from tokui.analytics.selectors import ranked_rows, stats_rows

        if config.group:
            rows = rfm_customer_ids(level=level, group=config.group, as_of=ctx.today)
            if not (config.r or config.f or config.m):
                return rows
        ranked = ranked_rows(rules=rfm_rules(level=level), rows=stats_rows(level=level), as_of=ctx.today)
        for axis in ("r", "f", "m"):
            if ranks := getattr(config, axis):
                ranked = ranked.filter(**{f"{axis}__in": ranks})
        ids = ranked.values_list("customer", flat=True)
        if config.group:
            ids = ids.filter(customer__in=rfm_customer_ids(level=level, group=config.group, as_of=ctx.today))
        return ids

    def compile(self, config: RfmConfig, ctx: RuleContext) -> Q:
        if ctx.subject == Subject.COMPANY:
            return Q(pk__in=self._ids(config, CustomerLevel.COMPANY, ctx))
        return Q(pk__in=self._ids(config, CustomerLevel.CONTACT, ctx)) | Q(
            company_id__in=self._ids(config, CustomerLevel.COMPANY, ctx)
        )

    def describe(self, config: RfmConfig) -> str:
        parts = [
            f"{axis.upper()}{'/'.join(str(rank) for rank in ranks)}"
            for axis, ranks in (("r", config.r), ("f", config.f), ("m", config.m))
            if ranks
        ]
        if config.group:
            parts.insert(0, _("RFM group “%(group)s”") % {"group": config.group})
        return _("is in %(ranks)s") % {"ranks": " × ".join(parts)}
