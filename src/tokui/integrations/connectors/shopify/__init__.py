"""Shopify: Admin REST API backfill with cursor pagination and rate-limit handling, and verified webhooks."""
