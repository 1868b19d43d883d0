import { expect } from 'vitest';
import { newest, type RunJson } from './helpers.js';

/** One run of an example and what its result must be, on any runtime. */
export interface ExampleCase {
  name: string;
  example: string;
  context?: Record<string, unknown>;
  check(r: RunJson): void;
}

const nodeTypes = (r: RunJson) => new Set(r.events.filter((e) => e.event_type === 'node_completed').map((e) => e.node_type));

/** Every example, with an input that takes it down its main path. */
export const EXAMPLE_CASES: ExampleCase[] = [
  {
    name: 'routing: the model routes an invoice ticket to billing',
    example: 'routing',
    context: { ticket: 'I was charged twice on my last invoice' },
    check(r) {
      expect(r.signals).toEqual(['START', 'VALID', 'BILLING', 'ROUTED']);
      expect(newest(r.context, 'case')).toMatchObject({ desk: 'billing', priority: 'normal' });
      expect(nodeTypes(r)).toEqual(new Set(['router', 'llm', 'tool']));
    },
  },
  {
    name: 'routing: an urgent technical ticket also pages on-call',
    example: 'routing',
    context: { ticket: 'The site is down with error 502 since noon' },
    check(r) {
      expect(r.signals).toEqual(expect.arrayContaining(['TECHNICAL', 'ROUTED', 'PAGE_ON_CALL']));
      expect(newest(r.context, 'case')).toMatchObject({ desk: 'technical', priority: 'urgent' });
    },
  },
  {
    name: 'routing: without a ticket the router asks for details',
    example: 'routing',
    check(r) {
      expect(r.signals).toEqual(['START', 'TOO_SHORT', 'NEEDS_DETAILS']);
      expect(r.context.__operational__.llm_calls).toBe(0);
    },
  },
  {
    name: 'tool-pipeline: a large order is discounted after one retry, charged and receipted',
    example: 'tool-pipeline',
    context: { order_id: 'A-1001' },
    check(r) {
      expect(r.signals).toEqual(['START', 'ORDER_LOADED', 'LARGE_ORDER', 'PRICED', 'CHARGED', 'DONE']);
      expect(r.context.pricing).toEqual([
        { subtotal: 119, total: 142.8, tax_rate: 0.2 },
        { total: 128.52, discount_percent: 10 },
      ]);
      expect(newest(r.context, 'payment')).toMatchObject({ amount: 128.52, status: 'captured' });
      const discountCalls = r.events.filter((e) => e.event_type === 'tool_call' && e.tool_name === 'apply_discount');
      expect(discountCalls.map((e) => e.ok)).toEqual([false, true]);
      expect(newest(r.context, 'receipt')).toContain('128.52 EUR');
    },
  },
  {
    name: 'tool-pipeline: an unknown order fails the run naming the node',
    example: 'tool-pipeline',
    context: { order_id: 'B-1' },
    check(r) {
      expect(r.status).toBe('failed');
      expect(r.error).toMatch(/node 'FetchOrder'.*unknown order 'B-1'/);
    },
  },
  {
    name: 'llm-identities: the critic rejects one draft, the revision is published',
    example: 'llm-identities',
    context: { product: 'Trailhead 30 backpack' },
    check(r) {
      expect(r.signals).toEqual(['START', 'DRAFTED', 'REVISE', 'DRAFTED', 'ACCEPTED', 'PUBLISHED']);
      expect(r.context.review).toEqual([
        { score: 5, notes: expect.any(String) },
        { score: 8, notes: expect.any(String) },
      ]);
      // Draft, Review (an answer the schema rejected, then a valid one), Revise, Review.
      expect(r.context.__operational__.llm_calls).toBe(5);
      expect(newest(r.context, 'published')).toMatchObject({ url: 'https://shop.example/trailhead-30-backpack', score: 8 });
    },
  },
  {
    name: 'agent-tools: the agent looks up, checks the policy, refunds and answers',
    example: 'agent-tools',
    context: { request: 'My backpack from order A-1001 arrived torn.', request_email: 'ada@example.com' },
    check(r) {
      expect(r.signals).toEqual(['START', 'RESOLVED', 'DONE']);
      const tools = r.events.filter((e) => e.event_type === 'tool_call').map((e) => e.tool_name);
      expect(tools).toEqual(['lookup_order', 'refund_policy', 'issue_refund', 'send_email']);
      expect(newest(r.context, 'resolution')).toMatch(/refunded the full 129 EUR/);
      expect(nodeTypes(r)).toEqual(new Set(['agent', 'tool']));
    },
  },
  {
    name: 'fan-out: one child per document, one digest of all three',
    example: 'fan-out',
    check(r) {
      expect(r.signals.filter((s) => s === 'SUMMARY_READY')).toHaveLength(3);
      expect(r.signals.filter((s) => s === 'ALL_SUMMARIZED')).toHaveLength(1);
      const digest = newest(r.context, 'digest') as { count: number; digest: string };
      expect(digest.count).toBe(3);
      expect(digest.digest.split('\n')).toEqual([
        '- Hiring: two support engineers and a data analyst by December.',
        '- Sales: revenue +12% on Q2, returns down to 3%.',
        '- Warehouse: two pallets damaged by a forklift, no injuries.',
      ]);
      const children = new Set(r.events.map((e) => e.execution_id).filter((id) => id !== r.executionId));
      expect(children.size).toBe(3);
      expect(nodeTypes(r)).toEqual(new Set(['tool', 'child', 'llm', 'router']));
    },
  },
  {
    name: 'human-approval: a large claim stops idle, waiting for a manager',
    example: 'human-approval',
    context: { claim: { employee: 'Ada', description: 'Flight Berlin-Lisbon, customer visit', amount: 740 } },
    check(r) {
      expect(r.status).toBe('completed');
      expect(r.signals).toEqual(['START', 'ASSESSED', 'NEEDS_APPROVAL', 'AWAITING_APPROVAL']);
      expect(r.context.payment).toBeUndefined();
    },
  },
  {
    name: 'human-approval: a small claim is paid at once',
    example: 'human-approval',
    context: { claim: { employee: 'Grace', description: 'Team lunch', amount: 54 } },
    check(r) {
      expect(r.signals).toEqual(['START', 'ASSESSED', 'AUTO_APPROVED', 'PAID']);
      expect(newest(r.context, 'payment')).toMatchObject({ employee: 'Grace', amount: 54 });
    },
  },
];
