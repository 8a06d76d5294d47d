/**
 * A deadline on an await: every call to a dependency (DynamoDB, KMS, a background write) is given
 * one, so a hung dependency costs the caller a bounded wait, never its whole invocation. The work
 * itself is bounded by its client's own timeouts (see the hosts); this bounds what the relay waits.
 */
export class DeadlineExceeded extends Error {
  constructor(readonly what: string, readonly ms: number) {
    super(`${what} did not finish within ${ms} ms`);
    this.name = 'DeadlineExceeded';
  }
}

export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(what, ms)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
