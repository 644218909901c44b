import type { FastifyInstance } from 'fastify';
import type { Producer } from '../../jobs/producer.js';
import { QUEUE_NAMES } from '../../jobs/contract.js';

/** The queue dashboard (bull-board) at /admin/queues, behind the same key as the API. */
export async function queueBoard(app: FastifyInstance, producer: Producer): Promise<void> {
  const [{ createBullBoard }, { BullMQAdapter }, { FastifyAdapter }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/fastify'),
  ]);
  const board = new FastifyAdapter();
  board.setBasePath('/admin/queues');
  createBullBoard({ queues: QUEUE_NAMES.map((q) => new BullMQAdapter(producer.queue(q))), serverAdapter: board });
  await app.register(board.registerPlugin() as never, { prefix: '/admin/queues' });
}
