"""Importers of CSV and Excel files, one per object type, found through :data:`importers`."""

from tokui.integrations.importers import companies, contacts, orders, products
from tokui.integrations.importers.base import Importer, importers

__all__ = ["Importer", "companies", "contacts", "importers", "orders", "products"]
