from django.db import migrations, models

# The line facts delete the pack of every day whose basket lines change (ADR 0053). An update that leaves the day,
# order and product of every row as they were (the buyer's chains) keeps the packs. PostgreSQL only: elsewhere the
# screen reads the line facts themselves.
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
        DELETE FROM analytics_basketdaypack WHERE day IN (
            SELECT unnest(ARRAY[o.day, n.day]) FROM old_lines o JOIN new_lines n ON n.line_id = o.line_id
            WHERE (o.day, o.order_id, o.product_id) IS DISTINCT FROM (n.day, n.order_id, n.product_id)
        );
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
    "CREATE TRIGGER analytics_basket_packs_updated AFTER UPDATE ON analytics_saleslinefact"
    " REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines FOR EACH STATEMENT"
    " EXECUTE FUNCTION analytics_basket_packs_stale()",
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
