import { describe, expect, it } from '@jest/globals';
import { formatFields, formatTable } from '../src/table.js';

describe('formatTable and formatFields', () => {
  it('pads columns to the widest cell, capitalises headers and shows empty cells as -', () => {
    expect(
      formatTable(
        ['client id', 'scope', 'secrets'],
        [
          ['orders', 'orders.read orders.write', '2'],
          ['b', '', '1'],
        ],
      ),
    ).toBe(
      'CLIENT ID  SCOPE                     SECRETS\n' +
        'orders     orders.read orders.write  2\n' +
        'b          -                         1\n',
    );
  });

  it('aligns key and value pairs', () => {
    expect(
      formatFields([
        ['client_id', 'orders'],
        ['scope', ''],
      ]),
    ).toBe('client_id  orders\nscope      -\n');
  });
});
