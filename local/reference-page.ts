/**
 * The API reference as one self-contained HTML page, rendered from the OpenAPI document
 * (docs/openapi.json): every operation with its parameters, body, responses and error codes. No
 * script, font or style from elsewhere: `npm start` serves it at `/docs` on machines offline.
 */
type Json = Record<string, unknown>;

interface OpenApiDocument {
  readonly info: {
    readonly title: string;
    readonly version: string;
    readonly description?: string;
  };
  readonly tags?: readonly { readonly name: string; readonly description?: string }[];
  readonly paths: Readonly<Record<string, Readonly<Record<string, Json>>>>;
  readonly components: {
    readonly parameters?: Readonly<Record<string, Json>>;
    readonly responses?: Readonly<Record<string, Json>>;
    readonly schemas?: Readonly<Record<string, Json>>;
  };
}

function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/** A `$ref`'s target within the document, or the object itself. */
function resolved(document: OpenApiDocument, value: Json): Json {
  const ref = value.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/components/')) return value;
  const [, , section, name] = ref.split('/');
  const components = document.components as Record<string, Record<string, Json> | undefined>;
  return { ...(components[section ?? '']?.[name ?? ''] ?? {}), ...value, $ref: undefined };
}

function schemaText(schema: unknown): string {
  return escapeHtml(JSON.stringify(schema, (key, value) => (key === '$ref' ? value : value), 2));
}

function parameterRows(document: OpenApiDocument, parameters: readonly Json[]): string {
  if (parameters.length === 0) return '<p class="none">No parameters.</p>';
  const rows = parameters.map((raw) => {
    const parameter = resolved(document, raw);
    const schema = (parameter.schema ?? {}) as Json;
    const type = typeof schema.type === 'string' ? schema.type : 'string';
    return `<tr><td><code>${escapeHtml(String(parameter.name))}</code></td><td>${escapeHtml(String(parameter.in))}</td><td>${parameter.required ? 'yes' : 'no'}</td><td>${escapeHtml(type)}</td><td>${escapeHtml(String(parameter.description ?? schema.description ?? ''))}</td></tr>`;
  });
  return `<table><thead><tr><th>name</th><th>in</th><th>required</th><th>type</th><th>meaning</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function responseRows(
  document: OpenApiDocument,
  responses: Readonly<Record<string, Json>>,
): string {
  const rows = Object.entries(responses).map(([status, raw]) => {
    const response = resolved(document, raw);
    const content = Object.keys((response.content ?? {}) as Json).join(', ');
    return `<tr class="status-${status[0]}xx"><td>${escapeHtml(status)}</td><td>${escapeHtml(content)}</td><td>${escapeHtml(String(response.description ?? ''))}</td></tr>`;
  });
  return `<table><thead><tr><th>status</th><th>media types</th><th>description</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** The page: a table of contents, then one section per operation. */
export function renderReference(document: OpenApiDocument): string {
  const operations: { tag: string; method: string; path: string; operation: Json }[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const tags = operation.tags as string[] | undefined;
      operations.push({ tag: tags?.[0] ?? 'other', method, path, operation });
    }
  }
  const idOf = (operation: Json) => `op-${String(operation.operationId)}`;
  const toc = operations
    .map(
      ({ method, path, operation }) =>
        `<li><a href="#${idOf(operation)}"><span class="method ${method}">${method.toUpperCase()}</span> ${escapeHtml(path)}</a></li>`,
    )
    .join('');
  const sections = operations
    .map(({ tag, method, path, operation }) => {
      const body = (operation.requestBody as Json | undefined)?.content as
        | Record<string, { schema?: unknown }>
        | undefined;
      return `<section class="operation" id="${idOf(operation)}">
<h2><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h2>
<p class="meta">operation <code>${escapeHtml(String(operation.operationId))}</code> · ${escapeHtml(tag)}${Array.isArray(operation.security) && operation.security.length === 0 ? ' · no key needed' : ' · <code>Authorization: Bearer &lt;key&gt;</code>'}</p>
<h3>Parameters</h3>
${parameterRows(document, (operation.parameters ?? []) as Json[])}
${body === undefined ? '' : `<h3>Body (application/json)</h3><pre>${schemaText(body['application/json']?.schema)}</pre>`}
<h3>Responses</h3>
${responseRows(document, (operation.responses ?? {}) as Record<string, Json>)}
</section>`;
    })
    .join('\n');
  const schemas = Object.entries(document.components.schemas ?? {})
    .map(
      ([name, schema]) =>
        `<section class="schema" id="schema-${escapeHtml(name)}"><h3>${escapeHtml(name)}</h3><pre>${schemaText(schema)}</pre></section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(document.info.title)} ${escapeHtml(document.info.version)} — API reference</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 0; display: grid; grid-template-columns: 22rem 1fr; }
nav { position: sticky; top: 0; height: 100vh; overflow: auto; background: #f5f5f7; padding: 1rem; box-sizing: border-box; }
nav ul { list-style: none; padding: 0; margin: 0; } nav li { margin: .2rem 0; } nav a { color: inherit; text-decoration: none; font-size: 13px; }
main { padding: 1rem 2rem; max-width: 70rem; }
.method { display: inline-block; min-width: 3.5rem; font: 600 12px monospace; color: #fff; border-radius: 3px; padding: 1px 4px; text-align: center; }
.method.get { background: #2b7a4b; } .method.post { background: #2b5c9a; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; } th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; font-size: 13px; }
pre { background: #f5f5f7; padding: .75rem; overflow: auto; font-size: 12px; }
.operation { border-top: 1px solid #ccc; padding-top: .5rem; } .meta { color: #555; } .none { color: #777; }
.status-4xx td:first-child, .status-5xx td:first-child { color: #a12; }
</style>
</head>
<body>
<nav><strong>${escapeHtml(document.info.title)}</strong> <small>${escapeHtml(document.info.version)}</small><ul>${toc}</ul><p><a href="#schemas">Schemas</a> · <a href="/v1/openapi.json">openapi.json</a></p></nav>
<main>
<h1>${escapeHtml(document.info.title)} <small>${escapeHtml(document.info.version)}</small></h1>
<p>${escapeHtml(document.info.description ?? '')}</p>
${sections}
<h2 id="schemas">Schemas</h2>
${schemas}
</main>
</body>
</html>
`;
}
