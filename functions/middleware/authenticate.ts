import { grantsOperation, grantsSurface } from '../auth/key-store.ts';
import { GatewayError } from '../http/gateway-error.ts';
import { headerOf } from '../http/headers.ts';
import { effectiveLimits } from '../limits/key-limits-schema.ts';
import { routeFor } from '../routes.ts';
import type { GatewayRuntime } from '../runtime/gateway-runtime.ts';
import type { GatewayMiddleware } from './request-state.ts';

const BEARER = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]{1,512})[ \t]*$/i;

function unauthorized(detail: string, tokenSent: boolean): GatewayError {
  return new GatewayError('unauthorized', detail, {
    headers: {
      'WWW-Authenticate': tokenSent
        ? 'Bearer realm="runpod-gateway", error="invalid_token"'
        : 'Bearer realm="runpod-gateway"',
    },
  });
}

/**
 * Bearer-key authentication against the key store, then the key's grants for this surface
 * (none for gateway-wide routes) and operation. Runs before validation so anonymous callers
 * learn nothing about schemas or which surfaces exist.
 */
export function authenticate(runtime: GatewayRuntime): GatewayMiddleware {
  const perSurface = routeFor(runtime.operation).gatewayWide !== true;
  return {
    before: async (request) => {
      const { event, context } = request;
      const header = headerOf(event, 'authorization');
      if (header === undefined) {
        throw unauthorized('Send an API key as "Authorization: Bearer <token>"', false);
      }
      const token = BEARER.exec(header)?.[1];
      if (token === undefined) {
        // RFC 6750 §3.1: no error code when the client used another scheme altogether.
        const usedBearer = /^Bearer(\s|$)/i.test(header);
        throw unauthorized('The Authorization header must be "Bearer <token>"', usedBearer);
      }
      const keyStore = await runtime.keyStores.get(runtime.settings.keyStoreRef);
      const found = keyStore.find(token, new Date());
      if (!found) throw unauthorized('The API key is unknown, expired or disabled', true);
      const limits = effectiveLimits(found.limits, runtime.routing.keyDefaults?.limits);
      const key = limits === undefined ? found : { ...found, limits };

      const state = context.gateway;
      state.key = key;
      const surface = event.pathParameters?.surface ?? '';
      if (perSurface && !grantsSurface(key, surface)) {
        throw new GatewayError(
          'forbidden',
          `API key ${key.id} is not allowed to use surface ${surface}`,
        );
      }
      if (!grantsOperation(key, runtime.operation)) {
        throw new GatewayError(
          'forbidden',
          runtime.operation === 'purge-queue' && key.operations === undefined
            ? `API key ${key.id} is not allowed to call purge-queue: it removes every consumer's queued jobs, so a key's operations list must name it`
            : `API key ${key.id} is not allowed to call ${runtime.operation}`,
        );
      }
    },
  };
}
