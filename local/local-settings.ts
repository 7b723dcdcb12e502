/** Defaults of the local runtime; each is overridable by the environment variable named. */
export const DEFAULT_PORT = 3000; // PORT
export const DEFAULT_ROUTING_CONFIG = 'config/routing.json'; // GATEWAY_CONFIG
export const DEFAULT_KEYS_FILE = 'local/keys.json'; // GATEWAY_KEYS_FILE
