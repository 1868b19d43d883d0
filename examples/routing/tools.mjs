// Tools of the routing example: plain functions, one argument object each.
let nextCase = 4100;

export const tools = {
  open_case: {
    description: 'Opens a case on a support desk.',
    parameters: {
      type: 'object',
      properties: { desk: { type: 'string' }, ticket: { type: 'string' }, reason: { type: 'string' } },
      required: ['desk', 'ticket'],
    },
    fn: ({ desk, ticket }) => ({
      case_id: `CASE-${++nextCase}`,
      desk,
      priority: /down|outage|urgent/i.test(ticket) ? 'urgent' : 'normal',
    }),
  },
  ask_for_details: ({ ticket }) =>
    ticket ? `"${ticket}" is too short for us to help: what happened, and when?` : 'Please describe your problem: what happened, and when?',
};
