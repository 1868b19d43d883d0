/**
 * Lambda's function timeout, enforced in process. Lambda kills an invocation at its timeout: the
 * process is frozen or gone and makes no further calls. In process nothing can be killed, so each
 * invocation runs inside an AsyncLocalStorage scope, and a middleware on the DynamoDB and SQS clients
 * refuses every call made from a scope that is past its deadline or was abandoned: whatever the
 * abandoned handler still does, it can write nothing, send nothing and delete nothing.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';

/** One invocation's scope. */
export interface InvocationScope {
  /** Epoch ms at which Lambda would kill the invocation. */
  readonly deadline: number;
  /** Set when the invocation was abandoned (timed out, or the runtime closed). */
  killed: boolean;
}

/** Thrown by a client call made from a killed invocation. */
export class InvocationKilledError extends Error {
  constructor() {
    super('this Lambda invocation was killed (it ran past the function timeout): a killed invocation makes no calls');
    this.name = 'InvocationKilledError';
  }
}

/** The clients the runtime's handlers use. */
type GuardedClient = DynamoDBClient | SQSClient;

/** The scopes of the local runtime's invocations, and the guard that makes a killed one mute. */
export class InvocationScopes {
  private readonly storage = new AsyncLocalStorage<InvocationScope>();
  /** Client calls of invocations that are on their way (a killed invocation's last ones included). */
  private inFlight = 0;
  private readonly idle: Array<() => void> = [];

  /** Runs an invocation in a new scope that ends `timeoutMs` from now. */
  run<T>(timeoutMs: number, fn: (scope: InvocationScope) => Promise<T>): { scope: InvocationScope; result: Promise<T> } {
    const scope: InvocationScope = { deadline: Date.now() + timeoutMs, killed: false };
    return { scope, result: this.storage.run(scope, () => fn(scope)) };
  }

  /** True when the current async context belongs to a killed (or overdue) invocation. */
  isKilled(): boolean {
    const scope = this.storage.getStore();
    return !!scope && (scope.killed || Date.now() > scope.deadline);
  }

  /**
   * Resolves once no invocation has a client call on its way. Calls made before a kill still complete
   * (as a request already sent would on AWS); wait for them before stopping the emulators they talk to.
   */
  settled(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }

  /** Adds the guard to a client: calls from a killed invocation are refused before they are sent. */
  guard(client: GuardedClient): void {
    const middleware = (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
      if (this.isKilled()) throw new InvocationKilledError();
      if (!this.storage.getStore()) return next(args);
      this.inFlight++;
      try {
        return await next(args);
      } finally {
        if (--this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
      }
    };
    // One middleware fits every client; the SDK's per-client generic types do not unify.
    (client.middlewareStack as { add(m: unknown, o: unknown): void }).add(middleware, {
      step: 'initialize',
      name: 'soeKilledInvocationGuard',
    });
  }
}
