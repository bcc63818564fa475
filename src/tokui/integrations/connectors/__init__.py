"""Connectors that pull from and listen to cart systems (Shopify, B-Cart, EC-CUBE)."""
