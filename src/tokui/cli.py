"""The ``tokui`` command: Django's management commands under one name (``tokui demo``, ``tokui migrate``, ...)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokui.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else ["tokui", *argv])
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
