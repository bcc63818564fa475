"""The RFM settings form: boundaries per axis and the groups, with the R×F cells each group covers."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tokui.analytics.enums import RankMethod
from tokui.analytics.types import RfmGroupDef, RfmRules

RANKS = (5, 4, 3, 2, 1)
EXTRA_GROUPS = 2
_SEPARATORS = re.compile(r"[,\s、，]+")


def bounds_split(text: str) -> list[str]:
    """``"30, 60、90 180"`` → ``["30", "60", "90", "180"]``: commas (also Japanese ones) or spaces separate."""
    return [part for part in _SEPARATORS.split(text.strip()) if part]


def _bounds_text(values: tuple[Any, ...]) -> str:
    return ", ".join(str(value) for value in values)


class RfmSettingsForm(forms.Form):
    recency_method = forms.ChoiceField(label=gettext_lazy("Recency ranks"), choices=RankMethod.choices)
    recency_bounds = forms.CharField(
        label=gettext_lazy("Recency boundaries (days since the last order)"),
        help_text=gettext_lazy("Four ascending numbers: R5 within the first, R4 within the second, … R1 beyond."),
    )
    frequency_method = forms.ChoiceField(label=gettext_lazy("Frequency ranks"), choices=RankMethod.choices)
    frequency_bounds = forms.CharField(
        label=gettext_lazy("Frequency boundaries (orders)"),
        help_text=gettext_lazy("Four ascending numbers: the least orders for F2, F3, F4 and F5."),
    )
    monetary_method = forms.ChoiceField(label=gettext_lazy("Monetary ranks"), choices=RankMethod.choices)
    monetary_bounds = forms.CharField(
        label=gettext_lazy("Monetary boundaries (total spend)"),
        help_text=gettext_lazy("Four ascending amounts: the least total spend for M2, M3, M4 and M5."),
    )

    def __init__(self, *args: Any, rules: RfmRules, **kwargs: Any) -> None:
        initial = {
            "recency_method": rules.recency_method,
            "recency_bounds": _bounds_text(rules.recency_bounds),
            "frequency_method": rules.frequency_method,
            "frequency_bounds": _bounds_text(rules.frequency_bounds),
            "monetary_method": rules.monetary_method,
            "monetary_bounds": _bounds_text(tuple(format(value.normalize(), "f") for value in rules.monetary_bounds)),
        }
        group_slots = len(rules.groups) + EXTRA_GROUPS
        for index in range(group_slots):
            group = rules.groups[index] if index < len(rules.groups) else None
            initial[f"group_{index}"] = group.name if group else ""
        cell_group = {cell: index for index, group in enumerate(rules.groups) for cell in group.cells}
        for r in RANKS:
            for f in reversed(RANKS):
                initial[f"cell_{r}_{f}"] = str(cell_group[(r, f)]) if (r, f) in cell_group else ""
        kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.group_slots = group_slots
        names = [group.name for group in rules.groups]
        choices = [
            ("", _("(none)")),
            *(
                (str(index), names[index] if index < len(names) else _("Group %(n)d") % {"n": index + 1})
                for index in range(group_slots)
            ),
        ]
        for index in range(group_slots):
            self.fields[f"group_{index}"] = forms.CharField(
                label=_("Group %(n)d") % {"n": index + 1}, required=False, max_length=50
            )
        for r in RANKS:
            for f in reversed(RANKS):
                self.fields[f"cell_{r}_{f}"] = forms.ChoiceField(label=f"R{r}×F{f}", required=False, choices=choices)

    def group_fields(self) -> list[forms.BoundField]:
        return [self[f"group_{index}"] for index in range(self.group_slots)]

    def cell_rows(self) -> list[tuple[int, list[forms.BoundField]]]:
        return [(r, [self[f"cell_{r}_{f}"] for f in reversed(RANKS)]) for r in RANKS]

    def groups(self) -> list[RfmGroupDef]:
        """The groups as entered: named groups in order, each with the cells set to it. Call after ``is_valid``."""
        data = self.cleaned_data
        cells: dict[int, set[tuple[int, int]]] = {index: set() for index in range(self.group_slots)}
        for r in RANKS:
            for f in RANKS:
                value = data.get(f"cell_{r}_{f}") or ""
                if value:
                    cells[int(value)].add((r, f))
        groups = []
        for index in range(self.group_slots):
            name = (data.get(f"group_{index}") or "").strip()
            if not name and cells[index]:
                self.add_error(
                    f"group_{index}",
                    _("Group %(n)d has cells but no name: name it, or set its cells to (none).") % {"n": index + 1},
                )
            elif name:
                groups.append(RfmGroupDef(name=name, cells=frozenset(cells[index])))
        return groups
