// Tools of the agent-tools example. `description` and `parameters` (a JSON Schema) are what the agent's
// model sees when it chooses a tool and writes its arguments; the arguments are validated against it.
const ORDERS = { 'A-1001': { id: 'A-1001', item: 'Trailhead 30 backpack', paid: 129, delivered: '2025-05-02', damaged: true } };
const refunds = [];

export const tools = {
  lookup_order: {
    description: 'Finds an order by id: item, amount paid, delivery date, reported damage.',
    parameters: { type: 'object', properties: { order_id: { type: 'string', pattern: '^A-\\d{4}$' } }, required: ['order_id'] },
    fn: ({ order_id }) => {
      const order = ORDERS[order_id];
      if (!order) throw new Error(`no order ${order_id}`);
      return order;
    },
  },
  refund_policy: {
    description: 'The refund policy for a reason ("damaged", "late", "changed_mind").',
    parameters: {
      type: 'object',
      properties: { reason: { type: 'string', enum: ['damaged', 'late', 'changed_mind'] } },
      required: ['reason'],
    },
    fn: ({ reason }) => ({ damaged: { refund_percent: 100 }, late: { refund_percent: 20 }, changed_mind: { refund_percent: 0 } })[reason],
  },
  issue_refund: {
    description: 'Refunds an amount on an order.',
    parameters: {
      type: 'object',
      properties: { order_id: { type: 'string' }, amount: { type: 'number', exclusiveMinimum: 0 } },
      required: ['order_id', 'amount'],
    },
    fn: ({ order_id, amount }) => {
      const refund = { refund_id: `R-${refunds.length + 1}`, order_id, amount };
      refunds.push(refund);
      return refund;
    },
  },
  send_email: ({ to, body }) => ({ to, sent: true, chars: String(body).length }),
};
