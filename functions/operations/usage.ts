import { grantsAllJobs } from '../auth/key-store.ts';
import { GatewayError } from '../http/gateway-error.ts';
import { usageReport, usageTotalsOf } from '../ledger/usage-report.ts';
import { createGatewayWideHandler } from '../middleware/gateway-wide-handler.ts';
import { required } from '../middleware/request-state.ts';
import { usageQuerySchema } from '../validation/request-schemas.ts';

const DAY_MS = 86_400_000;
/** The longest period one request may cover: a quarter, a day over. */
const MAX_DAYS = 93;

/**
 * GET /v1/usage → the caller's usage per surface and UTC day, from the job ledger (as `npm run
 * usage` reports it). `?keys=a,b` or `?keys=*` reads other keys' too, on the surfaces where the
 * caller's key may act on every consumer's jobs (`allJobs`, the operator grant); without it, only
 * its own. `?from=`/`?to=` are inclusive UTC days (default: the last 7, today included).
 */
export const handler = createGatewayWideHandler({
  operation: 'usage',
  query: usageQuerySchema,
  handle: async ({ key, query, runtime }) => {
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const from =
      query.from === undefined ? today - 6 * DAY_MS : Date.parse(`${query.from}T00:00:00Z`);
    const to = (query.to === undefined ? today : Date.parse(`${query.to}T00:00:00Z`)) + DAY_MS;
    if (to <= from) throw new GatewayError('invalid_request', 'query.to is before query.from');
    if (to - from > MAX_DAYS * DAY_MS) {
      throw new GatewayError(
        'invalid_request',
        `A usage request covers at most ${MAX_DAYS} days; ask for the period in parts`,
      );
    }
    let keyIds = [key.id];
    if (query.keys === '*') {
      keyIds = (await runtime.keyStores.get(runtime.settings.keyStoreRef)).ids();
    } else if (query.keys !== undefined) {
      keyIds = [...new Set(query.keys.split(','))];
    }
    const operator = (key.allJobs ?? []).length > 0;
    if (!operator && keyIds.some((id) => id !== key.id)) {
      throw new GatewayError(
        'forbidden',
        `API key ${key.id} may read its own usage only; other keys' usage needs a key that acts on every consumer's jobs of a surface (allJobs)`,
      );
    }
    const ledger = required(runtime.ledger, 'ledger');
    const rows = await usageReport({
      access: () => ledger.access(),
      tableName: ledger.tableName,
      keyIds,
      from,
      to,
    });
    const visible = rows.filter(
      (row) =>
        (row.keyId === key.id || grantsAllJobs(key, row.surface)) &&
        (query.surface === undefined || row.surface === query.surface),
    );
    return {
      statusCode: 200,
      headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
      body: JSON.stringify({
        from: new Date(from).toISOString().slice(0, 10),
        to: new Date(to - DAY_MS).toISOString().slice(0, 10),
        rows: visible,
        totals: usageTotalsOf(visible),
      }),
    };
  },
});
