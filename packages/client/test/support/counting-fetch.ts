/** The real global fetch, counting the requests that go through it. */
export interface CountingFetch {
  readonly fetch: typeof fetch;
  readonly count: () => number;
}

export function countingFetch(): CountingFetch {
  let calls = 0;
  return {
    fetch: (input, init) => {
      calls++;
      return fetch(input, init);
    },
    count: () => calls,
  };
}
