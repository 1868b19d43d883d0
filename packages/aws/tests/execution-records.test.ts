/**
 * The record fold without an emulator: an execution's items, as one Query returns them, folded into
 * the context and the facts its status is derived from (ExecutionRecords, LogFold).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildCommit } from '../src/commit-builder.js';
import { initRecord } from '../src/dynamo-context-backend.js';
import { InconsistentReadError } from '../src/errors.js';
import { LogFold } from '../src/execution-log.js';
import { ExecutionRecords } from '../src/execution-records.js';
import { LOG_KIND } from '../src/record-types.js';
import { encodePayload, type TableItem } from '../src/soe-table.js';
import { derivedId, executionPk, handledSk, logSk, receivedSk } from '../src/table-keys.js';

const ID = 'e1';
const PK = executionPk(ID);

/** An item as stored: attributes plus its encoded payload (and any chunk items). */
function stored(sk: string, attributes: TableItem, payload: unknown): TableItem[] {
  if (payload === undefined) return [{ ...attributes, pk: PK, sk }];
  const { attributes: encoded, chunks } = encodePayload(PK, sk, payload);
  return [{ ...attributes, ...encoded, pk: PK, sk }, ...chunks];
}

const init = (): TableItem[] => {
  const { item, payload } = initRecord(ID, { fields: { topic: ['ai'] }, mainExecutionId: ID }, 'start');
  return stored(String(item.sk), item, payload);
};

const log = (seq: number, attributes: TableItem, payload?: unknown): TableItem[] => stored(logSk(seq), { ...attributes, q: seq }, payload);

/** The commit of node `node` triggered by broadcast `b` (as the worker writes it). */
const commit = (
  seq: number,
  b: string,
  node: string,
  over: { emit?: string[]; fields?: Record<string, unknown[]>; error?: Error; isLast?: boolean } = {},
) => {
  const built = buildCommit({
    executionId: ID,
    broadcastId: b,
    nodeName: node,
    runKey: `${b}#${node}`,
    outcome: {
      update: { nodes: { [node]: 1 }, fields: over.fields ?? {} },
      emit: over.emit ?? [],
      extraEmit: [],
      foreignUpdates: [],
      outbox: [],
      spawns: [],
      ...(over.error ? { error: over.error } : {}),
    },
    workflow: undefined,
    isLast: over.isLast ?? true,
    maxValueBytes: 1 << 20,
  });
  return log(seq, built.attributes, built.payload);
};

