"""Durable jobs: creates and deletes run to their end, across crashes."""

from broker.jobs.env import JobEnv
from broker.jobs.runner import JobRunner

__all__ = ["JobEnv", "JobRunner"]
