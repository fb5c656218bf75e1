// A Node.js BullMQ client for tests/jobs/test_bullmq_interop.py: it reads and adds jobs on a
// MuseWave queue with the same npm package a dashboard (e.g. Bull Board) would use.
//
//   node bullmq_client.mjs get <redis-url> <queue> <job-id>             -> the job as JSON
//   node bullmq_client.mjs add <redis-url> <queue> <name> <data> <opts> -> {"id": ...}
import { Queue } from 'bullmq';

const [command, url, queueName, ...rest] = process.argv.slice(2);
const queue = new Queue(queueName, { connection: { url } });
try {
  if (command === 'get') {
    const job = await queue.getJob(rest[0]);
    const view = job && {
      id: job.id,
      name: job.name,
      data: job.data,
      opts: job.opts,
      priority: job.priority,
      attemptsMade: job.attemptsMade,
      returnvalue: job.returnvalue,
      failedReason: job.failedReason,
      state: await job.getState(),
    };
    console.log(JSON.stringify(view ?? null));
  } else if (command === 'add') {
    const [name, data, opts] = rest;
    const job = await queue.add(name, JSON.parse(data), JSON.parse(opts));
    console.log(JSON.stringify({ id: job.id }));
  } else {
    throw new Error(`unknown command ${command}; use get or add`);
  }
} finally {
  await queue.close();
}