describe('ExecutionRecords: the fold of one partition', () => {
  it('an unknown execution has no fold and an empty context', () => {
    const records = new ExecutionRecords(ID, []);
    expect(records.exists).toBe(false);
    expect(records.fold()).toBeUndefined();
    expect(records.context()).toEqual({});
  });

  it('folds the log in position order, whatever order the items come in', () => {
    const items = [
      ...commit(2, derivedId('start#Draft', 'emit'), 'Review', { fields: { review: ['ok'] } }),
      ...init(),
      ...log(1, { k: LOG_KIND.receipt, b: 'start', s: ['START'] }, {}),
      ...commit(3, 'start', 'Draft', { fields: { draft: ['v2'] } }),
    ];
    const records = new ExecutionRecords(ID, items.reverse());
    const ctx = records.context();
    expect(ctx.topic).toEqual(['ai']);
    expect(ctx.review).toEqual(['ok']);
    expect(ctx.draft).toEqual(['v2']);
    expect(ctx.__operational__?.signals).toEqual(['START']);
    expect(ctx.__operational__?.nodes).toEqual({ Review: 1, Draft: 1 });
    expect(records.fold()?.head).toBe(3);
    expect([...records.commits()].map((c) => [c.seq, c.nodeName])).toEqual([
      [2, 'Review'],
      [3, 'Draft'],
    ]);
  });

  it('signals sent from outside show at once, and once only after a worker records them', () => {
    const sent = [...init(), { pk: PK, sk: receivedSk('ext1'), s: ['APPROVED'] }];
    expect(new ExecutionRecords(ID, sent).context().__operational__?.signals).toEqual(['APPROVED']);
    const received = [...sent, ...log(1, { k: LOG_KIND.receipt, b: 'ext1', s: ['APPROVED'] }, {})];
    expect(new ExecutionRecords(ID, received).context().__operational__?.signals).toEqual(['APPROVED']);
  });

  it('what was sent and what was handled: the facts the status counts', () => {
    const emitted = derivedId('start#Draft', 'emit');
    const items = [
      ...init(),
      ...log(1, { k: LOG_KIND.receipt, b: 'start', s: ['START'] }, {}),
      ...commit(2, 'start', 'Draft', { emit: ['DRAFTED'] }),
      { pk: PK, sk: handledSk('other'), ord: 5 },
    ];
    const records = new ExecutionRecords(ID, items);
    expect(records.sentBroadcasts()).toEqual(
      new Map([
        ['start', ID],
        [emitted, ID],
      ]),
    );
    // `start` is handled by the commit of its last run; the emitted broadcast is still in flight.
    expect(records.handledIds()).toEqual(new Set(['start', 'other']));
    expect(records.broadcastSignals(emitted)).toEqual(['DRAFTED']);
    expect(records.failure()).toBeUndefined();
  });

  it('a failed run is the execution failure, earliest first; a redrive clears what failed before it', () => {
    const failed = [...init(), ...commit(1, 'start', 'Draft', { error: new Error('boom') })];
    const first = new ExecutionRecords(ID, failed).failure();
    expect(first).toMatchObject({ executionId: ID, error: 'Error: boom', node: 'Draft', broadcastId: 'start' });
    const redriven = [...failed, ...log(2, { k: LOG_KIND.redrive, b: 'start-r1', r: 'start', s: ['START'], ord: Number(first!.ord) + 1 })];
    expect(new ExecutionRecords(ID, redriven).failure()).toBeUndefined();
    const failedAgain = [...redriven, ...commit(3, 'start-r1', 'Draft', { error: new Error('boom again') })];
    expect(new ExecutionRecords(ID, failedAgain).failure()?.error).toBe('Error: boom again');
  });

  it('a cancel record ends the execution', () => {
    const items = [...init(), ...log(1, { k: LOG_KIND.cancel, ord: 1 })];
    expect(new ExecutionRecords(ID, items).cancelled()).toBe(true);
    expect(new ExecutionRecords(ID, init()).cancelled()).toBe(false);
  });

  it('a payload split into chunks folds like an inline one', () => {
    const big = randomBytes(600_000).toString('base64');
    const items = [...init(), ...commit(1, 'start', 'Draft', { fields: { draft: [big] } })];
    expect(items.length).toBeGreaterThan(2);
    expect(new ExecutionRecords(ID, items).context().draft).toEqual([big]);
  });
});

describe('LogFold: the order argument, checked', () => {
  const fresh = () => {
    const [initItem] = init();
    const { payload } = initRecord(ID, { fields: { topic: ['ai'] }, mainExecutionId: ID }, 'start');
    return LogFold.fromInit(ID, payload, initItem!);
  };

  it('a gap in the log is a transient InconsistentReadError naming the positions', () => {
    const fold = fresh();
    const [item] = log(2, { k: LOG_KIND.update }, { fields: { a: [1] } });
    expect(() => fold.apply(item!, { fields: { a: [1] } })).toThrow(InconsistentReadError);
    expect(() => fold.apply(item!, { fields: { a: [1] } })).toThrow("execution 'e1': log position 1 expected, found 2");
  });

  it('a position folded already is skipped, so a re-read never applies a record twice', () => {
    const fold = fresh();
    const [item] = log(1, { k: LOG_KIND.update }, { fields: { a: [1] } });
    fold.apply(item!, { fields: { a: [1] } });
    fold.apply(item!, { fields: { a: [1] } });
    expect(fold.context().a).toEqual([1]);
    expect(fold.head).toBe(1);
  });

  it('a snapshot restores the same fold, with large values left out until loaded', () => {
    const fold = fresh();
    const large = 'y'.repeat(20_000);
    const [c1] = commit(1, 'start', 'Draft', { fields: { draft: [large], note: ['small'] } });
    fold.apply(c1!, { u: { nodes: { Draft: 1 }, fields: { draft: [large], note: ['small'] } } });
    const restored = LogFold.fromSnapshot(ID, JSON.parse(JSON.stringify(fold.snapshot())));
    expect(restored.head).toBe(1);
    expect(restored.runs).toEqual(new Map([['start#Draft', 1]]));
    expect(restored.context().note).toEqual(['small']);
    expect(restored.context().draft).toEqual([null]);
    expect(restored.unloadedFields()).toEqual(new Set(['draft']));
  });
});
