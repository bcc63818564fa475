"""B-Cart (Bカート): REST API sync paced under its rate limit, and order webhooks deduplicated by event id."""
