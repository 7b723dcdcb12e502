import { GatewayError } from '../http/gateway-error.ts';
import { endpointId as endpointIdSchema } from './identifiers.ts';
import type { RoutingConfig, SurfaceConfig } from './routing-config.ts';

export interface EndpointChoice {
  /** The surface's config; known to exist. */
  readonly surface: SurfaceConfig;
  /** Explicit `?endpointId=` override, unvalidated. */
  readonly override?: string | undefined;
  /** `?model=` or `input.model`. */
  readonly model?: string | undefined;
}

/** Looks a surface up, or answers 404 `unknown_surface`. */
export function surfaceOf(config: RoutingConfig, surface: string): SurfaceConfig {
  const found = Object.hasOwn(config.surfaces, surface) ? config.surfaces[surface] : undefined;
  if (!found) {
    throw new GatewayError('unknown_surface', `Surface ${surface} is not configured`);
  }
  return found;
}

/** Every endpoint a surface routes to; the only values an override may name. */
export function configuredEndpointsOf(surface: SurfaceConfig): Set<string> {
  const endpoints = new Set<string>(surface.allowedEndpointIds ?? []);
  if (surface.endpointId) endpoints.add(surface.endpointId);
  for (const endpoint of Object.values(surface.models ?? {})) endpoints.add(endpoint);
  return endpoints;
}

/** Each surface's endpoint set, built on its first override rather than on every one. */
const overrideTargets = new WeakMap<SurfaceConfig, ReadonlySet<string>>();

function overrideTargetsOf(surface: SurfaceConfig): ReadonlySet<string> {
  let endpoints = overrideTargets.get(surface);
  if (!endpoints) {
    endpoints = configuredEndpointsOf(surface);
    overrideTargets.set(surface, endpoints);
  }
  return endpoints;
}

/**
 * Picks the RunPod endpoint for a request: the `endpointId` override if the surface allows
 * it, else the model's endpoint, else the surface's default. A model the surface does not
 * map falls through to the default, because many workers take `input.model` themselves.
 */
export function resolveEndpoint(surfaceName: string, choice: EndpointChoice): string {
  const { surface, override, model } = choice;
  if (override !== undefined) {
    const allowed =
      endpointIdSchema.safeParse(override).success && overrideTargetsOf(surface).has(override);
    if (!allowed) {
      throw new GatewayError(
        'endpoint_not_allowed',
        `Endpoint override is not one of the endpoints configured for surface ${surfaceName}`,
      );
    }
    return override;
  }
  const models = surface.models ?? {};
  if (model !== undefined && Object.hasOwn(models, model)) {
    const modelEndpoint = models[model];
    if (modelEndpoint) return modelEndpoint;
  }
  if (surface.endpointId) return surface.endpointId;
  throw new GatewayError(
    'missing_endpoint_id',
    model === undefined
      ? `No RunPod endpoint configured for surface ${surfaceName}`
      : `No RunPod endpoint configured for surface ${surfaceName} and model ${model}`,
  );
}
