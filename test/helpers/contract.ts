import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';

/**
 * The gateway's OpenAPI contract (docs/openapi.json) applied to responses the tests receive: a
 * response on a documented path must have a documented status for its method, a documented
 * media type, and a JSON body that validates against the documented schema. `rawRequest` and
 * every `fetch` of the test processes check through here (test/helpers/contract-setup.ts), so
 * every response the integration tests see is held to the contract.
 */
type Json = Record<string, unknown>;

const DOCUMENT = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'openapi.json'), 'utf8'),
) as {
  paths: Record<string, Record<string, Json>>;
  components: { responses: Record<string, Json> };
};

const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: false });
ajv.addSchema(DOCUMENT, 'openapi');

const ROUTES = Object.entries(DOCUMENT.paths).map(([template, item]) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+').replace(/\./g, '\\.')}/?$`),
  item,
}));

const validators = new Map<string, ReturnType<typeof ajv.compile>>();

function validatorOf(ref: string) {
  let validate = validators.get(ref);
  if (validate === undefined) {
    validate = ajv.compile({ $ref: `openapi${ref}` });
    validators.set(ref, validate);
  }
  return validate;
}

export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

/** Checks one response; throws a `ContractViolation` naming what the contract does not allow. */
export function checkResponse(response: {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly contentType: string | undefined;
  /** The parsed JSON body, when the response is JSON. */
  readonly json?: unknown;
}): void {
  let pathname: string;
  try {
    pathname = new URL(response.url).pathname;
  } catch {
    // An odd request target (absolute form, `*`): API Gateway's to answer, not an operation's.
    return;
  }
  if (!pathname.startsWith('/v1/')) return;
  const route = ROUTES.find((candidate) => candidate.pattern.test(pathname));
  const operation = route?.item[response.method.toLowerCase()] as
    | { responses: Record<string, Json> }
    | undefined;
  // Unknown routes and methods are API Gateway's (404, 405), not the operations'; an answer
  // without a content type is the HTTP server's own (Node's parser refusing a malformed request).
  if (route === undefined || operation === undefined || response.contentType === undefined) return;
  const where = `${response.method} ${route.template} → ${response.status}`;
  let documented = operation.responses[String(response.status)];
  if (documented === undefined) throw new ContractViolation(`${where}: status not documented`);
  const ref = documented.$ref;
  if (typeof ref === 'string') {
    documented = DOCUMENT.components.responses[ref.split('/').at(-1) ?? ''] ?? {};
  }
  const content = (documented.content ?? {}) as Record<string, { schema?: Json }>;
  const mediaType = response.contentType?.split(';')[0]?.trim() ?? '';
  const media = content[mediaType];
  if (media === undefined) {
    throw new ContractViolation(
      `${where}: media type ${mediaType || '(none)'} not documented (${Object.keys(content).join(', ')})`,
    );
  }
  if (response.json === undefined || !mediaType.includes('json')) return;
  const schemaRef = media.schema?.$ref;
  if (typeof schemaRef !== 'string') return;
  const validate = validatorOf(schemaRef);
  if (!validate(response.json)) {
    throw new ContractViolation(
      `${where}: body does not match ${schemaRef}: ${ajv.errorsText(validate.errors)}`,
    );
  }
}
