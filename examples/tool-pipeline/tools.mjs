// Tools of the tool-pipeline example. A tool is a function of one argument object, or an entry
// { fn, description, parameters, maxRetries, failureSignal, processAccumulated }.
const ORDERS = {
  'A-1001': {
    id: 'A-1001',
    customer: 'Ada',
    lines: [
      { sku: 'book', qty: 2, price: 35 },
      { sku: 'lamp', qty: 1, price: 49 },
    ],
  },
  'A-1002': { id: 'A-1002', customer: 'Grace', lines: [{ sku: 'pen', qty: 3, price: 4.5 }] },
};

let discountCalls = 0;
let nextPayment = 900;

export const tools = {
  fetch_order: ({ order_id }) => {
    const order = ORDERS[order_id];
    if (!order) throw new Error(`unknown order '${order_id}' (known: ${Object.keys(ORDERS).join(', ')})`);
    return order;
  },

  price_order: (order) => {
    const subtotal = order.lines.reduce((sum, l) => sum + l.qty * l.price, 0);
    return { subtotal, total: Math.round(subtotal * 1.2 * 100) / 100, tax_rate: 0.2 };
  },

  // The first call times out, like a real service sometimes does: maxRetries gives it a second
  // chance; if every attempt failed, DISCOUNT_UNAVAILABLE would let Charge go on at full price.
  apply_discount: {
    maxRetries: 2,
    failureSignal: 'DISCOUNT_UNAVAILABLE',
    fn: ({ total, percent }) => {
      discountCalls += 1;
      if (discountCalls === 1) throw new Error('discount service timed out');
      return { total: Math.round(total * (100 - percent)) / 100, discount_percent: percent };
    },
  },

  charge_card: {
    description: 'Charges the customer.',
    parameters: {
      type: 'object',
      properties: { customer: { type: 'string' }, amount: { type: 'number', exclusiveMinimum: 0 } },
      required: ['customer', 'amount'],
    },
    fn: ({ customer, amount }) => ({ payment_id: `PAY-${++nextPayment}`, customer, amount, status: 'captured' }),
  },
};
