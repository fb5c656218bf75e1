// Bull Board (npm @bull-board/api with its BullMQ adapter) reading a MuseWave queue: the
// board is built as a web server would build it, and its own GET /api/queues handler answers,
// with the board's response schema checked (validateResponses), as the dashboard's page would
// ask. Prints that answer as JSON.
//
//   node bull_board.mjs <redis-url> <queue>
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { Queue } from 'bullmq';

// What @bull-board/express and the other server adapters receive; this one only keeps it.
class RecordingServerAdapter {
  setQueues(queues) { this.queues = queues; return this; }
  setViewsPath() { return this; }
  setStaticPath() { return this; }
  setUIConfig(config) { this.uiConfig = config; return this; }
  setEntryRoute() { return this; }
  setErrorHandler() { return this; }
  setApiRoutes(routes) { this.routes = routes; return this; }
}

const [url, queueName] = process.argv.slice(2);
const queue = new Queue(queueName, { connection: { url } });
try {
  const server = new RecordingServerAdapter();
  createBullBoard({
    queues: [new BullMQAdapter(queue, { readOnlyMode: true })],
    serverAdapter: server,
    options: { validateResponses: true },
  });
  const route = server.routes.find((r) => r.route === '/api/queues' && r.method === 'get');
  const answer = await route.handler({
    queues: server.queues,
    uiConfig: server.uiConfig,
    query: { activeQueue: queueName, status: 'latest', page: '1', jobsPerPage: '50' },
    params: {},
    body: {},
    headers: {},
  });
  console.log(JSON.stringify(answer));
} finally {
  await queue.close();
}
