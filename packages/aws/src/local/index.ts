/**
 * `@soe/aws/local`: the local runtime — the real Lambda handlers in-process on embedded emulators
 * (dynalite for DynamoDB, fauxqs for SQS), with fault injection (chaos) and a request counter. The
 * emulators are dependencies of `@soe/aws`, loaded only when {@link startLocalEmulators} runs, so a
 * Lambda bundle of the main entry never carries them.
 */

export type { Chaos, ChaosOptions } from './chaos.js';
export { createChaos, seededRandom } from './chaos.js';
export type { LocalEmulators, LocalEmulatorsOptions } from './local-emulators.js';
export { createSoeTable, startLocalEmulators } from './local-emulators.js';
export type { IdleResult, LocalLogEntry, LocalRuntime, LocalRuntimeOptions } from './local-runtime.js';
export { createLocalRuntime } from './local-runtime.js';
export type { RequestCounter, RequestCounts, ServiceCounts } from './request-counter.js';
export { createRequestCounter } from './request-counter.js';
export type { LocalSqsEventSourceOptions } from './sqs-event-source.js';
export { LocalSqsEventSource } from './sqs-event-source.js';
