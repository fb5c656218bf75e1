"""The job core: one queue interface with two backends (local and BullMQ), the SQL store that
is the system of record, the retry policy, and the operations the API and CLI share.

    with open_queue(settings) as queue:
        jobs = JobsService(queue, open_storage(settings.storage_dir), cache)
        job, created = jobs.submit(request)
"""

from musewave.jobs.errors import (
    BucketsOutOfRange,
    IdempotencyConflict,
    InvalidCursor,
    JobConflict,
    JobNotFound,
    QueueUnavailable,
)
from musewave.jobs.events import (
    JobEvent,
    PublishEvent,
    Stage,
    connected_event,
    final_event,
    queued_event,
)
from musewave.jobs.policy import RetryDecision, RetryPolicy, error_kind_of
from musewave.jobs.queue import JobQueue, open_queue, open_store
from musewave.jobs.records import AssetRecord, JobRecord, QueueStats, RemovedJob, ThroughputBucket
from musewave.jobs.service import JOB_VIEWS, JobsService
from musewave.jobs.states import FINISHED_STATES, JobState, Priority
from musewave.jobs.store import JobStore

__all__ = [
    "FINISHED_STATES",
    "JOB_VIEWS",
    "AssetRecord",
    "BucketsOutOfRange",
    "IdempotencyConflict",
    "InvalidCursor",
    "JobConflict",
    "JobEvent",
    "JobNotFound",
    "JobQueue",
    "JobRecord",
    "JobState",
    "JobStore",
    "JobsService",
    "Priority",
    "PublishEvent",
    "QueueStats",
    "QueueUnavailable",
    "RemovedJob",
    "RetryDecision",
    "RetryPolicy",
    "Stage",
    "ThroughputBucket",
    "connected_event",
    "error_kind_of",
    "final_event",
    "open_queue",
    "open_store",
    "queued_event",
]
