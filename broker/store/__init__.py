"""The broker's state in SQLite: one connection, migrations, and its queries."""

from broker.store.db import Database
from broker.store.records import Attempt, Job, Resource, new_id, utc_now
from broker.store.store import Page, ResourceFilter, Store, StoredAnswer

__all__ = [
    "Attempt",
    "Database",
    "Job",
    "Page",
    "Resource",
    "ResourceFilter",
    "Store",
    "StoredAnswer",
    "new_id",
    "utc_now",
]
