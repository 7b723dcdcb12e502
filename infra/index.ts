/**
 * The package's entry: the construct platform teams put in their own CDK apps
 * (`import { RunPodGateway } from 'runpod-jobs-gateway'`), its props and the types they name.
 */
export type { RoutingConfig, SurfaceConfig } from '../functions/routing/routing-config.ts';
export type {
  ExecutionLogLevel,
  GatewayLogLevel,
  GatewayThrottling,
  JobSweepProps,
  RunPodGatewayProps,
} from './constructs/gateway-props.ts';
export { RUNPOD_API_KEY_PLACEHOLDER, RunPodGateway } from './constructs/runpod-gateway.ts';
export { GatewayStack, type GatewayStackProps } from './gateway-stack.ts';
