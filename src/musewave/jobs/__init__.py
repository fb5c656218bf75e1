"""The job queue: states, the retry policy, records, and the local (SQL) backend."""

from musewave.jobs.local import LocalQueue
from musewave.jobs.policy import RetryDecision, RetryPolicy, error_kind_of
from musewave.jobs.records import AssetRecord, JobRecord, QueueStats, RemovedJob
from musewave.jobs.states import FINISHED_STATES, JobState, Priority

__all__ = [
    "FINISHED_STATES",
    "AssetRecord",
    "JobRecord",
    "JobState",
    "LocalQueue",
    "Priority",
    "QueueStats",
    "RemovedJob",
    "RetryDecision",
    "RetryPolicy",
    "error_kind_of",
]
