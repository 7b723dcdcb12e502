import { readFileSync } from 'node:fs';
import { parseRoutingConfig, type RoutingConfig } from '../functions/routing/routing-config.ts';

/** Reads and validates a routing config file; every error names the file. */
export function loadRoutingConfig(path: string): RoutingConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(
      `Cannot read the routing config ${path} (set it with -c routingConfig=<path>): ${(error as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`Routing config ${path} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    return parseRoutingConfig(json);
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}
