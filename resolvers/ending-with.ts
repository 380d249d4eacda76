/**
 * A subscription's events, ending as soon as the client ends it. An async generator waiting for
 * its next change queues return() behind that wait, which may last forever on a quiet instance or
 * host: the subscription, its listener and its share of the user's subscriptions would outlive the
 * client's "complete" or its closed socket. Ending the change stream first lets the generator leave
 * its wait, and its loop, at once.
 */
export function endingWith<T>(changes: AsyncIterator<unknown>, events: AsyncGenerator<T>): AsyncIterableIterator<T> {
  const out: AsyncIterableIterator<T> = {
    [Symbol.asyncIterator]: () => out,
    next: () => events.next(),
    return: async () => {
      await changes.return?.();
      return events.return(undefined);
    },
    throw: (e: unknown) => events.throw(e),
  };
  return out;
}
