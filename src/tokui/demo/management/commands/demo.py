from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from tokui.accounts.enums import Role
from tokui.accounts.models import User
from tokui.accounts.services import user_create
from tokui.customers.models import Company
from tokui.demo.demo_tracking import DEMO_ORIGINS, demo_tracking_site_ensure


class Command(BaseCommand):
    help = "Set up and run the demo: migrate, load the demo data if the database is empty, and serve everything."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.HTTP_HOST)
        parser.add_argument("--port", type=int, default=settings.HTTP_PORT)
        parser.add_argument("--seed", type=int, default=20261125, help="Seed of the demo data (same seed, same data)")
        parser.add_argument("--no-serve", action="store_true", help="Only migrate and load the data")
        parser.add_argument("--reset", action="store_true", help="Delete every record first and load the demo again")

    def handle(self, *args: Any, host: str, port: int, seed: int, no_serve: bool, reset: bool, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        if reset:
            call_command("flush", interactive=False, verbosity=0)
        if not Company.objects.exists():
            from tokui.demo.generator import load_demo_data

            self.stdout.write("Loading the demo data (first start only, about a minute)...")
            summary = load_demo_data(seed=seed, progress=lambda message: self.stdout.write(f"  {message}"))
            self.stdout.write(
                f"  {summary.companies} companies, {summary.contacts} contacts, {summary.products} products, "
                f"{summary.orders} orders, {summary.carts} carts, {summary.events} events"
            )
            # The analysis pages and the 顧客カルテ read the nightly figures: compute them now, not at the first night.
            from tokui.analytics.services import analytics_nightly_run

            analytics_nightly_run(force=True)
            self.stdout.write("  customer stats, RFM snapshots and predictions computed")
            from tokui.demo.demo_marketing import demo_marketing_load

            marketing = demo_marketing_load()
            self.stdout.write(f"  {marketing.templates} mail templates and {marketing.segments} segments")
        self._ensure_admin()
        demo_tracking_site_ensure(origins=sorted({*DEMO_ORIGINS, f"http://{host}:{port}", f"http://localhost:{port}"}))
        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(f"\nTokui demo: {url}"))
        self.stdout.write(f"Log in as admin / {settings.DEMO_PASSWORD}  (sales rep: sato / {settings.DEMO_PASSWORD})")
        self.stdout.write(f"Demo shop with the tracking tag: {url}shop/")
        if settings.MAILCATCHER_ENABLED:
            self.stdout.write(
                f"Mail goes to the built-in mail catcher on {settings.MAILCATCHER_HOST}:{settings.MAILCATCHER_PORT}"
            )
        if no_serve:
            return
        from tokui.runtime import serve

        serve(host=host, port=port, on_ready=lambda: self.stdout.write(f"Ready: {url} (Ctrl+C to stop)"))

    @transaction.atomic
    def _ensure_admin(self) -> None:
        if not User.objects.filter(username="admin").exists():
            user_create(
                username="admin",
                password=settings.DEMO_PASSWORD,
                role=Role.ADMIN,
                email="admin@tokui.localhost",
                display_name="管理者",
            )
