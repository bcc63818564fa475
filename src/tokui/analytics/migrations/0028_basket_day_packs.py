from django.db import migrations, models

# The line facts delete the pack of every day whose basket lines change (ADR 0053). PostgreSQL only: elsewhere the
# screen reads the line facts themselves. Inserts and deletes come in bulk (the consumer, the catch-up): one call a
# statement, over its rows. An update fires only when it sets the day, the order or the product and changes one
# (a row at a time: rare), so the updates of the buyer's chains, which the basket does not read, cost nothing.
_FUNCTION = """
CREATE OR REPLACE FUNCTION analytics_basket_packs_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM analytics_basketdaypack;
    ELSIF TG_OP = 'INSERT' THEN
        DELETE FROM analytics_basketdaypack WHERE day IN (SELECT DISTINCT day FROM new_lines);
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM analytics_basketdaypack WHERE day IN (SELECT DISTINCT day FROM old_lines);
    ELSE
        DELETE FROM analytics_basketdaypack WHERE day IN (OLD.day, NEW.day);
    END IF;
    RETURN NULL;
END
$$
"""
_TRIGGERS = [
    "CREATE TRIGGER analytics_basket_packs_inserted AFTER INSERT ON analytics_saleslinefact"
    " REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION analytics_basket_packs_stale()",
    "CREATE TRIGGER analytics_basket_packs_deleted AFTER DELETE ON analytics_saleslinefact"
    " REFERENCING OLD TABLE AS old_lines FOR EACH STATEMENT EXECUTE FUNCTION analytics_basket_packs_stale()",
    "CREATE TRIGGER analytics_basket_packs_updated AFTER UPDATE OF day, order_id, product_id"
    " ON analytics_saleslinefact FOR EACH ROW WHEN ((OLD.day, OLD.order_id, OLD.product_id)"
    " IS DISTINCT FROM (NEW.day, NEW.order_id, NEW.product_id)) EXECUTE FUNCTION analytics_basket_packs_stale()",
    "CREATE TRIGGER analytics_basket_packs_truncated AFTER TRUNCATE ON analytics_saleslinefact"
    " FOR EACH STATEMENT EXECUTE FUNCTION analytics_basket_packs_stale()",
]


def create_triggers(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    # A year's packs are 41 MB of values that do not compress: stored out of line, uncompressed.
    schema_editor.execute("ALTER TABLE analytics_basketdaypack ALTER COLUMN lines SET STORAGE EXTERNAL")
    schema_editor.execute(_FUNCTION)
    for statement in _TRIGGERS:
        schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in ("inserted", "deleted", "updated", "truncated"):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS analytics_basket_packs_{name} ON analytics_saleslinefact")
    schema_editor.execute("DROP FUNCTION IF EXISTS analytics_basket_packs_stale()")


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0027_sales_order_fact_first"),
    ]

    operations = [
        migrations.CreateModel(
            name="BasketDayPack",
            fields=[
                ("day", models.DateField(primary_key=True, serialize=False, verbose_name="day")),
                ("lines", models.BinaryField(verbose_name="lines")),
                ("built_at", models.DateTimeField(verbose_name="built at")),
            ],
            options={
                "verbose_name": "basket day pack",
                "verbose_name_plural": "basket day packs",
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
