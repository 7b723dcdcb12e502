import { describe, expect, it } from 'vitest';
import { parseRoutingConfig } from '../../../functions/routing/routing-config.ts';
import { caught } from '../../helpers/unit/caught.ts';

/** The message parseRoutingConfig throws for `json`. */
function rejectionOf(json: unknown): string {
  return caught(() => parseRoutingConfig(json), Error).message;
}

describe('parseRoutingConfig', () => {
  it('returns a complete valid config unchanged', () => {
    // Prepare
    const json = {
      surfaces: {
        chat: {
          endpointId: 'chatendpoint01',
          models: { 'llama-3-8b': 'llama3endpoint01', 'Mistral 7B/instruct': 'mistralendpoint1' },
          allowedEndpointIds: ['chatcanary01', 'public-slug-endpoint'],
          apiKeySecret: 'runpod/chat-key',
        },
        images: {
          endpointId: 'imagesendpoint1',
          apiKeySecret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:runpod/images-AbCdEf',
        },
      },
    };

    // Act
    const config = parseRoutingConfig(json);

    // Assess
    expect(config).toEqual(json);
  });

  it('accepts a surface with every field left out', () => {
    expect(parseRoutingConfig({ surfaces: { bare: {} } })).toEqual({ surfaces: { bare: {} } });
  });

  it('accepts a config with no surfaces', () => {
    expect(parseRoutingConfig({ surfaces: {} })).toEqual({ surfaces: {} });
  });

  it.each([
    ['endpointId', { endpointId: 'chatendpoint01' }],
    ['models', { models: { m: 'modelendpoint1' } }],
    ['allowedEndpointIds', { allowedEndpointIds: ['canary1'] }],
    ['apiKeySecret', { apiKeySecret: 'runpod-key' }],
  ])('accepts a surface with only %s', (_field, surface) => {
    expect(parseRoutingConfig({ surfaces: { chat: surface } })).toEqual({
      surfaces: { chat: surface },
    });
  });

  it('rejects the config when "surfaces" is missing', () => {
    expect(rejectionOf({})).toBe('Invalid routing config: surfaces: is required');
  });

  it('rejects an unknown top-level field and names it', () => {
    expect(rejectionOf({ surfaces: {}, routes: {} })).toBe(
      'Invalid routing config: unknown field "routes"',
    );
  });

  it('rejects an unknown surface field and names the surface and the field', () => {
    expect(rejectionOf({ surfaces: { chat: { endpointID: 'chatendpoint01' } } })).toBe(
      'Invalid routing config: surfaces.chat: unknown field "endpointID"',
    );
  });

  it.each(['../x', 'abc%2F', 'a?b', 'ChatEndpoint', 'a'.repeat(65), '-leading', 'trailing-', ''])(
    'rejects the default endpoint id "%s" and names surfaces.chat.endpointId',
    (endpointId) => {
      expect(rejectionOf({ surfaces: { chat: { endpointId } } })).toBe(
        'Invalid routing config: surfaces.chat.endpointId: has an invalid format',
      );
    },
  );

  it('rejects a bad model endpoint id and names the model', () => {
    expect(rejectionOf({ surfaces: { chat: { models: { 'llama-3-8b': '../admin' } } } })).toBe(
      'Invalid routing config: surfaces.chat.models.llama-3-8b: has an invalid format',
    );
  });

  it('rejects a bad allowed endpoint id and names its index', () => {
    expect(rejectionOf({ surfaces: { chat: { allowedEndpointIds: ['canary1', 'a/b'] } } })).toBe(
      'Invalid routing config: surfaces.chat.allowedEndpointIds.1: has an invalid format',
    );
  });

  it.each(['Chat', 'bad name', '-chat', '_chat', 'a/b', 'x'.repeat(64)])(
    'rejects the surface name "%s" and names it in the path',
    (surface) => {
      // Act
      const message = rejectionOf({ surfaces: { [surface]: { endpointId: 'chatendpoint01' } } });

      // Assess
      expect(message).toMatch(/^Invalid routing config: /);
      expect(message).toContain(`surfaces.${surface}: `);
    },
  );

  it('accepts a 63-character surface name', () => {
    const surface = `a${'-'.repeat(62)}`;
    expect(Object.keys(parseRoutingConfig({ surfaces: { [surface]: {} } }).surfaces)).toEqual([
      surface,
    ]);
  });

  it.each([
    'env:RUNPOD_API_KEY',
    'file:/etc/passwd',
    'rpa_ABCDEF 123',
    'arn:aws:secretsmanager:eu-west-1:12345:secret:short-account',
  ])('rejects the secret reference "%s" and names surfaces.chat.apiKeySecret', (apiKeySecret) => {
    expect(rejectionOf({ surfaces: { chat: { apiKeySecret } } })).toBe(
      'Invalid routing config: surfaces.chat.apiKeySecret: has an invalid format',
    );
  });

  it('rejects an empty secret reference and names surfaces.chat.apiKeySecret', () => {
    expect(rejectionOf({ surfaces: { chat: { apiKeySecret: '' } } })).toMatch(
      /^Invalid routing config: surfaces\.chat\.apiKeySecret: must have at least 1 /,
    );
  });

  it('names every bad field of a config with several problems', () => {
    // Act
    const message = rejectionOf({
      surfaces: { chat: { endpointId: 'BAD', allowedEndpointIds: ['../x'] } },
    });

    // Assess
    expect(message).toContain('surfaces.chat.endpointId: has an invalid format');
    expect(message).toContain('surfaces.chat.allowedEndpointIds.0: has an invalid format');
  });

  it.each([
    [{ surfaces: { chat: { endpointId: 5 } } }, 'surfaces.chat.endpointId: must be a string'],
    [{ surfaces: [] }, 'surfaces: must be an object'],
    [null, 'must be an object'],
  ])('says a field of the wrong type must be of the right one (%j)', (json, message) => {
    expect(rejectionOf(json)).toContain(message);
  });
});
