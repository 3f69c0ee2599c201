import { describe, expect, it } from '@jest/globals';
import { metricSelectors } from './support/promql-selectors.js';

describe('metricSelectors', () => {
  it('finds the metrics behind aggregations, functions, groupings, ranges, numbers and Grafana variables', () => {
    expect(
      metricSelectors(
        'sum by (job, le) (rate(http_request_duration_seconds_bucket{job="oauth-clients",route="/api/{x}"}[$__rate_interval]))' +
          ' / on (job) group_left () sum without (instance) (oauth_tokens_issued_total offset 5m) > 3 * 86400' +
          ' and time() - up{job=~"a|b"} unless absent(x_total[1h:5m])',
      ),
    ).toEqual([
      { name: 'http_request_duration_seconds_bucket', jobs: ['oauth-clients'] },
      { name: 'oauth_tokens_issued_total', jobs: undefined },
      { name: 'up', jobs: ['a', 'b'] },
      { name: 'x_total', jobs: undefined },
    ]);
  });

  it('ignores label names and values that look like metric names', () => {
    expect(metricSelectors('max by (oauth_store_clients) (x{le="up", job!="y"})')).toEqual([
      { name: 'x', jobs: undefined },
    ]);
  });
});
