import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../functions/http/gateway-error.ts';
import {
  configuredEndpointsOf,
  resolveEndpoint,
  surfaceOf,
} from '../../../functions/routing/resolve-endpoint.ts';
import type { RoutingConfig, SurfaceConfig } from '../../../functions/routing/routing-config.ts';
import { caught } from '../../helpers/unit/caught.ts';

const chat: SurfaceConfig = {
  endpointId: 'chatendpoint01',
  models: { 'llama-3-8b': 'llama3endpoint01', 'mistral-7b': 'mistralendpoint1' },
  allowedEndpointIds: ['chatcanary01'],
};

const config: RoutingConfig = {
  surfaces: {
    chat,
    images: { endpointId: 'imagesendpoint1' },
    modelsonly: { models: { 'llama-3-8b': 'llama3endpoint01' } },
  },
};

describe('resolveEndpoint', () => {
  it('returns the override when it is the surface default endpoint', () => {
    // Act
    const endpoint = resolveEndpoint('chat', { surface: chat, override: 'chatendpoint01' });

    // Assess
    expect(endpoint).toBe('chatendpoint01');
  });

  it('returns the override when it is one of the surface model endpoints', () => {
    expect(resolveEndpoint('chat', { surface: chat, override: 'mistralendpoint1' })).toBe(
      'mistralendpoint1',
    );
  });

  it('returns the override when it is listed in allowedEndpointIds', () => {
    expect(resolveEndpoint('chat', { surface: chat, override: 'chatcanary01' })).toBe(
      'chatcanary01',
    );
  });

  it('prefers the override over the model and the default', () => {
    // Act
    const endpoint = resolveEndpoint('chat', {
      surface: chat,
      override: 'chatcanary01',
      model: 'llama-3-8b',
    });

    // Assess
    expect(endpoint).toBe('chatcanary01');
  });

  it('returns 403 endpoint_not_allowed when the override is not configured for the surface', () => {
    // Act
    const error = caught(
      () => resolveEndpoint('chat', { surface: chat, override: 'imagesendpoint1' }),
      GatewayError,
    );

    // Assess
    expect(error.code).toBe('endpoint_not_allowed');
    expect(error.status).toBe(403);
    expect(error.detail).toBe(
      'Endpoint override is not one of the endpoints configured for surface chat',
    );
  });

  it.each([
    ['a path traversal', '../x'],
    ['an encoded slash', 'abc%2F'],
    ['a query separator', 'a?b'],
    ['uppercase letters', 'CHATENDPOINT01'],
    ['65 characters', 'a'.repeat(65)],
    ['an empty string', ''],
  ])(
    'returns 403 endpoint_not_allowed for an override with %s even when the surface lists it',
    (_case, override) => {
      // Prepare: a (hand-built, unvalidated) surface that lists the bad id itself
      const surface: SurfaceConfig = {
        endpointId: 'chatendpoint01',
        allowedEndpointIds: [override],
      };

      // Act
      const error = caught(() => resolveEndpoint('chat', { surface, override }), GatewayError);

      // Assess
      expect(error.code).toBe('endpoint_not_allowed');
      expect(error.status).toBe(403);
    },
  );

  it('accepts a 64-character override that the surface lists', () => {
    // Prepare
    const longest = 'a'.repeat(64);
    const surface: SurfaceConfig = { allowedEndpointIds: [longest] };

    // Act + Assess
    expect(resolveEndpoint('chat', { surface, override: longest })).toBe(longest);
  });

  it('returns the endpoint the model maps to when there is no override', () => {
    expect(resolveEndpoint('chat', { surface: chat, model: 'llama-3-8b' })).toBe(
      'llama3endpoint01',
    );
  });

  it('falls back to the surface default for a model the surface does not map', () => {
    expect(resolveEndpoint('chat', { surface: chat, model: 'gpt-unknown' })).toBe('chatendpoint01');
  });

  it('falls back to the surface default for a model named like an Object.prototype property', () => {
    expect(resolveEndpoint('chat', { surface: chat, model: 'constructor' })).toBe('chatendpoint01');
    expect(resolveEndpoint('chat', { surface: chat, model: '__proto__' })).toBe('chatendpoint01');
  });

  it('returns the surface default when neither override nor model is given', () => {
    expect(resolveEndpoint('images', { surface: { endpointId: 'imagesendpoint1' } })).toBe(
      'imagesendpoint1',
    );
  });

  it('returns 400 missing_endpoint_id when a models-only surface gets no model', () => {
    // Act
    const error = caught(
      () => resolveEndpoint('chat', { surface: { models: { 'llama-3-8b': 'llama3endpoint01' } } }),
      GatewayError,
    );

    // Assess
    expect(error.code).toBe('missing_endpoint_id');
    expect(error.status).toBe(400);
    expect(error.detail).toBe('No RunPod endpoint configured for surface chat');
  });

  it('returns 400 missing_endpoint_id naming the model when a models-only surface does not map it', () => {
    // Act
    const error = caught(
      () =>
        resolveEndpoint('modelsonly', {
          surface: { models: { 'llama-3-8b': 'llama3endpoint01' } },
          model: 'mistral-7b',
        }),
      GatewayError,
    );

    // Assess
    expect(error.code).toBe('missing_endpoint_id');
    expect(error.detail).toBe(
      'No RunPod endpoint configured for surface modelsonly and model mistral-7b',
    );
  });
});

describe('configuredEndpointsOf', () => {
  it('lists the default, every model endpoint and every allowed endpoint', () => {
    expect([...configuredEndpointsOf(chat)].sort()).toEqual([
      'chatcanary01',
      'chatendpoint01',
      'llama3endpoint01',
      'mistralendpoint1',
    ]);
  });
});

describe('surfaceOf', () => {
  it('returns the configured surface', () => {
    expect(surfaceOf(config, 'chat')).toBe(chat);
  });

  it.each(['nope', '__proto__', 'constructor', 'hasOwnProperty', 'toString', ''])(
    'returns 404 unknown_surface for the unconfigured surface "%s"',
    (surface) => {
      // Act
      const error = caught(() => surfaceOf(config, surface), GatewayError);

      // Assess
      expect(error.code).toBe('unknown_surface');
      expect(error.status).toBe(404);
      expect(error.detail).toBe(`Surface ${surface} is not configured`);
    },
  );
});
