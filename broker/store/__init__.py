"""The broker's state in SQLite: one connection, migrations, and its queries."""

from broker.store.db import Database
from broker.store.inventory import InventoryStore, Slice, Summary
from broker.store.records import Attempt, Job, Resource, new_id, utc_now
from broker.store.store import KeyedAnswer, Page, ResourceFilter, Store, StoredAnswer

__all__ = [
    "Attempt",
    "Database",
    "InventoryStore",
    "Job",
    "KeyedAnswer",
    "Page",
    "Resource",
    "ResourceFilter",
    "Slice",
    "Store",
    "StoredAnswer",
    "Summary",
    "new_id",
    "utc_now",
]
