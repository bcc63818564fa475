"""Conditions on what Tokui stores about the company and the contact: fields, custom fields and tags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, F, OuterRef, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import model_validator

from tokui.accounts.selectors import sales_reps
from tokui.customers.enums import ApprovalStatus, CompanySize, CustomFieldEntity, CustomFieldType, Industry, Prefecture
from tokui.customers.models import Company, Contact, CustomFieldDefinition, Tag
from tokui.segments.enums import Subject, ValueKind
from tokui.segments.rules.base import (
    ConditionConfig,
    ConditionType,
    RuleContext,
    RuleError,
    condition_types,
    options,
)
from tokui.segments.rules.values import OPERATORS_BY_KIND, scalar_describe, scalar_q, value_clean

SECTION = gettext_lazy("Attributes")


@dataclass(frozen=True, slots=True)
class Field:
    label: Any
    kind: str
    choices: Any = None
    """A TextChoices class, or a callable returning ``{value: label}`` (read when the rule is saved or shown)."""

    def choice_labels(self) -> dict[str, str] | None:
        if self.choices is None:
            return None
        if callable(self.choices) and not hasattr(self.choices, "choices"):
            return self.choices()  # type: ignore[no-any-return]
        return {str(value): str(label) for value, label in self.choices.choices}


def _rep_choices() -> dict[str, str]:
    return {str(user.pk): user.get_full_name() or user.username for user in sales_reps()}


COMPANY_FIELDS: dict[str, Field] = {
    "name": Field(gettext_lazy("company name"), ValueKind.TEXT),
    "name_kana": Field(gettext_lazy("company name (kana)"), ValueKind.TEXT),
    "code": Field(gettext_lazy("customer code"), ValueKind.TEXT),
    "industry": Field(gettext_lazy("industry"), ValueKind.CHOICE, Industry),
    "size": Field(gettext_lazy("company size"), ValueKind.CHOICE, CompanySize),
    "prefecture": Field(gettext_lazy("prefecture"), ValueKind.CHOICE, Prefecture),
    "assigned_rep": Field(gettext_lazy("assigned sales rep"), ValueKind.CHOICE, _rep_choices),
    "rank": Field(gettext_lazy("customer rank"), ValueKind.TEXT),
    "approval_status": Field(gettext_lazy("approval"), ValueKind.CHOICE, ApprovalStatus),
}
CONTACT_FIELDS: dict[str, Field] = {
    "name": Field(gettext_lazy("name"), ValueKind.TEXT),
    "name_kana": Field(gettext_lazy("name (kana)"), ValueKind.TEXT),
    "email": Field(gettext_lazy("email"), ValueKind.TEXT),
    "department": Field(gettext_lazy("department"), ValueKind.TEXT),
    "title": Field(gettext_lazy("job title"), ValueKind.TEXT),
    "prefecture": Field(gettext_lazy("prefecture"), ValueKind.CHOICE, Prefecture),
    "birthday": Field(gettext_lazy("birthday"), ValueKind.DATE),
    "is_primary": Field(gettext_lazy("primary contact"), ValueKind.BOOLEAN),
}
ENTITY_LABELS: dict[str, Any] = {
    CustomFieldEntity.COMPANY: gettext_lazy("Company"),
    CustomFieldEntity.CONTACT: gettext_lazy("Contact"),
}


def lift(entity: str, q: Q, ctx: RuleContext) -> Q:
    """A ``Q`` over ``entity`` (company or contact) as a ``Q`` over the segment's subject.

    A company matches a contact condition when one of its contacts does; a contact matches a company condition when
    its company does (an individual customer has none, so never).
    """
    if entity == ctx.subject:
        return q
    if entity == Subject.CONTACT:
        return Q(Exists(Contact.objects.filter(q, company_id=OuterRef("pk"))))
    return Q(Exists(Company.objects.filter(q, pk=OuterRef("company_id"))))


class FieldConfig(ConditionConfig):
    field: str
    op: str
    value: Any = None

    @model_validator(mode="before")
    @classmethod
    def _valid(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        fields = cls._fields()
        field = data.get("field")
        if field not in fields:
            raise ValueError(_("“%(field)s” is not a field you can filter on.") % {"field": field})
        spec = fields[field]
        return {
            **data,
            "value": value_clean(spec.kind, str(data.get("op")), data.get("value"), choices=_choice_keys(spec)),
        }

    @classmethod
    def _fields(cls) -> dict[str, Field]:
        raise NotImplementedError


def _choice_keys(spec: Field) -> list[str] | None:
    labels = spec.choice_labels()
    return list(labels) if labels is not None else None


class CompanyFieldConfig(FieldConfig):
    @classmethod
    def _fields(cls) -> dict[str, Field]:
        return COMPANY_FIELDS


class ContactFieldConfig(FieldConfig):
    @classmethod
    def _fields(cls) -> dict[str, Field]:
        return CONTACT_FIELDS


class _FieldCondition(ConditionType[FieldConfig]):
    entity: str
    fields: dict[str, Field]
    section = SECTION

    def compile(self, config: FieldConfig, ctx: RuleContext) -> Q:
        spec = self.fields[config.field]
        foreign_key = config.field == "assigned_rep"
        column = f"{config.field}_id" if foreign_key else config.field
        q = scalar_q(column, spec.kind, config.op, config.value, today=ctx.today, blank=not foreign_key)
        return lift(self.entity, q, ctx)

    def describe(self, config: FieldConfig) -> str:
        spec = self.fields[config.field]
        return _("%(entity)s %(field)s %(phrase)s") % {
            "entity": ENTITY_LABELS[self.entity],
            "field": spec.label,
            "phrase": scalar_describe(spec.kind, config.op, config.value, labels=spec.choice_labels()),
        }

    def catalog(self) -> dict[str, Any]:
        data = super().catalog()
        data["fields"] = [
            {
                "value": key,
                "label": str(spec.label),
                "kind": spec.kind,
                "operators": [{"value": k, "label": str(v)} for k, v in OPERATORS_BY_KIND[spec.kind].items()],
                "choices": [{"value": k, "label": v} for k, v in (spec.choice_labels() or {}).items()],
            }
            for key, spec in self.fields.items()
        ]
        return data


@condition_types.register("company_field")
class CompanyFieldCondition(_FieldCondition):
    label = gettext_lazy("Company field")
    config_model = CompanyFieldConfig
    value_kind = ValueKind.TEXT
    entity = Subject.COMPANY
    fields = COMPANY_FIELDS
    inputs = [{"type": "fov", "field": "field"}]
    defaults = {"field": "prefecture", "op": "in", "value": []}


@condition_types.register("contact_field")
class ContactFieldCondition(_FieldCondition):
    label = gettext_lazy("Contact field")
    config_model = ContactFieldConfig
    value_kind = ValueKind.TEXT
    entity = Subject.CONTACT
    fields = CONTACT_FIELDS
    inputs = [{"type": "fov", "field": "field"}]
    defaults = {"field": "email", "op": "not_empty"}


# --- Custom fields: the kind comes from the shop's definition, read when the rule is saved and compiled ----------

CUSTOM_KINDS = {
    CustomFieldType.TEXT: ValueKind.TEXT,
    CustomFieldType.NUMBER: ValueKind.NUMBER,
    CustomFieldType.DATE: ValueKind.DATE,
    CustomFieldType.CHOICE: ValueKind.CHOICE,
    CustomFieldType.BOOLEAN: ValueKind.BOOLEAN,
}
NUMBER_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


class CustomFieldConfig(ConditionConfig):
    entity: CustomFieldEntity
    key: str
    op: str
    value: Any = None


def _definition(entity: str, key: str) -> CustomFieldDefinition | None:
    return CustomFieldDefinition.objects.filter(entity=entity, key=key).first()


@condition_types.register("custom_field")
class CustomFieldCondition(ConditionType[CustomFieldConfig]):
    label = gettext_lazy("Custom field")
    section = SECTION
    config_model = CustomFieldConfig
    value_kind = ValueKind.TEXT
    inputs = [{"type": "fov", "field": "custom"}]
    defaults = {"entity": "company", "key": "", "op": "not_empty"}

    def check(self, config: CustomFieldConfig, *, subject: Subject) -> CustomFieldConfig:
        definition = _definition(config.entity, config.key)
        if definition is None:
            raise RuleError(
                _("There is no custom field “%(key)s”. Add it under Settings → Custom fields first.")
                % {"key": config.key}
            )
        kind = CUSTOM_KINDS[CustomFieldType(definition.field_type)]
        choices = [str(c) for c in definition.choices] if kind == ValueKind.CHOICE else None
        try:
            value = value_clean(kind, config.op, config.value, choices=choices)
        except ValueError as error:
            raise RuleError(f"{definition.label}: {error}") from None
        return config.model_copy(update={"value": value})

    def compile(self, config: CustomFieldConfig, ctx: RuleContext) -> Q:
        definition = _definition(config.entity, config.key)
        if definition is None:  # deleted since the rule was saved: nobody matches, and the page says why
            return Q(pk__in=[])
        kind = CUSTOM_KINDS[CustomFieldType(definition.field_type)]
        model = Company if config.entity == CustomFieldEntity.COMPANY else Contact
        if kind == ValueKind.BOOLEAN:
            # A missing key or JSON null is "no"; only JSON true is "yes".
            yes = Q(Exists(model.objects.filter(pk=OuterRef("pk"), **{f"custom_fields__{config.key}": True})))
            q = yes if config.op == "is_true" else ~yes
        else:
            text = KeyTextTransform(config.key, "custom_fields")
            rows: Any = model.objects.annotate(_text=Cast(text, output_field=_char()))
            rows = rows.annotate(_value=_number_or_null(F("_text")) if kind == ValueKind.NUMBER else F("_text"))
            q = Q(
                Exists(
                    rows.filter(
                        scalar_q("_value", kind, config.op, config.value, today=ctx.today, date_as_text=True),
                        pk=OuterRef("pk"),
                    )
                )
            )
        return lift(config.entity, q, ctx)

    def describe(self, config: CustomFieldConfig) -> str:
        definition = _definition(config.entity, config.key)
        if definition is None:
            return _("custom field “%(key)s” (deleted)") % {"key": config.key}
        kind = CUSTOM_KINDS[CustomFieldType(definition.field_type)]
        return _("%(entity)s %(field)s %(phrase)s") % {
            "entity": ENTITY_LABELS[CustomFieldEntity(config.entity)],
            "field": definition.label,
            "phrase": scalar_describe(kind, config.op, config.value),
        }

    def catalog(self) -> dict[str, Any]:
        data = super().catalog()
        data["fields"] = [
            {
                "entity": d.entity,
                "value": d.key,
                "label": f"{ENTITY_LABELS[CustomFieldEntity(d.entity)]}: {d.label}",
                "kind": CUSTOM_KINDS[CustomFieldType(d.field_type)],
                "operators": [
                    {"value": k, "label": str(v)}
                    for k, v in OPERATORS_BY_KIND[CUSTOM_KINDS[CustomFieldType(d.field_type)]].items()
                ],
                "choices": [{"value": str(c), "label": str(c)} for c in d.choices],
            }
            for d in CustomFieldDefinition.objects.order_by("entity", "label")
        ]
        return data


def _char() -> Any:
    from django.db.models import TextField

    return TextField()


def _number_or_null(text: Any) -> Any:
    """The JSON text as a number, or NULL when it is not one (a bad import must not break the whole query)."""
    from django.db.models import Case, DecimalField, When

    return Case(
        When(
            Q(_text__regex=NUMBER_PATTERN), then=Cast(text, output_field=DecimalField(max_digits=30, decimal_places=6))
        ),
        default=None,
        output_field=DecimalField(max_digits=30, decimal_places=6),
    )


# --- Tags ----------------------------------------------------------------------------------------------------------

TAG_OPERATORS = {
    "any": gettext_lazy("has any of"),
    "all": gettext_lazy("has all of"),
    "none": gettext_lazy("has none of"),
}


class TagsConfig(ConditionConfig):
    entity: CustomFieldEntity = CustomFieldEntity.COMPANY
    op: str
    tags: list[int]

    @model_validator(mode="after")
    def _valid(self) -> TagsConfig:
        if self.op not in TAG_OPERATORS:
            raise ValueError(_("“%(op)s” is not an operator for this field. Choose one of the list.") % {"op": self.op})
        if not self.tags:
            raise ValueError(_("Choose at least one tag."))
        return self


@condition_types.register("tags")
class TagsCondition(ConditionType[TagsConfig]):
    label = gettext_lazy("Tags")
    section = SECTION
    config_model = TagsConfig
    value_kind = ValueKind.TAGS
    operators = TAG_OPERATORS
    inputs = [
        {"type": "select", "name": "entity", "options": options(ENTITY_LABELS)},
        {"type": "select", "name": "op", "options": options(TAG_OPERATORS)},
        {"type": "tags", "name": "tags"},
    ]
    defaults = {"entity": "company", "op": "any", "tags": []}

    def check(self, config: TagsConfig, *, subject: Subject) -> TagsConfig:
        known = set(Tag.objects.filter(pk__in=config.tags).values_list("pk", flat=True))
        if missing := [t for t in config.tags if t not in known]:
            raise RuleError(_("Tag %(id)s no longer exists. Remove it from the condition.") % {"id": missing[0]})
        return config

    def compile(self, config: TagsConfig, ctx: RuleContext) -> Q:
        model = Company if config.entity == CustomFieldEntity.COMPANY else Contact
        through = model.tags.through
        owner = "company_id" if model is Company else "contact_id"

        def has(tag_ids: list[int]) -> Q:
            return Q(Exists(through.objects.filter(**{owner: OuterRef("pk")}, tag_id__in=tag_ids)))

        if config.op == "any":
            q = has(config.tags)
        elif config.op == "all":
            q = Q()
            for tag in sorted(set(config.tags)):
                q &= has([tag])
        else:
            q = ~has(config.tags)
        return lift(config.entity, q, ctx)

    def describe(self, config: TagsConfig) -> str:
        names = "、".join(Tag.objects.filter(pk__in=config.tags).values_list("name", flat=True))
        return _("%(entity)s tags %(op)s %(tags)s") % {
            "entity": ENTITY_LABELS[CustomFieldEntity(config.entity)],
            "op": TAG_OPERATORS[config.op],
            "tags": names,
        }
